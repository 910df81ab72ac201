"""Tests of the Python binding's model API (Keras names) against the C library.

Run by meson with SEQNET_LIBRARY and PYTHONPATH set; prints 'N passed, N failed'.
Needs numpy (python3-numpy); values are checked against independent numpy
computations, never against numbers copied from a previous run.
"""
import math
import sys
import traceback

import numpy as np

import seqnet
from seqnet import layers

TESTS = []


def test(fn):
    TESTS.append(fn)
    return fn


@test
def course_model_summary_and_param_count():
    model = seqnet.Sequential([
        layers.Embedding(62297, 30),
        layers.GlobalAveragePooling1D(),
        layers.Dropout(0.5),
        layers.Dense(20, activation="relu"),
        layers.Dropout(0.5),
        layers.Dense(1, activation="sigmoid"),
    ])
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    model._build_now(np.zeros((2, 10), dtype=np.int32))
    assert model.count_params() == 1869551, model.count_params()
    text = model.summary_string()
    assert "Total params: 1,869,551" in text, text
    assert "embedding (Embedding)" in text


@test
def dense_weights_use_keras_layout_and_predict_matches_numpy():
    inp = seqnet.Input(shape=(4,))
    hid = layers.Dense(3, activation="tanh", name="hidden")(inp)
    out = layers.Dense(2, activation="softmax")(hid)
    model = seqnet.Model(inp, out)
    w = model.get_layer("hidden").get_weights()
    assert w[0].shape == (4, 3) and w[1].shape == (3,)
    rng = np.random.default_rng(0)
    new = [rng.normal(size=a.shape).astype(np.float32) for a in model.get_weights()]
    model.set_weights(new)
    x = rng.normal(size=(5, 4)).astype(np.float32)
    h = np.tanh(x @ new[0] + new[1])
    z = h @ new[2] + new[3]
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    got = model.predict(x)
    assert got.shape == (5, 2)
    assert np.allclose(got, p, atol=1e-5), (got, p)
    for a, b in zip(model.get_weights(), new):
        assert np.array_equal(a, b)


@test
def fit_learns_and_history_has_keras_keys():
    seqnet.set_seed(3)
    rng = np.random.default_rng(1)
    x = rng.uniform(-1, 1, size=(400, 2)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(np.float32)
    model = seqnet.Sequential([layers.Dense(8, activation="relu", input_shape=(2,)),
                               layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=seqnet.optimizers.Adam(learning_rate=0.05),
                  loss="binary_crossentropy", metrics=["accuracy"])
    hist = model.fit(x, y, batch_size=32, epochs=25, validation_split=0.2, verbose=0)
    assert set(hist.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}, hist.history
    assert len(hist.history["loss"]) == 25
    assert hist.history["loss"][-1] < hist.history["loss"][0]
    assert hist.history["val_accuracy"][-1] > 0.9, hist.history["val_accuracy"]
    loss, acc = model.evaluate(x, y)
    assert acc > 0.9 and loss < 0.4
    pred = model.predict(x)
    assert pred.shape == (400, 1)
    assert abs(float(np.mean((pred[:, 0] > 0.5) == (y > 0.5))) - acc) < 1e-6


@test
def plain_lists_work_without_numpy_types():
    model = seqnet.Sequential([layers.Dense(1, input_shape=(3,))])
    model.compile(optimizer="sgd", loss="mse")
    x = [[1.0, 2.0, 3.0], [0.5, -1.0, 2.0]]
    y = [[1.0], [0.0]]
    before = model.evaluate(x, y)
    for _ in range(20):
        model.train_on_batch(x, y)
    after = model.evaluate(x, y)
    assert after < before, (before, after)


@test
def sgd_step_is_exactly_keras_rule():
    model = seqnet.Sequential([layers.Dense(1, input_shape=(2,))])
    model.set_weights([np.array([[0.5], [-0.25]], np.float32), np.array([0.1], np.float32)])
    model.compile(optimizer=seqnet.optimizers.SGD(learning_rate=0.1), loss="mse")
    x = np.array([[1.0, 2.0], [3.0, -1.0]], np.float32)
    y = np.array([[1.0], [0.0]], np.float32)
    w, b = model.get_weights()
    pred = x @ w + b
    grad_pred = 2 * (pred - y) / len(x)   # mean squared error, mean over the batch
    gw = x.T @ grad_pred
    gb = grad_pred.sum(0)
    model.train_on_batch(x, y)
    w2, b2 = model.get_weights()
    assert np.allclose(w2, w - 0.1 * gw, atol=1e-6), (w2, w - 0.1 * gw)
    assert np.allclose(b2, b - 0.1 * gb, atol=1e-6)


@test
def fit_accepts_a_batch_generator():
    rng = np.random.default_rng(4)
    w_true = np.array([[1.5], [-2.0], [0.5]], np.float32)

    def batches():
        while True:
            x = rng.normal(size=(32, 3)).astype(np.float32)
            yield x, x @ w_true
    model = seqnet.Sequential([layers.Dense(1, input_shape=(3,))])
    model.compile(optimizer=seqnet.optimizers.SGD(learning_rate=0.1), loss="mse")
    hist = model.fit(batches(), steps_per_epoch=20, epochs=5, verbose=0)
    assert len(hist.history["loss"]) == 5
    assert hist.history["loss"][-1] < 1e-3, hist.history["loss"]
    assert np.allclose(model.get_weights()[0], w_true, atol=0.05)

    def failing():
        yield np.zeros((4, 3), np.float32), np.zeros((4, 1), np.float32)
        raise RuntimeError("disk gone")
    try:
        model.fit(failing(), steps_per_epoch=5, epochs=1, verbose=0)
    except RuntimeError as e:
        assert "disk gone" in str(e)
    else:
        raise AssertionError("generator error swallowed")


@test
def early_stopping_stops():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(64, 3)).astype(np.float32)
    y = rng.normal(size=(64, 1)).astype(np.float32)   # noise: val loss will not improve long
    model = seqnet.Sequential([layers.Dense(1, input_shape=(3,))])
    model.compile(optimizer=seqnet.optimizers.SGD(learning_rate=0.5), loss="mse")
    stopper = seqnet.callbacks.EarlyStopping(monitor="loss", patience=0, min_delta=10.0)
    hist = model.fit(x, y, epochs=50, verbose=0, callbacks=[stopper])
    assert len(hist.history["loss"]) == 2, hist.history


@test
def early_stopping_counts_patience_as_keras_does():
    # Keras stops after `patience` epochs in a row without improvement and,
    # with restore_best_weights, puts back the best epoch's weights.
    class FakeModel:
        stop_training = False
        weights = None

        def get_weights(self):
            return self.weights

        def set_weights(self, w):
            self.weights = w

    def run(curve, **kw):
        """Feed the curve to EarlyStopping; the epoch it stops at, the weights
        kept (which must be those of its best_epoch)."""
        m = FakeModel()
        cb = seqnet.callbacks.EarlyStopping(monitor="val_accuracy",
                                            restore_best_weights=True, **kw)
        cb.model = m
        for epoch, value in enumerate(curve):
            m.weights = "weights of epoch %d" % epoch
            cb.on_epoch_end(epoch, {"val_accuracy": value})
            if m.stop_training:
                assert m.weights == "weights of epoch %d" % cb.best_epoch, cb.best_epoch
                return epoch, m.weights
        return None, m.weights

    for patience, stop_at in ((0, 2), (1, 2), (2, 3), (3, 4)):
        stopped, weights = run([0.5, 0.6, 0.59, 0.58, 0.57, 0.56, 0.55], patience=patience)
        assert stopped == stop_at, (patience, stopped)
        assert weights == "weights of epoch 1", weights
    # start_from_epoch: a warm-up neither monitored nor counted. A plateau at
    # the start (epochs 0-3) would stop patience 3 at epoch 3; with a warm-up
    # of 3 epochs monitoring starts at epoch 3 and training goes on.
    plateau = [0.5, 0.5, 0.5, 0.5, 0.7, 0.8, 0.79, 0.78, 0.77, 0.76]
    for start, stop_at, best in ((0, 3, 0), (3, 8, 5), (6, 9, 6)):
        stopped, weights = run(plateau, patience=3, start_from_epoch=start)
        assert stopped == stop_at, (start, stopped)
        assert weights == "weights of epoch %d" % best, (start, weights)


@test
def errors_raise_seqnet_error_with_message():
    model = seqnet.Sequential([layers.Embedding(10, 4), layers.GlobalMaxPooling1D(),
                               layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    try:
        model.predict(np.array([[1, 2, 99]], dtype=np.int32))
    except seqnet.SeqnetError as e:
        assert e.code == -4 and "99" in str(e), str(e)
    else:
        raise AssertionError("out-of-range id accepted")
    try:
        seqnet.Sequential([layers.Embedding(10, 4, mask_zero=True, input_length=5),
                           layers.Flatten()]).count_params()
    except seqnet.SeqnetError as e:
        assert "flatten" in str(e), str(e)
    else:
        raise AssertionError("Flatten accepted a mask")


@test
def masked_average_ignores_padding():
    model = seqnet.Sequential([layers.Embedding(5, 2, mask_zero=True),
                               layers.GlobalAveragePooling1D()])
    model._build_now(np.zeros((1, 4), np.int32))
    table = np.arange(10, dtype=np.float32).reshape(5, 2)
    model.set_weights([table])
    out = model.predict(np.array([[1, 2, 0, 0], [3, 0, 0, 0]], np.int32))
    assert np.allclose(out[0], (table[1] + table[2]) / 2)
    assert np.allclose(out[1], table[3])


@test
def save_load_round_trip_and_resume_fit(tmpdir=None):
    import os
    import tempfile
    seqnet.set_seed(5)
    rng = np.random.default_rng(3)
    x = rng.integers(1, 40, size=(120, 9)).astype(np.int32)
    x[:, 6:] = 0
    y = (x[:, 0] > 20).astype(np.float32)
    model = seqnet.Sequential([layers.Embedding(40, 5, mask_zero=True),
                               layers.GlobalAveragePooling1D(),
                               layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=2, batch_size=16, verbose=0, shuffle=False)
    tok = seqnet.Tokenizer()
    tok.fit_on_texts(["the cat sat on the mat", "the dog"])
    path = os.path.join(tempfile.mkdtemp(), "m.snm")
    model.save(path, texts={"tok": tok}, metadata={"schema": "tokens;T=9"})
    loaded = seqnet.load_model(path)
    assert loaded.metadata == {"schema": "tokens;T=9"}, loaded.metadata
    assert np.array_equal(loaded.predict(x), model.predict(x))
    assert loaded.count_params() == model.count_params()
    assert loaded.texts["tok"].word_index == tok.word_index
    # Continue training both: the loaded one resumes exactly.
    h1 = model.fit(x, y, epochs=1, batch_size=16, verbose=0, shuffle=False)
    h2 = loaded.fit(x, y, epochs=1, batch_size=16, verbose=0, shuffle=False)
    assert h1.history["loss"] == h2.history["loss"], (h1.history, h2.history)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        assert np.array_equal(a, b)
    # Without the optimizer the loaded model needs compile() again.
    bare = seqnet.load_model_from_bytes(model.to_bytes(include_optimizer=False))
    try:
        bare.fit(x, y, epochs=1, verbose=0)
    except ValueError:
        pass
    else:
        raise AssertionError("fit without compile accepted")
    try:
        seqnet.load_model_from_bytes(b"SEQNMODL" + b"\0" * 100)
    except seqnet.SeqnetError as e:
        assert e.code in (-9, -11), e.code
    else:
        raise AssertionError("garbage loaded")


@test
def stream_feeds_match_predict_and_stateful_lstm_carries_state():
    seqnet.set_seed(11)
    model = seqnet.Sequential([layers.Embedding(30, 4, mask_zero=True),
                               layers.LSTM(6),
                               layers.Dense(1, activation="sigmoid")])
    msg = np.array([[3, 7, 1, 9, 12, 4, 4, 2]], np.int32)
    model._build_now(msg)
    stream = model.stream()
    for t in range(1, msg.shape[1] + 1):
        out = stream.feed(int(msg[0, t - 1]))
        whole = model.predict(msg[:, :t])
        assert np.array_equal(out, whole[0]), (t, out, whole)
    stream.reset()
    assert np.array_equal(stream.feed(msg[0, :3]), model.predict(msg[:, :3])[0])
    # Keras stateful: successive predict calls continue the sequence.
    st = seqnet.Sequential([layers.LSTM(5, stateful=True, input_shape=(4, 1)),
                            layers.Dense(1)])
    x = np.linspace(-1, 1, 8, dtype=np.float32).reshape(2, 4, 1)
    a = st.predict(x[:1])
    b = st.predict(x[:1])
    assert not np.array_equal(a, b)
    st.reset_states()
    assert np.array_equal(st.predict(x[:1]), a)


@test
def encoder_decoder_with_return_state_and_initial_state():
    enc_in = seqnet.Input(shape=(5, 2))
    dec_in = seqnet.Input(shape=(4, 2))
    enc_out, h, c = layers.LSTM(6, return_state=True, name="enc")(enc_in)
    dec = layers.LSTM(6, return_sequences=True, name="dec")(dec_in, initial_state=[h, c])
    out = layers.Dense(1)(dec)
    model = seqnet.Model([enc_in, dec_in], out)
    # decoder weights = encoder weights: then the pair is one LSTM over 9 steps
    model.get_layer("dec").set_weights(model.get_layer("enc").get_weights())
    rng = np.random.default_rng(5)
    x = rng.normal(size=(3, 9, 2)).astype(np.float32)
    got = model.predict([x[:, :5], x[:, 5:]])
    one_in = seqnet.Input(shape=(9, 2))
    one_out = layers.Dense(1)(layers.LSTM(6, return_sequences=True, name="l")(one_in))
    one = seqnet.Model(one_in, one_out)
    one.set_weights(model.get_layer("dec").get_weights() + model.layers[-1].get_weights())
    ref = one.predict(x)[:, 5:]
    assert got.shape == (3, 4, 1)
    assert np.allclose(got, ref, atol=1e-6), np.abs(got - ref).max()
    assert np.allclose(model.get_layer("enc").get_weights()[0], one.get_layer("l").get_weights()[0])
    # trains end to end (gradients reach the encoder through h and c)
    model.compile(optimizer="adam", loss="mse")
    before = model.get_layer("enc").get_weights()[0].copy()
    model.fit([x[:, :5], x[:, 5:]], rng.normal(size=(3, 4, 1)).astype(np.float32), epochs=2,
              verbose=0)
    assert not np.array_equal(before, model.get_layer("enc").get_weights()[0])


@test
def training_threads_agree_with_one_thread_and_learn():
    # SEQNET_TRAIN_THREADS through compile(threads=) and fit(threads=): the
    # same SGD steps on one and on three threads agree up to rounding, and a
    # threaded fit learns a rule numpy checks.
    rng = np.random.default_rng(3)
    x = rng.integers(1, 30, size=(48, 7)).astype(np.int32)
    y = (np.sum(x < 15, axis=1) > 3).astype(np.float32)

    def make(threads):
        m = seqnet.Sequential([layers.Embedding(30, 5), layers.GlobalAveragePooling1D(),
                               layers.Dense(6, activation="tanh"),
                               layers.Dense(1, activation="sigmoid")])
        m.compile(optimizer=seqnet.optimizers.SGD(learning_rate=0.5),
                  loss="binary_crossentropy", threads=threads)
        m._build_now(x[:2])
        return m

    one, three = make(None), make(3)
    three.set_weights(one.get_weights())
    for _ in range(3):
        l1 = one.train_on_batch(x, y)
        l3 = three.train_on_batch(x, y)
        assert abs(l1 - l3) <= 1e-5 * max(1.0, abs(l1)), (l1, l3)
    moved = 0.0
    for a, b in zip(one.get_weights(), three.get_weights()):
        assert np.allclose(a, b, rtol=1e-4, atol=1e-6), np.max(np.abs(a - b))
    start = make(None).get_weights()
    moved = max(float(np.max(np.abs(a - b))) for a, b in zip(one.get_weights(), start))
    assert moved > 1e-2, moved

    m = make(None)
    hist = m.fit(x, y, batch_size=16, epochs=40, verbose=0, threads=2)
    losses = hist.history["loss"]
    assert losses[-1] < 0.7 * losses[0], losses
    acc = float(np.mean((m.predict(x).reshape(-1) > 0.5) == (y > 0.5)))
    assert acc >= 0.8, acc
    try:
        m.fit(x, y, epochs=1, verbose=0, threads=0)
    except seqnet.SeqnetError as e:
        assert "threads" in str(e), e
    else:
        raise AssertionError("threads=0 was accepted")


@test
def pooled_embedding_shares_its_steps_bit_for_bit():
    # The course's pooled-embedding shape over long rows (the embedding and
    # the mean fused, the rest small): with threads the steps share their
    # work instead of splitting the batch, so a fit with dropout and
    # shuffling ends on one thread's weights exactly (a split would draw the
    # second slice's dropout from its own stream).
    rng = np.random.default_rng(11)
    x = rng.integers(1, 3000, size=(96, 600)).astype(np.int32)
    for i, n in enumerate(rng.integers(50, 600, size=96)):
        x[i, n:] = 0
    y = (np.sum((x > 0) & (x < 1500), axis=1) > np.sum(x >= 1500, axis=1)).astype(np.float32)

    start = None

    def run(threads):
        nonlocal start
        m = seqnet.Sequential([layers.Embedding(3000, 16, mask_zero=True),
                               layers.GlobalAveragePooling1D(), layers.Dropout(0.5),
                               layers.Dense(8, activation="relu"),
                               layers.Dense(1, activation="sigmoid")])
        m.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"],
                  threads=threads)
        m._build_now(x[:2])
        if start is None:
            start = m.get_weights()
        m.set_weights(start)
        h = m.fit(x, y, batch_size=32, epochs=3, verbose=0, shuffle=True, seed=4)
        return m.get_weights(), h.history["loss"]

    w1, l1 = run(None)
    w2, l2 = run(2)
    assert l1 == l2, (l1, l2)
    for a, b in zip(w1, w2):
        assert np.array_equal(a, b), np.max(np.abs(a - b))
    assert l1[-1] < l1[0], l1


def main():
    passed = failed = 0
    for fn in TESTS:
        try:
            fn()
            passed += 1
            print("ok", fn.__name__)
        except Exception:
            failed += 1
            print("FAIL", fn.__name__)
            traceback.print_exc()
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
