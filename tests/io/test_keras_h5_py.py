"""examples/python/keras_h5_to_seqnet.py: Keras 2 HDF5 model files, written
here with h5py in Keras's layout (Keras is not installed), convert into
seqnet files whose predictions match a numpy forward pass computed from the
same weights.

Needs python3-h5py and python3-numpy. Run by meson with SEQNET_LIBRARY and
PYTHONPATH set; prints 'N passed, N failed'.
"""
import json
import os
import subprocess
import sys
import tempfile
import traceback

import h5py
import numpy as np

import seqnet

import keras_h5_to_seqnet as conv

TESTS = []


def test(fn):
    TESTS.append(fn)
    return fn


def dense_cfg(name, units, activation, use_bias=True):
    return {"name": name, "trainable": True, "dtype": "float32", "units": units,
            "activation": activation, "use_bias": use_bias,
            "kernel_initializer": {"class_name": "GlorotUniform", "config": {"seed": None}},
            "bias_initializer": {"class_name": "Zeros", "config": {}},
            "kernel_regularizer": None, "bias_regularizer": None,
            "activity_regularizer": None, "kernel_constraint": None, "bias_constraint": None}


def write_h5(path, model_config, weights):
    """Keras 2's HDF5 layout: model_config on the root; model_weights with
    layer_names, one group per layer with weight_names, datasets at
    <layer>/<weight path>."""
    with h5py.File(path, "w") as f:
        f.attrs["keras_version"] = b"2.11.0"
        f.attrs["backend"] = b"tensorflow"
        f.attrs["model_config"] = json.dumps(model_config).encode("utf-8")
        g = f.create_group("model_weights")
        g.attrs["layer_names"] = [name.encode() for name, _ in weights]
        g.attrs["backend"] = b"tensorflow"
        g.attrs["keras_version"] = b"2.11.0"
        for layer, tensors in weights:
            lg = g.create_group(layer)
            lg.attrs["weight_names"] = [("%s/%s:0" % (layer, w)).encode() for w, _ in tensors]
            for w, value in tensors:
                lg.create_dataset("%s/%s:0" % (layer, w), data=value)


def relu(x):
    return np.maximum(x, 0)


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def sequential_file(path, rng):
    vocab, dim = 20, 4
    emb = rng.normal(scale=0.5, size=(vocab, dim)).astype(np.float32)
    k1, b1 = rng.normal(size=(dim, 5)).astype(np.float32), rng.normal(size=5).astype(np.float32)
    k2, b2 = rng.normal(size=(5, 1)).astype(np.float32), rng.normal(size=1).astype(np.float32)
    config = {"class_name": "Sequential", "config": {"name": "sequential", "layers": [
        {"class_name": "InputLayer", "config": {"batch_input_shape": [None, None],
                                                "dtype": "float32", "sparse": False,
                                                "ragged": False, "name": "embedding_input"}},
        {"class_name": "Embedding", "config": {
            "name": "embedding", "trainable": True, "batch_input_shape": [None, None],
            "dtype": "float32", "input_dim": vocab, "output_dim": dim,
            "embeddings_initializer": {"class_name": "RandomUniform",
                                       "config": {"minval": -0.05, "maxval": 0.05}},
            "embeddings_regularizer": None, "activity_regularizer": None,
            "embeddings_constraint": None, "mask_zero": True, "input_length": None}},
        {"class_name": "GlobalAveragePooling1D", "config": {
            "name": "global_average_pooling1d", "trainable": True, "dtype": "float32",
            "data_format": "channels_last", "keepdims": False}},
        {"class_name": "Dense", "config": dense_cfg("dense", 5, "relu")},
        {"class_name": "Dense", "config": dense_cfg("dense_1", 1, "sigmoid")},
    ]}}
    write_h5(path, config, [("embedding", [("embeddings", emb)]),
                            ("global_average_pooling1d", []),
                            ("dense", [("kernel", k1), ("bias", b1)]),
                            ("dense_1", [("kernel", k2), ("bias", b2)])])

    def reference(ids):
        mask = (ids != 0).astype(np.float32)
        e = emb[ids] * mask[..., None]
        pooled = e.sum(1) / np.maximum(mask.sum(1, keepdims=True), 1)
        return sigmoid(relu(pooled @ k1 + b1) @ k2 + b2)
    return reference


@test
def sequential_embedding_pooling_dense_matches_numpy():
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        h5 = os.path.join(tmp, "seq.h5")
        reference = sequential_file(h5, rng)
        model = conv.convert(h5)
        assert [L.name for L in model.layers] == ["embedding", "global_average_pooling1d",
                                                  "dense", "dense_1"]
        ids = np.array([[3, 7, 1, 0, 0], [19, 2, 2, 5, 8], [4, 0, 0, 0, 0]], dtype=np.int32)
        got = model.predict(ids)
        assert np.allclose(got, reference(ids), atol=1e-5), (got, reference(ids))
        # The command line writes a seqnet file that loads and predicts the same.
        out = os.path.join(tmp, "seq.snm")
        script = os.path.join(os.environ["SEQNET_SOURCE_ROOT"], "examples", "python",
                              "keras_h5_to_seqnet.py")
        subprocess.run([sys.executable, script, h5, out], check=True, env=os.environ,
                       stdout=subprocess.DEVNULL)
        loaded = seqnet.load_model(out)
        assert np.allclose(loaded.predict(ids), reference(ids), atol=1e-5)


@test
def functional_two_dense_branches_match_numpy():
    rng = np.random.default_rng(1)
    ka, ba = rng.normal(size=(6, 4)).astype(np.float32), rng.normal(size=4).astype(np.float32)
    kb = rng.normal(size=(6, 3)).astype(np.float32)
    merge = hasattr(seqnet.layers, "Concatenate")
    layers = [
        {"class_name": "InputLayer", "name": "features", "inbound_nodes": [],
         "config": {"batch_input_shape": [None, 6], "dtype": "float32", "sparse": False,
                    "ragged": False, "name": "features"}},
        {"class_name": "Dense", "name": "left", "config": dense_cfg("left", 4, "relu"),
         "inbound_nodes": [[["features", 0, 0, {}]]]},
        {"class_name": "Dense", "name": "right",
         "config": dense_cfg("right", 3, "tanh", use_bias=False),
         "inbound_nodes": [[["features", 0, 0, {}]]]},
    ]
    weights = [("features", []), ("left", [("kernel", ka), ("bias", ba)]),
               ("right", [("kernel", kb)])]
    if merge:
        kc, bc = rng.normal(size=(7, 2)).astype(np.float32), rng.normal(size=2).astype(
            np.float32)
        layers.append({"class_name": "Concatenate", "name": "concatenate",
                       "config": {"name": "concatenate", "trainable": True,
                                  "dtype": "float32", "axis": -1},
                       "inbound_nodes": [[["left", 0, 0, {}], ["right", 0, 0, {}]]]})
        layers.append({"class_name": "Dense", "name": "out",
                       "config": dense_cfg("out", 2, "softmax"),
                       "inbound_nodes": [[["concatenate", 0, 0, {}]]]})
        weights += [("concatenate", []), ("out", [("kernel", kc), ("bias", bc)])]
        outputs = [["out", 0, 0]]
    else:
        outputs = [["left", 0, 0], ["right", 0, 0]]
    config = {"class_name": "Functional", "config": {
        "name": "model", "layers": layers, "input_layers": [["features", 0, 0]],
        "output_layers": outputs}}
    x = rng.normal(size=(5, 6)).astype(np.float32)
    left, right = relu(x @ ka + ba), np.tanh(x @ kb)
    with tempfile.TemporaryDirectory() as tmp:
        h5 = os.path.join(tmp, "fn.h5")
        write_h5(h5, config, weights)
        model = conv.convert(h5)
        out = os.path.join(tmp, "fn.snm")
        model.save(out)
        loaded = seqnet.load_model(out)
        got = loaded.predict(x)
        if merge:
            want = softmax(np.concatenate([left, right], 1) @ kc + bc)
            assert np.allclose(got, want, atol=1e-5), (got, want)
        else:
            assert np.allclose(got[0], left, atol=1e-5) and np.allclose(got[1], right,
                                                                        atol=1e-5)


@test
def unsupported_layers_and_weights_only_files_are_refused_clearly():
    with tempfile.TemporaryDirectory() as tmp:
        h5 = os.path.join(tmp, "conv2d.h5")
        config = {"class_name": "Sequential", "config": {"name": "s", "layers": [
            {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 8, 8, 1],
                                                    "dtype": "float32", "name": "img"}},
            {"class_name": "Conv2D", "config": {"name": "conv2d", "filters": 2,
                                                "kernel_size": [3, 3]}}]}}
        write_h5(h5, config, [("conv2d", [])])
        try:
            conv.convert(h5)
        except conv.ConversionError as exc:
            assert "conv2d" in str(exc) and "Conv2D" in str(exc), str(exc)
        else:
            raise AssertionError("a Conv2D model converted")
        weights_only = os.path.join(tmp, "weights.h5")
        with h5py.File(weights_only, "w") as f:
            f.attrs["layer_names"] = [b"dense"]
        try:
            conv.convert(weights_only)
        except conv.ConversionError as exc:
            assert "model_config" in str(exc)
        else:
            raise AssertionError("a weights-only file converted")
        # A wrong weight shape is refused before anything is set.
        rng = np.random.default_rng(2)
        bad = os.path.join(tmp, "bad.h5")
        sequential_file(bad, rng)
        with h5py.File(bad, "r+") as f:
            del f["model_weights/dense/dense/kernel:0"]
            f["model_weights/dense"].create_dataset("dense/kernel:0",
                                                    data=np.zeros((3, 5), np.float32))
        try:
            conv.convert(bad)
        except conv.ConversionError as exc:
            assert "dense" in str(exc) and "shape" in str(exc), str(exc)
        else:
            raise AssertionError("a wrong kernel shape converted")


def main():
    passed = failed = 0
    for fn in TESTS:
        try:
            fn()
            passed += 1
            print("ok", fn.__name__)
        except Exception:  # report every failure, keep going
            failed += 1
            print("FAIL", fn.__name__)
            traceback.print_exc()
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
