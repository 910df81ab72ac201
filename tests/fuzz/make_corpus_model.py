#!/usr/bin/python3
"""Write the seed corpus of fuzz_model_load: small valid model files that
between them use every section type and several layer kinds.

    SEQNET_LIBRARY=build/lib/libseqnet.so PYTHONPATH=examples/python \\
        tests/fuzz/make_corpus_model.py tests/fuzz/corpus_model

The committed model fixtures (tests/io/fixtures/*.snm) are copied as well.
Rerunning rewrites the same files (fixed seeds).
"""
import os
import shutil
import sys

import numpy as np

import seqnet
from seqnet import layers

HERE = os.path.dirname(os.path.abspath(__file__))


def models():
    seqnet.set_seed(1)
    # Trained with Adam: a TRAINER section with both moments.
    m = seqnet.Sequential([layers.Embedding(12, 3, mask_zero=True),
                           layers.GlobalAveragePooling1D(), layers.Dense(2, activation="relu"),
                           layers.Dense(1, activation="sigmoid")])
    m.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    x = np.array([[1, 2, 3, 0], [4, 5, 0, 0], [6, 7, 8, 9]], dtype=np.int32)
    m.fit(x, np.array([1, 0, 1], np.float32), epochs=1, batch_size=2, verbose=0)
    yield "adam_trained", m.to_bytes()

    # A tokenizer TEXT section and a METADATA section.
    tok = seqnet.Tokenizer(num_words=20)
    tok.fit_on_texts(["free money now", "meeting at noon"])
    m = seqnet.Sequential([layers.Embedding(20, 2), layers.GlobalMaxPooling1D(),
                           layers.Dense(1)])
    m._build_now(np.zeros((1, 3), np.int32))
    yield "text_meta", m.to_bytes(texts={"tokenizer": tok}, metadata={"schema": "ids"})

    # Two outputs, a frozen layer, a fixed time with Flatten.
    inp = seqnet.Input(shape=(4,), dtype="int32")
    e = layers.Embedding(9, 2, trainable=False)(inp)
    f = layers.Flatten()(e)
    a = layers.Dense(3, activation="tanh", use_bias=False)(f)
    b = layers.Activation("softmax")(layers.Dense(2)(f))
    yield "two_outputs", seqnet.Model(inp, [a, b]).to_bytes()

    # A sequence of floats, SGD with momentum.
    inp = seqnet.Input(shape=(3,))
    m = seqnet.Model(inp, layers.Dense(1)(layers.Dropout(0.1, seed=3)(
        layers.Dense(2, activation="elu")(inp))))
    m.compile(optimizer=seqnet.optimizers.SGD(learning_rate=0.1, momentum=0.9), loss="mse")
    m.fit(np.ones((4, 3), np.float32), np.zeros((4, 1), np.float32), epochs=1, verbose=0)
    yield "sgd_vector", m.to_bytes()

    # Later layer kinds when this build's binding has them.
    if hasattr(layers, "Conv1D") and hasattr(layers, "MaxPooling1D"):
        inp = seqnet.Input(shape=(8,), dtype="int32")
        x = layers.Conv1D(2, 3, padding="same")(layers.Embedding(10, 2)(inp))
        x = layers.GlobalMaxPooling1D()(layers.MaxPooling1D(2)(x))
        yield "conv", seqnet.Model(inp, layers.Dense(1)(x)).to_bytes()
    if hasattr(layers, "LSTM"):
        m = seqnet.Sequential([layers.Embedding(10, 2), layers.LSTM(2), layers.Dense(1)])
        m._build_now(np.zeros((1, 3), np.int32))
        yield "lstm", m.to_bytes()


def main(argv):
    out = argv[1] if len(argv) > 1 else os.path.join(HERE, "corpus_model")
    os.makedirs(out, exist_ok=True)
    fixtures = os.path.join(HERE, "..", "io", "fixtures")
    for name in sorted(os.listdir(fixtures)):
        if name.endswith(".snm"):
            shutil.copy(os.path.join(fixtures, name), os.path.join(out, "fixture_" + name))
    for name, data in models():
        with open(os.path.join(out, name + ".snm"), "wb") as f:
            f.write(data)
        print("%s.snm: %d bytes" % (name, len(data)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
