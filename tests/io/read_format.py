#!/usr/bin/python3
"""An independent reader of seqnet model files, written from docs/FORMAT.md.

It does not import seqnet and shares no code with the C library: it exists
to show that the specification is complete. It checks what the document
says a reader must check (magic, version, checksums, alignment, zero
padding, counts against the bytes left) and decodes the graph section
(layers, names, inputs, options), the weights (split into named tensors in
Keras's layouts, using the shape rules of FORMAT.md section 7), the trainer
section and the text sections' envelopes.

    read_format.py FILE        print a JSON summary of the file
    read_format.py --selftest  check CRC-32C against its published vector

As a module: read_model(data) -> dict; damage raises FormatError whose
.code is the seqnet status name the C loader returns ("EFORMAT", ...).
"""
import json
import math
import struct
import sys

MAGIC = b"SEQNMODL"
TEXT_MAGIC = b"SNTX\r\n\x1a\n"
HEADER_SIZE = 64
ENTRY_SIZE = 32
ALIGN = 64
MAX_SECTIONS = 1024
MAX_LAYERS = 4096
MAX_DIM = 1 << 28
SECTION_NAMES = {1: "graph", 2: "weights", 3: "trainer", 4: "text", 5: "metadata"}

# Pinned ids (include/seqnet/graph.h): kind -> Keras class name.
LAYER_KINDS = {
    0: "InputLayer", 1: "Dense", 2: "Activation", 3: "Dropout", 4: "Embedding", 5: "Flatten",
    6: "GlobalAveragePooling1D", 7: "GlobalMaxPooling1D", 20: "Conv1D", 21: "MaxPooling1D",
    22: "AveragePooling1D", 23: "Concatenate", 24: "Add", 25: "Subtract", 26: "Multiply",
    27: "Average", 28: "Highway", 29: "BatchNormalization", 30: "LayerNormalization",
    40: "SimpleRNN", 41: "LSTM", 42: "GRU", 43: "Bidirectional", 44: "TimeDistributed",
    45: "RnnState",
}
OPTION_KEYS = {
    1: "units", 2: "activation", 3: "use_bias", 4: "rate", 5: "input_dim", 6: "output_dim",
    7: "mask_zero", 8: "seed", 9: "trainable", 20: "filters", 21: "kernel_size", 22: "strides",
    23: "padding", 24: "dilation_rate", 25: "pool_size", 26: "axis", 27: "momentum",
    28: "epsilon", 29: "center", 30: "scale", 31: "gate_bias", 40: "recurrent_activation",
    41: "return_sequences", 42: "return_state", 43: "go_backwards", 44: "stateful",
    45: "unit_forget_bias", 46: "dropout", 47: "recurrent_dropout", 48: "reset_after",
    49: "merge_mode", 50: "layer", 51: "state_index",
}
OPT_INT, OPT_FLOAT, OPT_STRING = 1, 2, 3
RNN_GATES = {"SimpleRNN": 1, "LSTM": 4, "GRU": 3}


class FormatError(Exception):
    """The bytes are not a valid seqnet model file; .code names the status."""

    def __init__(self, code, message):
        super().__init__("%s: %s" % (code, message))
        self.code = code


# --------------------------------------------------------------------------
# CRC-32C: Castagnoli polynomial, reflected (0x82F63B78), init and final
# xor 0xFFFFFFFF -- built here from the polynomial, one byte at a time.

def _crc_table():
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
        table.append(crc)
    return table


_CRC_TABLE = _crc_table()


def crc32c(data):
    crc = 0xFFFFFFFF
    table = _CRC_TABLE
    for b in data:
        crc = (crc >> 8) ^ table[(crc ^ b) & 0xFF]
    return crc ^ 0xFFFFFFFF


# --------------------------------------------------------------------------
# a bounds-checked little-endian cursor

class Cursor:
    def __init__(self, data, what):
        self.data = data
        self.pos = 0
        self.what = what

    def left(self):
        return len(self.data) - self.pos

    def take(self, n):
        if n > self.left():
            raise FormatError("ETRUNCATED", "%s: needs %d more bytes at %d, %d left"
                              % (self.what, n, self.pos, self.left()))
        b = self.data[self.pos:self.pos + n]
        self.pos += n
        return b

    def u8(self):
        return self.take(1)[0]

    def u32(self):
        return struct.unpack("<I", self.take(4))[0]

    def i32(self):
        return struct.unpack("<i", self.take(4))[0]

    def u64(self):
        return struct.unpack("<Q", self.take(8))[0]

    def i64(self):
        return struct.unpack("<q", self.take(8))[0]

    def f64(self):
        return struct.unpack("<d", self.take(8))[0]

    def flag(self):
        v = self.u8()
        if v > 1:
            raise FormatError("EFORMAT", "%s: flag byte %d at %d" % (self.what, v, self.pos - 1))
        return v

    def string(self):
        n = self.u64()
        if n > self.left():
            raise FormatError("ETRUNCATED", "%s: string of %d bytes, %d left"
                              % (self.what, n, self.left()))
        return self.take(n)

    def name(self):
        raw = self.string()
        if not 1 <= len(raw) <= 63 or b"\0" in raw:
            raise FormatError("EFORMAT", "%s: bad name %r" % (self.what, raw))
        return raw.decode("utf-8")


# --------------------------------------------------------------------------
# container

def _le32(b, off):
    return struct.unpack_from("<I", b, off)[0]


def _le64(b, off):
    return struct.unpack_from("<Q", b, off)[0]


def read_container(data):
    """Check the header, the section table and the padding; return
    (version, [(type, offset, length)])."""
    data = bytes(data)
    if len(data) < HEADER_SIZE:
        raise FormatError("ETRUNCATED", "%d bytes: shorter than the header" % len(data))
    if data[:8] != MAGIC:
        if data[:4] == b"SNTX":
            raise FormatError("EWRONGTYPE", "a text-object file, not a model")
        raise FormatError("EFORMAT", "bad magic %r" % data[:8])
    if _le32(data, 28) != crc32c(data[:28]):
        raise FormatError("ECHECKSUM", "header checksum")
    version, n_sections, total = _le32(data, 8), _le32(data, 12), _le64(data, 16)
    if version == 0 or version > 1:
        raise FormatError("EVERSION", "format version %d" % version)
    if not 2 <= n_sections <= MAX_SECTIONS:
        raise FormatError("EFORMAT", "%d sections" % n_sections)
    if total > len(data):
        raise FormatError("ETRUNCATED", "declares %d bytes, %d given" % (total, len(data)))
    table_end = HEADER_SIZE + n_sections * ENTRY_SIZE
    if total < table_end:
        raise FormatError("EFORMAT", "declared size smaller than the section table")
    if _le32(data, 24) != crc32c(data[HEADER_SIZE:table_end]):
        raise FormatError("ECHECKSUM", "section table checksum")
    sections = []
    for i in range(n_sections):
        e = HEADER_SIZE + i * ENTRY_SIZE
        typ, off, length, crc = _le32(data, e), _le64(data, e + 8), _le64(data, e + 16), \
            _le32(data, e + 24)
        if off % ALIGN or off < table_end or off > total or length > total - off:
            raise FormatError("EFORMAT", "section %d lies outside the file" % i)
        for (_, o2, l2) in sections:
            if off < o2 + l2 and o2 < off + length:
                raise FormatError("EFORMAT", "sections overlap")
        if crc32c(data[off:off + length]) != crc:
            raise FormatError("ECHECKSUM", "section %d checksum" % i)
        sections.append((typ, off, length))
    counts = {}
    for typ, _, _ in sections:
        counts[typ] = counts.get(typ, 0) + 1
    for typ in (1, 2, 3):
        if counts.get(typ, 0) > 1:
            raise FormatError("EFORMAT", "two %s sections" % SECTION_NAMES[typ])
    for typ in (1, 2):
        if not counts.get(typ):
            raise FormatError("EFORMAT", "no %s section" % SECTION_NAMES[typ])
    # Everything not covered by a checksum must be zero.
    if any(data[32:HEADER_SIZE]):
        raise FormatError("EFORMAT", "reserved header bytes not zero")
    for i in range(n_sections):
        e = HEADER_SIZE + i * ENTRY_SIZE
        if _le32(data, e + 4) or _le32(data, e + 28):
            raise FormatError("EFORMAT", "section %d: reserved fields not zero" % i)
    pos = table_end
    for _, off, length in sorted(sections, key=lambda s: s[1]) + [(None, total, 0)]:
        if any(data[pos:off]):
            raise FormatError("EFORMAT", "padding between %d and %d not zero" % (pos, off))
        pos = max(pos, off + length)
    return version, sections


# --------------------------------------------------------------------------
# graph section

def read_graph(payload):
    c = Cursor(payload, "graph section")
    n_layers, n_in, n_out = c.u32(), c.u32(), c.u32()
    if not (1 <= n_layers <= MAX_LAYERS and 1 <= n_in <= n_layers and 1 <= n_out <= n_layers):
        raise FormatError("EFORMAT", "bad counts %d/%d/%d" % (n_layers, n_in, n_out))
    if n_layers * 13 + (n_in + n_out) * 4 > c.left():
        raise FormatError("ETRUNCATED", "graph section shorter than its counts")
    inputs = [c.u32() for _ in range(n_in)]
    outputs = [c.u32() for _ in range(n_out)]
    seed = c.u64()
    layers = []
    names = set()
    for index in range(n_layers):
        kind = c.u32()
        name = c.name()
        if name in names:
            raise FormatError("EFORMAT", "layer name %r twice" % name)
        names.add(name)
        layer = {"index": index, "kind": kind, "class_name": LAYER_KINDS.get(kind), "name": name}
        if kind == 0:
            time, features, tokens = c.i32(), c.i32(), c.flag()
            if time < -1 or time > MAX_DIM or not 1 <= features <= MAX_DIM or \
                    (tokens and (features != 1 or time == -1)):
                raise FormatError("EFORMAT", "input %r: bad shape" % name)
            layer.update(time=time, features=features, is_tokens=tokens)
        else:
            if kind not in LAYER_KINDS:
                raise FormatError("EUNSUPPORTED", "layer %r: unknown kind %d" % (name, kind))
            n_inputs = c.u32()
            if n_inputs > 16:
                raise FormatError("EFORMAT", "layer %r: %d inputs" % (name, n_inputs))
            ids = [c.u32() for _ in range(n_inputs)]
            if any(i >= index for i in ids):
                raise FormatError("EFORMAT", "layer %r reads a later node" % name)
            trainable = c.flag()
            lseed = c.u64()
            n_opts = c.u32()
            if n_opts > 32:
                raise FormatError("EFORMAT", "layer %r: %d options" % (name, n_opts))
            options = {}
            for _ in range(n_opts):
                key, typ = c.u32(), c.u8()
                if typ == OPT_INT:
                    value = c.i64()
                elif typ == OPT_FLOAT:
                    value = c.f64()
                    if not math.isfinite(value):
                        raise FormatError("EFORMAT", "layer %r: non-finite option" % name)
                elif typ == OPT_STRING:
                    value = c.name()
                else:
                    raise FormatError("EFORMAT", "layer %r: option type %d" % (name, typ))
                options[OPTION_KEYS.get(key, key)] = value
            layer.update(inputs=ids, trainable=trainable, seed=lseed, options=options)
        layers.append(layer)
    if c.left():
        raise FormatError("EFORMAT", "graph section has %d stray bytes" % c.left())
    for i in inputs:
        if i >= n_layers or layers[i]["kind"] != 0:
            raise FormatError("EFORMAT", "model input %d is not an input layer" % i)
    if len(set(inputs)) != len(inputs):
        raise FormatError("EFORMAT", "model input listed twice")
    for L in layers:
        if L["kind"] == 0 and L["index"] not in inputs:
            raise FormatError("EFORMAT", "input layer %r is not a model input" % L["name"])
    if any(o >= n_layers for o in outputs):
        raise FormatError("EFORMAT", "model output out of range")
    return {"inputs": inputs, "outputs": outputs, "seed": seed, "layers": layers}


# --------------------------------------------------------------------------
# shapes and weights (FORMAT.md section 7)

def _opt(L, key, default):
    return L["options"].get(key, default)


def _window(time, size, stride, padding, dilation=1):
    """Output steps of a 1-D window (conv or pool); 0 stays variable."""
    if time == 0:
        return 0
    if padding == "valid":
        return (time - dilation * (size - 1) - 1) // stride + 1
    return (time + stride - 1) // stride  # 'same' and 'causal'


def infer(graph):
    """Give every layer 'shape' = (time, features) -- time -1 for vectors,
    0 for variable -- and 'weights' = [(name, dims)] in file order."""
    layers = graph["layers"]
    for L in layers:
        if L["kind"] == 0:
            L["shape"], L["weights"] = (L["time"], L["features"]), []
            continue
        ins = [layers[i]["shape"] for i in L["inputs"]]
        (time, feat), cls = ins[0], L["class_name"]
        w = []
        if cls == "Dense":
            units = _opt(L, "units", None)
            w.append(("kernel", [feat, units]))
            if _opt(L, "use_bias", 1):
                w.append(("bias", [units]))
            shape = (time, units)
        elif cls == "Embedding":
            w.append(("embeddings", [_opt(L, "input_dim", None), _opt(L, "output_dim", None)]))
            shape = (time, _opt(L, "output_dim", None))
        elif cls in ("Activation", "Dropout"):
            shape = (time, feat)
        elif cls == "Flatten":
            shape = (-1, time * feat)
        elif cls in ("GlobalAveragePooling1D", "GlobalMaxPooling1D"):
            shape = (-1, feat)
        elif cls == "Conv1D":
            k, filters = _opt(L, "kernel_size", None), _opt(L, "filters", None)
            w.append(("kernel", [k, feat, filters]))
            if _opt(L, "use_bias", 1):
                w.append(("bias", [filters]))
            shape = (_window(time, k, _opt(L, "strides", 1), _opt(L, "padding", "valid"),
                             _opt(L, "dilation_rate", 1)), filters)
        elif cls in ("MaxPooling1D", "AveragePooling1D"):
            p = _opt(L, "pool_size", 2)
            shape = (_window(time, p, _opt(L, "strides", p), _opt(L, "padding", "valid")), feat)
        elif cls == "Concatenate":
            t = time
            for (ti, _) in ins:
                t = ti if t == 0 else t
            shape = (t, sum(f for _, f in ins))
        elif cls in ("Add", "Subtract", "Multiply", "Average"):
            t = time
            for (ti, _) in ins:
                t = ti if t == 0 else t
            shape = (t, feat)
        elif cls == "Highway":
            w.append(("kernel", [feat, feat]))
            if _opt(L, "use_bias", 1):
                w.append(("bias", [feat]))
            w.append(("transform_kernel", [feat, feat]))
            if _opt(L, "use_bias", 1):
                w.append(("transform_bias", [feat]))
            shape = (time, feat)
        elif cls in ("BatchNormalization", "LayerNormalization"):
            if _opt(L, "scale", 1):
                w.append(("gamma", [feat]))
            if _opt(L, "center", 1):
                w.append(("beta", [feat]))
            if cls == "BatchNormalization":
                w += [("moving_mean", [feat]), ("moving_variance", [feat])]
            shape = (time, feat)
        elif cls in ("SimpleRNN", "LSTM", "GRU", "Bidirectional"):
            cell = _opt(L, "layer", None) if cls == "Bidirectional" else cls
            units, gates = _opt(L, "units", None), RNN_GATES[cell]
            prefixes = ["forward_", "backward_"] if cls == "Bidirectional" else [""]
            for pre in prefixes:
                w.append((pre + "kernel", [feat, gates * units]))
                w.append((pre + "recurrent_kernel", [units, gates * units]))
                if _opt(L, "use_bias", 1):
                    two_biases = cell == "GRU" and _opt(L, "reset_after", 1)
                    w.append((pre + "bias", [2, gates * units] if two_biases
                              else [gates * units]))
            out = units
            if cls == "Bidirectional" and _opt(L, "merge_mode", "concat") == "concat":
                out = 2 * units
            shape = (time, out) if _opt(L, "return_sequences", 0) else (-1, out)
        elif cls == "RnnState":
            producer = layers[L["inputs"][0]]
            shape = (-1, _opt(producer, "units", None))
        else:
            raise FormatError("EUNSUPPORTED", "no shape rule for %s" % cls)
        L["shape"], L["weights"] = shape, w
    return graph


def split_weights(graph, payload):
    """Cut the weights section into [(layer, weight, dims, floats)]."""
    total = sum(math.prod(d) for L in graph["layers"] for _, d in L["weights"])
    if len(payload) != 4 * total:
        raise FormatError("EFORMAT", "weights section holds %d bytes, the graph declares %d "
                          "floats" % (len(payload), total))
    values = struct.unpack("<%df" % total, payload)
    if not all(math.isfinite(v) for v in values):
        raise FormatError("ENONFINITE", "a weight is not finite")
    out, at = [], 0
    for L in graph["layers"]:
        for name, dims in L["weights"]:
            n = math.prod(dims)
            out.append((L["name"], name, dims, list(values[at:at + n])))
            at += n
    return out


# --------------------------------------------------------------------------
# trainer and text sections

def read_trainer(payload, n_params):
    c = Cursor(payload, "trainer section")
    t = {}
    n_out = c.u32()
    if not 1 <= n_out <= 64:
        raise FormatError("EFORMAT", "trainer: %d outputs" % n_out)
    t["loss"] = [c.u32() for _ in range(n_out)]
    n_metrics = c.u32()
    if n_metrics > 16:
        raise FormatError("EFORMAT", "trainer: %d metrics" % n_metrics)
    t["metrics"] = [(c.u32(), c.u32()) for _ in range(n_metrics)]
    t["batch_size"], t["epochs"], t["shuffle"] = c.u32(), c.u32(), c.flag()
    t["seed"] = c.u64()
    for k in ("validation_split", "clipvalue", "clipnorm", "global_clipnorm"):
        t[k] = c.f64()
    t["reduction"], t["optimizer"] = c.u32(), c.u32()
    t["hyper"] = [c.f64() for _ in range(8)]
    t["iterations"], t["step"], t["epochs_done"], t["n_params"] = c.i64(), c.u64(), c.i64(), \
        c.i64()
    if t["n_params"] != n_params:
        raise FormatError("EFORMAT", "trainer: %d moments for %d weights"
                          % (t["n_params"], n_params))
    t["slots"] = []
    for _ in range(2):
        if c.flag():
            t["slots"].append(list(struct.unpack("<%df" % n_params, c.take(4 * n_params))))
        else:
            t["slots"].append(None)
    if c.left():
        raise FormatError("EFORMAT", "trainer section has stray bytes")
    return t


def read_text(payload):
    c = Cursor(payload, "text section")
    name, kind = c.name(), c.u32()
    if kind not in (1, 2):
        raise FormatError("EFORMAT", "text kind %d" % kind)
    start = c.pos
    if c.take(8) != TEXT_MAGIC:
        raise FormatError("EFORMAT", "text record magic")
    version, rkind, length = c.u32(), c.u32(), c.u64()
    if version == 0 or version > 1:
        raise FormatError("EVERSION", "text record version %d" % version)
    if rkind != kind:
        raise FormatError("EWRONGTYPE", "text record kind %d, section says %d" % (rkind, kind))
    body = c.take(length)
    crc = c.u32()
    if crc != crc32c(payload[start:c.pos - 4]):
        raise FormatError("ECHECKSUM", "text record checksum")
    if c.left():
        raise FormatError("EFORMAT", "text section has stray bytes")
    return {"name": name, "kind": "tokenizer" if kind == 1 else "vectorizer",
            "payload_bytes": len(body)}


def read_meta(payload):
    c = Cursor(payload, "metadata section")
    n = c.u32()
    if n > 64:
        raise FormatError("EFORMAT", "metadata: %d entries" % n)
    meta = {}
    for _ in range(n):
        key = c.name()
        if key in meta:
            raise FormatError("EFORMAT", "metadata key %r twice" % key)
        value = c.string()
        if len(value) > 65536 or b"\0" in value:
            raise FormatError("EFORMAT", "metadata value of %r malformed" % key)
        meta[key] = value.decode("utf-8")
    if c.left():
        raise FormatError("EFORMAT", "metadata section has stray bytes")
    return meta


# --------------------------------------------------------------------------

def read_model(data):
    data = bytes(data)
    version, sections = read_container(data)
    by_type = {}
    for typ, off, length in sections:
        by_type.setdefault(typ, []).append(data[off:off + length])
    graph = infer(read_graph(by_type[1][0]))
    weights = split_weights(graph, by_type[2][0])
    n_params = sum(len(w[3]) for w in weights)
    trainer = read_trainer(by_type[3][0], n_params) if 3 in by_type else None
    texts = [read_text(p) for p in by_type.get(4, [])]
    meta = {}
    for p in by_type.get(5, []):
        more = read_meta(p)
        if meta and more:
            raise FormatError("EFORMAT", "two metadata sections")
        meta.update(more)
    unknown = sorted(t for t in by_type if t not in SECTION_NAMES)
    return {"version": version, "size": _le64(data, 16), "graph": graph, "weights": weights,
            "trainer": trainer, "texts": texts, "metadata": meta, "unknown_sections": unknown}


def _summary(model):
    layers = []
    for L in model["graph"]["layers"]:
        layers.append({k: L[k] for k in ("name", "class_name", "kind", "shape")
                       if k in L})
        layers[-1]["options"] = L.get("options", {})
        layers[-1]["weights"] = [[n, d] for n, d in L["weights"]]
    return {"version": model["version"], "size": model["size"], "layers": layers,
            "inputs": model["graph"]["inputs"], "outputs": model["graph"]["outputs"],
            "n_weights": sum(len(w[3]) for w in model["weights"]),
            "optimizer": None if model["trainer"] is None else model["trainer"]["optimizer"],
            "texts": model["texts"], "metadata": model["metadata"],
            "unknown_sections": model["unknown_sections"]}


def main(argv):
    if len(argv) == 2 and argv[1] == "--selftest":
        ok = crc32c(b"123456789") == 0xE3069283
        print("crc32c('123456789') = 0x%08X %s" % (crc32c(b"123456789"), "ok" if ok else "WRONG"))
        return 0 if ok else 1
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[0])
        print("usage: read_format.py FILE | --selftest")
        return 2
    with open(argv[1], "rb") as f:
        data = f.read()
    try:
        model = read_model(data)
    except FormatError as exc:
        print("error:", exc)
        return 1
    print(json.dumps(_summary(model), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
