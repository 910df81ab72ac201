"""docs/FORMAT.md is complete: an independent reader (read_format.py, written
from the document alone, no seqnet import) recovers from files the C library
writes exactly the layers, options and weights the binding reports, refuses
damaged files with the status the C loader gives, and both skip unknown
section types.

Run by meson with SEQNET_LIBRARY and PYTHONPATH set; prints 'N passed, N failed'.
"""
import os
import struct
import sys
import traceback

import numpy as np

import seqnet
from seqnet import layers

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import read_format as rf  # noqa: E402

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")
TESTS = []

# Status codes (include/seqnet/core.h), by the names read_format reports.
CODES = {"ENONFINITE": -5, "EUNSUPPORTED": -6, "EFORMAT": -9, "ETRUNCATED": -10,
         "ECHECKSUM": -11, "EVERSION": -12, "EWRONGTYPE": -18}


def test(fn):
    TESTS.append(fn)
    return fn


def reader_layers(parsed):
    """(name, kind) of every non-input layer, in file order."""
    return [(L["name"], L["kind"]) for L in parsed["graph"]["layers"] if L["kind"] != 0]


def binding_layers(model):
    return [(L.name, L._kind) for L in model.layers]


def assert_same_weights(parsed, model):
    """The reader's tensors, in file order, equal model.get_weights() bit for bit,
    with the same shapes."""
    expect = [np.asarray(w, dtype=np.float32) for w in model.get_weights()]
    got = [np.asarray(v, dtype=np.float32).reshape(dims) for _, _, dims, v in parsed["weights"]]
    assert len(got) == len(expect), (len(got), len(expect))
    for g, e in zip(got, expect):
        assert g.shape == e.shape, (g.shape, e.shape)
        assert g.tobytes() == e.tobytes()


def randomize(model, seed):
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(size=np.shape(w)).astype(np.float32)
                       for w in model.get_weights()])


def pooled_model():
    seqnet.set_seed(3)
    model = seqnet.Sequential([
        layers.Embedding(50, 6, mask_zero=True),
        layers.GlobalAveragePooling1D(),
        layers.Dropout(0.25),
        layers.Dense(8, activation="relu", name="hidden"),
        layers.Dense(1, activation="sigmoid"),
    ])
    model._build_now(np.zeros((2, 5), dtype=np.int32))
    return model


@test
def crc32c_matches_the_published_check_value():
    assert rf.crc32c(b"123456789") == 0xE3069283
    assert rf.crc32c(b"") == 0


@test
def sequential_layers_options_and_weights_are_recovered():
    model = pooled_model()
    randomize(model, 1)
    parsed = rf.read_model(model.to_bytes())
    assert parsed["version"] == 1
    assert reader_layers(parsed) == binding_layers(model), reader_layers(parsed)
    by_name = {L["name"]: L for L in parsed["graph"]["layers"]}
    assert by_name["embedding"]["options"] == {"input_dim": 50, "output_dim": 6,
                                               "mask_zero": 1}
    assert by_name["hidden"]["options"]["activation"] == "relu"
    assert by_name["hidden"]["options"]["units"] == 8
    assert by_name["dropout"]["options"]["rate"] == 0.25
    inp = parsed["graph"]["layers"][parsed["graph"]["inputs"][0]]
    assert inp["kind"] == 0 and inp["is_tokens"] == 1 and inp["time"] == 0
    assert_same_weights(parsed, model)
    names = [(lay, w) for lay, w, _, _ in parsed["weights"]]
    assert names == [("embedding", "embeddings"), ("hidden", "kernel"), ("hidden", "bias"),
                     ("dense", "kernel"), ("dense", "bias")], names
    assert parsed["trainer"] is None and parsed["texts"] == []


@test
def functional_branches_and_vector_inputs_are_recovered():
    seqnet.set_seed(4)
    inp = seqnet.Input(shape=(5,), name="features")
    a = layers.Dense(4, activation="tanh", name="left")(inp)
    b = layers.Dense(3, use_bias=False, name="right")(inp)
    outs = [layers.Dense(1, name="out_a")(a), layers.Dense(2, activation="softmax",
                                                             name="out_b")(b)]
    model = seqnet.Model(inp, outs)
    randomize(model, 2)
    parsed = rf.read_model(model.to_bytes())
    assert reader_layers(parsed) == binding_layers(model)
    graph = parsed["graph"]
    assert len(graph["outputs"]) == 2
    by_name = {L["name"]: L for L in graph["layers"]}
    assert by_name["features"]["time"] == -1 and by_name["features"]["features"] == 5
    assert by_name["right"]["options"]["use_bias"] == 0
    assert [w[:3] for w in parsed["weights"] if w[0] == "right"] == [("right", "kernel", [5, 3])]
    assert graph["layers"][by_name["out_b"]["inputs"][0]]["name"] == "right"
    assert_same_weights(parsed, model)


@test
def trainer_section_holds_the_optimizer_moments():
    seqnet.set_seed(5)
    model = pooled_model()
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    rng = np.random.default_rng(0)
    x = rng.integers(1, 50, size=(16, 5)).astype(np.int32)
    y = (x.sum(1) % 2).astype(np.float32)
    model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    parsed = rf.read_model(model.to_bytes())
    t = parsed["trainer"]
    n = sum(np.size(w) for w in model.get_weights())
    assert t is not None and t["optimizer"] == 2 and t["loss"] == [1]
    assert t["iterations"] == 4 and t["batch_size"] == 8 and t["n_params"] == n
    assert t["slots"][0] is not None and len(t["slots"][0]) == n
    assert abs(t["hyper"][0] - 0.001) < 1e-12     # learning_rate (id 1)
    assert_same_weights(parsed, model)
    assert rf.read_model(model.to_bytes(include_optimizer=False))["trainer"] is None


@test
def text_and_metadata_sections_are_recovered():
    model = pooled_model()
    tok = seqnet.Tokenizer()
    tok.fit_on_texts(["the cat sat", "the dog"])
    data = model.to_bytes(texts={"words": tok}, metadata={"schema": "tokens[int32]"})
    parsed = rf.read_model(data)
    assert [(t["name"], t["kind"]) for t in parsed["texts"]] == [("words", "tokenizer")]
    assert parsed["metadata"] == {"schema": "tokens[int32]"}


@test
def layout_follows_the_document():
    data = pooled_model().to_bytes(include_optimizer=False)
    _, sections = rf.read_container(data)
    assert len(data) % 64 == 0 and struct.unpack_from("<Q", data, 16)[0] == len(data)
    assert [s[0] for s in sections] == [1, 2]           # graph, then weights
    assert sections[0][1] == 128                        # align64(64 + 2 * 32)
    assert sections[1][1] == (sections[0][1] + sections[0][2] + 63) // 64 * 64
    assert all(s[1] % 64 == 0 for s in sections)


@test
def committed_fixtures_are_read_identically():
    names = sorted(f for f in os.listdir(FIXTURES) if f.endswith(".snm"))
    assert len(names) >= 2, names
    for name in names:
        with open(os.path.join(FIXTURES, name), "rb") as f:
            data = f.read()
        parsed = rf.read_model(data)
        model = seqnet.load_model_from_bytes(data)
        assert reader_layers(parsed) == [(L.name, seqnet._lib.seqnet_model_layer_kind(
            model._handle, L._index)) for L in model.layers], name
        assert_same_weights(parsed, model)


def with_extra_section(data, typ, payload):
    """Append a section of type `typ` per the document: new table entry,
    payloads moved down by one entry (re-aligned), checksums redone."""
    version, sections = rf.read_container(data)
    n = len(sections) + 1
    pos = (64 + n * 32 + 63) // 64 * 64
    entries, body = [], b""
    for t, off, length in sections + [(typ, None, len(payload))]:
        chunk = payload if off is None else data[off:off + length]
        start = pos
        entries.append(struct.pack("<IIQQII", t, 0, start, length, rf.crc32c(chunk), 0))
        body += b"\0" * (start - (64 + n * 32) - len(body)) + chunk
        pos = (start + length + 63) // 64 * 64
    table = b"".join(entries)
    out = bytearray(64)
    out[0:8] = rf.MAGIC
    struct.pack_into("<IIQI", out, 8, version, n, pos, rf.crc32c(table))
    struct.pack_into("<I", out, 28, rf.crc32c(bytes(out[:28])))
    out += table + body
    out += b"\0" * (pos - len(out))
    return bytes(out)


@test
def unknown_section_types_are_skipped_by_both_readers():
    model = pooled_model()
    randomize(model, 7)
    data = with_extra_section(model.to_bytes(), 77, b"a future optional section")
    parsed = rf.read_model(data)
    assert parsed["unknown_sections"] == [77]
    loaded = seqnet.load_model_from_bytes(data)
    assert_same_weights(parsed, loaded)
    x = np.array([[1, 2, 3, 0, 0]], dtype=np.int32)
    assert np.array_equal(loaded.predict(x), model.predict(x))


def c_status(data):
    try:
        seqnet.load_model_from_bytes(data)
    except seqnet.SeqnetError as exc:
        return exc.code
    return 0


def reader_status(data):
    try:
        rf.read_model(data)
    except rf.FormatError as exc:
        return CODES[exc.code]
    return 0


@test
def damage_gives_the_same_documented_status_in_both_readers():
    data = pooled_model().to_bytes(include_optimizer=False)
    cases = []
    cases.append(("truncated", data[:len(data) - 64]))
    cases.append(("short", data[:40]))
    bad_magic = bytearray(data)
    bad_magic[0] ^= 1
    cases.append(("magic", bytes(bad_magic)))
    newer = bytearray(data)
    struct.pack_into("<I", newer, 8, 2)
    struct.pack_into("<I", newer, 28, rf.crc32c(bytes(newer[:28])))
    cases.append(("version", bytes(newer)))
    pad = bytearray(data)
    pad[40] = 1
    cases.append(("reserved", bytes(pad)))
    _, sections = rf.read_container(data)
    payload = bytearray(data)
    payload[sections[1][1] + 3] ^= 0x10
    cases.append(("weights crc", bytes(payload)))
    tok = seqnet.Tokenizer()
    tok.fit_on_texts(["a b"])
    cases.append(("text file", tok.to_bytes()))
    expect = {"truncated": "ETRUNCATED", "short": "ETRUNCATED", "magic": "EFORMAT",
              "version": "EVERSION", "reserved": "EFORMAT", "weights crc": "ECHECKSUM",
              "text file": "EWRONGTYPE"}
    for what, blob in cases:
        c, r = c_status(blob), reader_status(blob)
        assert c == r == CODES[expect[what]], (what, c, r)
    # Every byte of a small file, one bit flipped: both refuse, same status.
    for i in range(0, len(data), 7):
        blob = bytearray(data)
        blob[i] ^= 0x04
        c, r = c_status(bytes(blob)), reader_status(bytes(blob))
        assert c != 0 and c == r, (i, c, r)


@test
def other_layer_kinds_when_this_build_has_them():
    """Conv1D, pooling, merges and recurrent layers follow the same rules
    (FORMAT.md section 7); checked for whichever the binding offers."""
    have = lambda *names: all(hasattr(layers, n) for n in names)  # noqa: E731
    built = 0
    if have("Conv1D", "MaxPooling1D", "Flatten"):
        seqnet.set_seed(8)
        inp = seqnet.Input(shape=(12,), dtype="int32")
        x = layers.Embedding(20, 4)(inp)
        x = layers.Conv1D(5, 3, padding="valid", activation="relu")(x)
        x = layers.MaxPooling1D(2)(x)
        x = layers.Flatten()(x)
        model = seqnet.Model(inp, layers.Dense(2)(x))
        randomize(model, 9)
        parsed = rf.read_model(model.to_bytes())
        assert reader_layers(parsed) == binding_layers(model)
        assert_same_weights(parsed, model)
        built += 1
    for cls in ("LSTM", "GRU", "SimpleRNN"):
        if have(cls):
            seqnet.set_seed(10)
            model = seqnet.Sequential([layers.Embedding(20, 4), getattr(layers, cls)(3),
                                       layers.Dense(1)])
            model._build_now(np.zeros((1, 6), dtype=np.int32))
            randomize(model, 11)
            parsed = rf.read_model(model.to_bytes())
            assert reader_layers(parsed) == binding_layers(model)
            assert_same_weights(parsed, model)
            built += 1
    if have("Concatenate"):
        seqnet.set_seed(12)
        inp = seqnet.Input(shape=(4,))
        a, b = layers.Dense(2)(inp), layers.Dense(3)(inp)
        model = seqnet.Model(inp, layers.Dense(1)(layers.Concatenate()([a, b])))
        randomize(model, 13)
        parsed = rf.read_model(model.to_bytes())
        assert_same_weights(parsed, model)
        built += 1
    print("  (checked %d models with later layer kinds)" % built)


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
