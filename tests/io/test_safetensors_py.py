"""Model.export_safetensors: the file follows the safetensors layout and
holds exactly model.get_weights() under "<layer>/<weight>" names.

Debian 12 has no python3-safetensors, so the file is read here with json and
struct as the safetensors specification describes it; when the safetensors
package happens to be importable it is used as well.

Run by meson with SEQNET_LIBRARY and PYTHONPATH set; prints 'N passed, N failed'.
"""
import json
import os
import struct
import sys
import tempfile
import traceback

import numpy as np

import seqnet
from seqnet import layers

TESTS = []


def test(fn):
    TESTS.append(fn)
    return fn


def read_safetensors(data):
    """{name: array} and the metadata, checking the layout on the way."""
    (n,) = struct.unpack_from("<Q", data, 0)
    assert n % 8 == 0 and 8 + n <= len(data), n
    header = json.loads(data[8:8 + n].decode("utf-8"))
    assert data[8:8 + n].decode("utf-8").rstrip(" ").endswith("}")
    meta = header.pop("__metadata__", {})
    body = data[8 + n:]
    tensors, spans = {}, []
    for name, info in header.items():
        assert info["dtype"] == "F32", info
        begin, end = info["data_offsets"]
        count = int(np.prod(info["shape"])) if info["shape"] else 1
        assert end - begin == 4 * count, (name, info)
        tensors[name] = np.frombuffer(body[begin:end], dtype="<f4").reshape(info["shape"])
        spans.append((begin, end))
    spans.sort()
    at = 0
    for begin, end in spans:        # contiguous, no gaps, covers the body
        assert begin == at, spans
        at = end
    assert at == len(body)
    return tensors, meta, list(header)


def model_and_names():
    seqnet.set_seed(21)
    model = seqnet.Sequential([
        layers.Embedding(30, 4, name="embed"),
        layers.GlobalAveragePooling1D(),
        layers.Dense(6, activation="relu", name="hidden"),
        layers.Dense(1, use_bias=False, name="out"),
    ])
    model._build_now(np.zeros((1, 5), dtype=np.int32))
    rng = np.random.default_rng(3)
    model.set_weights([rng.normal(size=np.shape(w)).astype(np.float32)
                       for w in model.get_weights()])
    names = ["embed/embeddings", "hidden/kernel", "hidden/bias", "out/kernel"]
    return model, names


@test
def tensors_equal_get_weights_in_order():
    model, names = model_and_names()
    tensors, meta, order = read_safetensors(model.export_safetensors())
    assert order == names, order
    assert meta.get("format") == "seqnet", meta
    for name, w in zip(names, model.get_weights()):
        assert tensors[name].shape == np.shape(w), (name, tensors[name].shape)
        assert tensors[name].tobytes() == np.asarray(w, np.float32).tobytes(), name


@test
def writes_a_file_when_given_a_path():
    model, _ = model_and_names()
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "weights.safetensors")
        assert model.export_safetensors(path) is None
        with open(path, "rb") as f:
            assert f.read() == model.export_safetensors()


@test
def the_safetensors_package_reads_it_when_installed():
    try:
        from safetensors.numpy import load
    except ImportError:
        print("  (safetensors not installed: checked with json and struct only)")
        return
    model, names = model_and_names()
    loaded = load(model.export_safetensors())
    for name, w in zip(names, model.get_weights()):
        assert np.array_equal(loaded[name], w), name


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
