"""Tests of the binding's convolution room (examples/python/_seqnet_conv.py):
Keras's call style, parameter counts, weight layouts, and predictions
checked against independent numpy computations.

Run by meson with SEQNET_LIBRARY and PYTHONPATH set; prints 'N passed, N failed'
and exits non-zero on a failure. Needs numpy.
"""
import sys
import traceback

import numpy as np

import seqnet
import _seqnet_conv  # noqa: F401  (registers the layers; harmless once seqnet.py does)
from seqnet import layers

TESTS = []


def test(fn):
    TESTS.append(fn)
    return fn


def inception(maxlen=500, vocab=62297):
    inp = seqnet.Input(shape=(maxlen,), dtype="int32")
    emb = layers.Embedding(vocab, 30)(inp)
    branches = []
    for k in (3, 5, 7):
        c = layers.Conv1D(50, k, padding="same", activation="relu")(emb)
        branches.append(layers.GlobalAveragePooling1D()(c))
    x = layers.Concatenate()(branches)
    x = layers.Dropout(0.3)(x)
    x = layers.Dense(50, activation="relu")(x)
    x = layers.Dropout(0.3)(x)
    out = layers.Dense(1, activation="sigmoid")(x)
    return seqnet.Model(inp, out)


@test
def inception_model_counts_1899161_params():
    model = inception()
    assert model.count_params() == 1899161, model.count_params()
    kernels = [L for L in model.layers if isinstance(L, layers.Conv1D)]
    assert [L.get_weights()[0].shape for L in kernels] == [(3, 30, 50), (5, 30, 50),
                                                             (7, 30, 50)]
    assert all(L.get_weights()[1].shape == (50,) for L in kernels)
    assert all(np.all(L.get_weights()[1] == 0) for L in kernels)


@test
def causal_dilated_stack_counts_15681_params():
    inp = seqnet.Input(shape=(128, 1))
    x = inp
    for d in (1, 2, 4, 8):
        x = layers.Conv1D(32, 5, padding="causal", dilation_rate=d, activation="relu")(x)
    out = layers.Dense(1)(x)
    model = seqnet.Model(inp, out)
    assert model.count_params() == 15681, model.count_params()


def conv_reference(x, kernel, bias, strides, padding, dilation, act):
    """Conv1D from Keras's definition, in float64."""
    b, t, f = x.shape
    k, _, filters = kernel.shape
    span = dilation * (k - 1) + 1
    if padding == "valid":
        out, left = (t - span) // strides + 1, 0
    elif padding == "causal":
        out, left = (t - 1) // strides + 1, span - 1
    else:
        out = -(-t // strides)
        left = max((out - 1) * strides + span - t, 0) // 2
    y = np.zeros((b, out, filters))
    for i in range(out):
        for j in range(k):
            src = i * strides + j * dilation - left
            if 0 <= src < t:
                y[:, i, :] += x[:, src, :].astype(np.float64) @ kernel[j].astype(np.float64)
    y += bias
    return np.maximum(y, 0) if act == "relu" else y


@test
def conv1d_predict_matches_numpy_for_every_padding():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(3, 11, 4)).astype(np.float32)
    for padding, strides, dilation, act in (("valid", 1, 1, None), ("same", 1, 2, "relu"),
                                             ("same", 2, 1, None), ("causal", 1, 4, "relu"),
                                             ("causal", 2, 1, None), ("valid", 3, 1, None)):
        inp = seqnet.Input(shape=(11, 4))
        conv = layers.Conv1D(5, 3, strides=strides, padding=padding, dilation_rate=dilation,
                             activation=act)
        model = seqnet.Model(inp, conv(inp))
        kernel = rng.normal(size=(3, 4, 5)).astype(np.float32)
        bias = rng.normal(size=(5,)).astype(np.float32)
        conv.set_weights([kernel, bias])
        want = conv_reference(x, kernel, bias, strides, padding, dilation, act)
        got = model.predict(x)
        assert got.shape == want.shape, (padding, got.shape, want.shape)
        assert np.allclose(got, want, atol=1e-4), (padding, np.abs(got - want).max())


@test
def pooling_layers_and_aliases():
    x = np.arange(2 * 5 * 2, dtype=np.float32).reshape(2, 5, 2)
    inp = seqnet.Input(shape=(5, 2))
    mx = layers.MaxPool1D(2, padding="same")(inp)
    av = layers.AvgPool1D(pool_size=2, strides=1)(inp)
    model = seqnet.Model(inp, [mx, av])
    got_max, got_avg = model.predict(x)
    assert got_max.shape == (2, 3, 2)
    assert np.allclose(got_max, np.stack([x[:, 1], x[:, 3], x[:, 4]], axis=1))
    assert np.allclose(got_avg, (x[:, :-1] + x[:, 1:]) / 2)


@test
def merges_take_lists_and_match_numpy():
    rng = np.random.default_rng(2)
    a_in, b_in, c_in = (seqnet.Input(shape=(4, 3)) for _ in range(3))
    outs = [layers.Concatenate()([a_in, b_in, c_in]), layers.Add()([a_in, b_in, c_in]),
            layers.Subtract()([a_in, b_in]), layers.Multiply()([a_in, b_in, c_in]),
            layers.Average()([a_in, b_in]), layers.concatenate([a_in, b_in])]
    model = seqnet.Model([a_in, b_in, c_in], outs)
    a, b, c = (rng.normal(size=(2, 4, 3)).astype(np.float32) for _ in range(3))
    got = model.predict([a, b, c])
    want = [np.concatenate([a, b, c], -1), a + b + c, a - b, a * b * c, (a + b) / 2,
            np.concatenate([a, b], -1)]
    for g, w in zip(got, want):
        assert g.shape == w.shape and np.allclose(g, w, atol=1e-5), (g.shape, w.shape)


@test
def highway_weights_and_gate_bias():
    inp = seqnet.Input(shape=(6,))
    hw = layers.Highway(activation="relu")
    hw2 = layers.Highway(transform_bias=-1.0)
    model = seqnet.Model(inp, hw2(hw(inp)))
    w = hw.get_weights()
    assert [a.shape for a in w] == [(6, 6), (6,), (6, 6), (6,)]
    assert np.all(w[3] == -2.0) and np.all(w[1] == 0)
    assert np.all(hw2.get_weights()[3] == -1.0)
    assert model.count_params() == 2 * (2 * 36 + 12)
    rng = np.random.default_rng(3)
    x = rng.normal(size=(4, 6)).astype(np.float32)
    wk, bk, wt, bt = w
    h = np.maximum(x @ wk + bk, 0)
    t = 1 / (1 + np.exp(-(x @ wt + bt)))
    y1 = h * t + x * (1 - t)
    wk2, bk2, wt2, bt2 = hw2.get_weights()
    t2 = 1 / (1 + np.exp(-(y1 @ wt2 + bt2)))
    want = (y1 @ wk2 + bk2) * t2 + y1 * (1 - t2)
    assert np.allclose(model.predict(x), want, atol=1e-5)


@test
def normalization_weights_keras_order_and_inference():
    inp = seqnet.Input(shape=(5, 4))
    bn = layers.BatchNormalization()
    ln = layers.LayerNormalization(epsilon=1e-3)
    model = seqnet.Model(inp, ln(bn(inp)))
    assert model.count_params() == 4 * 4 + 2 * 4
    gamma, beta, mean, var = bn.get_weights()
    assert np.all(gamma == 1) and np.all(beta == 0) and np.all(mean == 0) and np.all(var == 1)
    rng = np.random.default_rng(4)
    new = [rng.normal(size=4).astype(np.float32) for _ in range(3)]
    new.append((rng.random(4) + 0.5).astype(np.float32))
    bn.set_weights(new)
    x = rng.normal(size=(2, 5, 4)).astype(np.float32)
    y = new[0] * (x - new[2]) / np.sqrt(new[3] + 1e-3) + new[1]
    mu = y.mean(-1, keepdims=True)
    z = (y - mu) / np.sqrt(((y - mu) ** 2).mean(-1, keepdims=True) + 1e-3)
    assert np.allclose(model.predict(x), z, atol=1e-4)


@test
def masked_embedding_into_conv1d_is_refused_with_the_layer_name():
    inp = seqnet.Input(shape=(None,), dtype="int32")
    emb = layers.Embedding(100, 8, mask_zero=True)(inp)
    out = layers.Conv1D(4, 3, name="masked_conv")(emb)
    try:
        seqnet.Model(inp, out)
    except seqnet.SeqnetError as e:
        assert "masked_conv" in str(e) and "mask" in str(e), str(e)
    else:
        raise AssertionError("a masked input into Conv1D was accepted")


def main():
    passed = failed = 0
    for fn in TESTS:
        try:
            fn()
            passed += 1
        except Exception:
            failed += 1
            print("FAIL", fn.__name__)
            traceback.print_exc()
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
