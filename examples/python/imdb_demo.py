#!/usr/bin/python3
"""imdb_demo.py -- the course's sentiment exercise through the seqnet binding.

IMDB movie reviews, the course's protocol: shuffle the 50,000 reviews with a
fixed seed, take 15,000, split them 5,000 train / 5,000 validation / 5,000
test, fit a Keras-style Tokenizer on those texts, turn them into sequences
of word ids and post-pad them to the longest review; then the pooled-
embedding model

    Embedding(vocab, 30) -> GlobalAveragePooling1D -> Dropout(0.5)
        -> Dense(20, relu) -> Dropout(0.5) -> Dense(1, sigmoid)

trained with Adam on binary cross-entropy, batch 64. The course trains 40
epochs for a published test accuracy of 0.875; the default here is fewer
so the demo finishes in a couple of minutes on 2 cores (--epochs 40 for
the course's run).

    ./scripts/fetch-imdb.sh        # data/imdb/reviews.json
    SEQNET_LIBRARY=build/lib/libseqnet.so PYTHONPATH=examples/python \\
        /usr/bin/python3 examples/python/imdb_demo.py [--epochs N]
"""
import argparse
import json
import os
import random
import sys
import time

import numpy as np

import seqnet

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_DATA = os.path.join(HERE, "..", "..", "data", "imdb", "reviews.json")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=DEFAULT_DATA,
                    help="reviews.json from scripts/fetch-imdb.sh (default: data/imdb/)")
    ap.add_argument("--epochs", type=int, default=20, help="training epochs (course: 40)")
    ap.add_argument("--samples", type=int, default=15000,
                    help="reviews used, split in three equal parts (course: 15000; "
                         "50000 for the full set)")
    ap.add_argument("--seed", type=int, default=42, help="shuffling and training seed")
    args = ap.parse_args()

    if not os.path.exists(args.data):
        sys.exit("imdb_demo.py: %s not found; run scripts/fetch-imdb.sh first" % args.data)
    with open(args.data, encoding="utf-8") as f:
        reviews = json.load(f)                  # [{"t": text, "s": 0|1}, ...], sorted by label

    # The course's split: shuffle with a fixed seed, take 15,000, 5,000 x 3.
    random.Random(args.seed).shuffle(reviews)
    n = min(args.samples, len(reviews)) // 3
    reviews = reviews[:3 * n]
    texts = [r["t"] for r in reviews]
    labels = np.array([r["s"] for r in reviews], dtype=np.float32)

    # Tokenizer fitted on the 15,000 texts (as in the course), post-padded
    # to the longest review.
    t0 = time.time()
    tokenizer = seqnet.Tokenizer()
    tokenizer.fit_on_texts(texts)
    sequences = tokenizer.texts_to_sequences(texts)
    x = np.asarray(seqnet.pad_sequences(sequences, padding="post"), dtype=np.int32)
    vocab = len(tokenizer.word_index) + 1
    print("%d reviews, vocabulary %d words, padded to %d tokens (%.1f s)"
          % (len(texts), vocab - 1, x.shape[1], time.time() - t0))

    x_train, y_train = x[:n], labels[:n]
    x_val, y_val = x[n:2 * n], labels[n:2 * n]
    x_test, y_test = x[2 * n:], labels[2 * n:]

    seqnet.set_seed(args.seed)
    model = seqnet.Sequential([
        seqnet.Input(shape=(x.shape[1],), dtype="int32"),
        seqnet.layers.Embedding(vocab, 30),
        seqnet.layers.GlobalAveragePooling1D(),
        seqnet.layers.Dropout(0.5),
        seqnet.layers.Dense(20, activation="relu"),
        seqnet.layers.Dropout(0.5),
        seqnet.layers.Dense(1, activation="sigmoid"),
    ])
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    model.summary()

    t0 = time.time()
    model.fit(x_train, y_train, batch_size=64, epochs=args.epochs,
              validation_data=(x_val, y_val), seed=args.seed,
              verbose=1 if sys.stdout.isatty() else 2)
    print("trained in %.1f s" % (time.time() - t0))

    loss, accuracy = model.evaluate(x_test, y_test, batch_size=64)
    print("test loss %.4f, test accuracy %.4f (course, 40 epochs: 0.875)" % (loss, accuracy))

    scores = np.asarray(model.predict(x_test[:3])).reshape(-1)
    for text, label, p in zip(texts[2 * n:2 * n + 3], y_test[:3], scores):
        snippet = " ".join(text.replace("<br />", " ").split())[:70]
        print("  %.3f %s (truth %s)  %s..." % (p, "positive" if p > 0.5 else "negative",
                                               "positive" if label else "negative", snippet))
    return 0


if __name__ == "__main__":
    sys.exit(main())
