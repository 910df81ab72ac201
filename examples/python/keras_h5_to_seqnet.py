#!/usr/bin/python3
"""Convert a Keras 2 HDF5 model file (model.save("m.h5")) into a seqnet file.

    keras_h5_to_seqnet.py MODEL.h5 OUT.snm [--summary]

Needs h5py (Debian: python3-h5py) and numpy; Keras itself is not needed.
Sequential and functional models are converted when they are built from
layers seqnet implements: InputLayer, Embedding, Dense, Activation, Dropout,
Flatten, GlobalAveragePooling1D, GlobalMaxPooling1D and, when this seqnet has
them, Conv1D, MaxPooling1D, AveragePooling1D, Concatenate, Add, Subtract,
Multiply, Average, BatchNormalization, LayerNormalization, SimpleRNN, LSTM,
GRU and Bidirectional. Anything else is refused with a message naming the
layer. Only the architecture and the weights are converted (not the
optimizer state).

What the Keras 2 HDF5 layout holds (read here, nothing else is assumed):
  - root attribute "model_config": JSON {"class_name": "Sequential" |
    "Functional" | "Model", "config": {"layers": [...], ...}}; each layer
    {"class_name", "config": {...}, and for functional models "name" and
    "inbound_nodes": [[[inbound_layer, node_index, tensor_index, kwargs],
    ...]]}; functional configs list "input_layers" / "output_layers" as
    [[layer_name, node_index, tensor_index], ...];
  - group "model_weights" (or the root, for a save_weights file) with one
    group per layer whose attribute "weight_names" lists the layer's weights
    in get_weights() order; each name ("dense/kernel:0") is a dataset path
    inside the layer's group.

As a module: convert(path) returns a seqnet.Model with the weights set.
"""
import inspect
import json
import sys

import h5py
import numpy as np

import seqnet

# Keras classes seqnet may implement (checked against seqnet.layers at run time).
SUPPORTED = [
    "Embedding", "Dense", "Activation", "Dropout", "Flatten", "GlobalAveragePooling1D",
    "GlobalMaxPooling1D", "Conv1D", "MaxPooling1D", "AveragePooling1D", "Concatenate", "Add",
    "Subtract", "Multiply", "Average", "BatchNormalization", "LayerNormalization",
    "SimpleRNN", "LSTM", "GRU", "Bidirectional",
]
ALIASES = {"GlobalAvgPool1D": "GlobalAveragePooling1D", "GlobalMaxPool1D": "GlobalMaxPooling1D",
           "MaxPool1D": "MaxPooling1D", "AvgPool1D": "AveragePooling1D",
           "Convolution1D": "Conv1D"}
# Config values that change what a layer computes and that seqnet does not
# implement: (class or "*", key) -> the accepted values.
MUST_BE = {
    ("*", "data_format"): ("channels_last", None),
    ("*", "keepdims"): (False, None),
    ("*", "return_state"): (False, None),
    ("*", "stateful"): (False, None),
    ("*", "time_major"): (False, None),
    ("Concatenate", "axis"): (-1, 2),
    ("BatchNormalization", "axis"): (-1, 2, [-1], [2]),
    ("LayerNormalization", "axis"): (-1, 2, [-1], [2]),
    ("Embedding", "sparse"): (False, None),
}
# Config keys that only matter for training, or that seqnet derives itself.
IGNORED = {"name", "trainable", "dtype", "batch_input_shape", "batch_shape", "input_dim_",
           "kernel_initializer", "bias_initializer", "recurrent_initializer",
           "embeddings_initializer", "gamma_initializer", "beta_initializer",
           "moving_mean_initializer", "moving_variance_initializer", "kernel_regularizer",
           "bias_regularizer", "recurrent_regularizer", "activity_regularizer",
           "embeddings_regularizer", "beta_regularizer", "gamma_regularizer",
           "kernel_constraint", "bias_constraint", "recurrent_constraint",
           "embeddings_constraint", "beta_constraint", "gamma_constraint", "noise_shape",
           "implementation", "unroll", "input_length", "groups", "renorm", "renorm_clipping",
           "renorm_momentum", "fused", "virtual_batch_size", "adjustment", "synchronized",
           "data_format", "keepdims", "return_state", "stateful", "time_major", "sparse",
           "seed"}


class ConversionError(Exception):
    """The HDF5 file cannot be converted; the message says why."""


def _text(value):
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def _layer_class(class_name, layer_name):
    cls_name = ALIASES.get(class_name, class_name)
    if cls_name not in SUPPORTED or not hasattr(seqnet.layers, cls_name):
        have = [c for c in SUPPORTED if hasattr(seqnet.layers, c)]
        raise ConversionError("layer %r is a %s, which seqnet cannot convert; supported: "
                              "InputLayer, %s" % (layer_name, class_name, ", ".join(have)))
    return getattr(seqnet.layers, cls_name), cls_name


def _check_values(cls_name, layer_name, config):
    for (cls, key), allowed in MUST_BE.items():
        if cls in ("*", cls_name) and key in config and config[key] not in allowed:
            raise ConversionError("layer %r (%s): %s=%r is not supported by seqnet"
                                  % (layer_name, cls_name, key, config[key]))
    act = config.get("activation")
    if act is not None and not isinstance(act, str):
        raise ConversionError("layer %r: only activations given by name are supported"
                              % layer_name)


def make_layer(class_name, config):
    """The seqnet layer for one Keras layer config (name kept)."""
    name = config.get("name")
    cls, cls_name = _layer_class(class_name, name)
    _check_values(cls_name, name, config)
    if cls_name == "Bidirectional":
        inner = config["layer"]
        inner_cls_name = ALIASES.get(inner["class_name"], inner["class_name"])
        if inner_cls_name not in ("SimpleRNN", "LSTM", "GRU"):
            raise ConversionError("layer %r: Bidirectional over %s is not supported"
                                  % (name, inner["class_name"]))
        if config.get("backward_layer"):
            raise ConversionError("layer %r: a separate backward_layer is not supported" % name)
        inner_layer = make_layer(inner_cls_name, dict(inner["config"], name=None))
        return cls(inner_layer, merge_mode=config.get("merge_mode", "concat"), name=name)
    params = inspect.signature(cls.__init__).parameters
    if cls_name in ("SimpleRNN", "LSTM", "GRU"):
        # _Recurrent's own arguments are taken through **kw by the subclasses.
        params = dict(params)
        for base in cls.__mro__[1:]:
            if "__init__" in vars(base):
                params.update(inspect.signature(base.__init__).parameters)
    kwargs = {}
    for key, value in config.items():
        if key in IGNORED:
            continue
        if key in params and key not in ("self", "kw", "kwargs"):
            kwargs[key] = value
        elif key not in ("dropout", "recurrent_dropout", "rate") and \
                value not in (None, False, 0, 0.0, [], {}):
            raise ConversionError("layer %r (%s): option %s=%r is not supported by seqnet"
                                  % (name, cls_name, key, value))
    for key in ("kernel_size", "strides", "dilation_rate", "pool_size"):
        if isinstance(kwargs.get(key), (list, tuple)):
            if len(kwargs[key]) != 1:
                raise ConversionError("layer %r: %s=%r" % (name, key, kwargs[key]))
            kwargs[key] = kwargs[key][0]
    if cls_name in ("Concatenate", "BatchNormalization", "LayerNormalization"):
        kwargs.pop("axis", None)  # the last axis, checked above
    if cls_name == "Dropout" and config.get("seed") is not None:
        kwargs["seed"] = config["seed"]
    kwargs["name"] = name
    try:
        return cls(**kwargs)
    except (TypeError, ValueError, NotImplementedError) as exc:
        raise ConversionError("layer %r (%s): %s" % (name, cls_name, exc)) from exc


def _input_for(config, first_layer_class):
    shape = config.get("batch_input_shape", config.get("batch_shape"))
    if shape is None:
        raise ConversionError("the model declares no input shape (batch_input_shape)")
    dtype = config.get("dtype") or "float32"
    if not isinstance(dtype, str):
        dtype = "float32"
    if first_layer_class == "Embedding":
        dtype = "int32"
    return seqnet.Input(shape=tuple(shape[1:]), dtype=dtype, name=config.get("name"))


def build_model(model_config):
    """A seqnet.Model from a Keras model_config (dict)."""
    class_name = model_config.get("class_name")
    config = model_config.get("config", {})
    layer_list = config.get("layers", config if isinstance(config, list) else None)
    if not layer_list:
        raise ConversionError("model_config has no layers")
    if class_name == "Sequential":
        layer_list = list(layer_list)
        if layer_list[0]["class_name"] == "InputLayer":
            first = layer_list.pop(0)
            if not layer_list:
                raise ConversionError("the Sequential model has no layers")
            inp = _input_for(first["config"], layer_list[0]["class_name"])
        else:
            inp = _input_for(layer_list[0]["config"], layer_list[0]["class_name"])
        x = inp
        for spec in layer_list:
            x = make_layer(spec["class_name"], spec["config"])(x)
        return seqnet.Model(inp, x, name=config.get("name"))
    if class_name not in ("Functional", "Model"):
        raise ConversionError("model class %r: only Sequential and functional models are "
                              "supported" % class_name)
    tensors, inputs = {}, {}
    consumers = {}
    for spec in layer_list:
        for node in spec.get("inbound_nodes", []):
            for inbound in node:
                consumers.setdefault(inbound[0], spec["class_name"])
    for spec in layer_list:
        name = spec.get("name", spec["config"].get("name"))
        if spec["class_name"] == "InputLayer":
            t = _input_for(spec["config"], consumers.get(name))
            tensors[name] = t
            inputs[name] = t
            continue
        nodes = spec.get("inbound_nodes", [])
        if len(nodes) != 1:
            raise ConversionError("layer %r is called %d times; shared layers are not "
                                  "supported" % (name, len(nodes)))
        args = []
        for inbound in nodes[0]:
            if not isinstance(inbound, (list, tuple)) or len(inbound) < 3:
                raise ConversionError("layer %r: inbound nodes in an unknown format "
                                      "(Keras 2 HDF5 files only)" % name)
            src, node_index, tensor_index = inbound[0], inbound[1], inbound[2]
            kwargs = inbound[3] if len(inbound) > 3 else {}
            if node_index != 0 or tensor_index != 0 or kwargs:
                raise ConversionError("layer %r: call arguments or multi-output inbound "
                                      "tensors are not supported" % name)
            if src not in tensors:
                raise ConversionError("layer %r reads %r, which is not defined before it"
                                      % (name, src))
            args.append(tensors[src])
        layer = make_layer(spec["class_name"], dict(spec["config"], name=name))
        tensors[name] = layer(args if len(args) > 1 else args[0])
    ins = [inputs[i[0]] for i in config.get("input_layers", [])]
    outs = [tensors[o[0]] for o in config.get("output_layers", [])]
    if not ins or not outs:
        raise ConversionError("model_config lists no input_layers or output_layers")
    return seqnet.Model(ins if len(ins) > 1 else ins[0], outs if len(outs) > 1 else outs[0],
                        name=config.get("name"))


def read_weights(f):
    """{layer name: [arrays in get_weights order]} from the HDF5 file."""
    group = f["model_weights"] if "model_weights" in f else f
    out = {}
    for name in group.attrs.get("layer_names", list(group.keys())):
        name = _text(name)
        g = group[name]
        names = [_text(n) for n in g.attrs.get("weight_names", [])]
        out[name] = [np.asarray(g[n], dtype=np.float32) for n in names]
    return out


def convert(path):
    """The seqnet.Model equivalent to the Keras 2 HDF5 model file at `path`."""
    with h5py.File(path, "r") as f:
        if "model_config" not in f.attrs:
            raise ConversionError("%s has no model_config attribute: it is a weights-only "
                                  "file (save the whole model with model.save)" % path)
        model_config = json.loads(_text(f.attrs["model_config"]))
        weights = read_weights(f)
    model = build_model(model_config)
    for layer in model.layers:
        values = weights.get(layer.name, [])
        expect = model._n_weights(layer._index)
        if len(values) != expect:
            raise ConversionError("layer %r: the file has %d weight arrays, seqnet expects %d"
                                  % (layer.name, len(values), expect))
        for w, value in enumerate(values):
            shape, _ = model._weight_shape(layer._index, w)
            if tuple(value.shape) != tuple(shape):
                raise ConversionError("layer %r weight %d: shape %r in the file, %r in seqnet"
                                      % (layer.name, w, value.shape, shape))
        if values:
            layer.set_weights(values)
    return model


def main(argv):
    args = [a for a in argv[1:] if not a.startswith("--")]
    if len(args) != 2:
        sys.stderr.write("usage: keras_h5_to_seqnet.py MODEL.h5 OUT.snm [--summary]\n")
        return 2
    try:
        model = convert(args[0])
    except ConversionError as exc:
        sys.stderr.write("keras_h5_to_seqnet: %s\n" % exc)
        return 1
    if "--summary" in argv:
        model.summary()
    model.save(args[1])
    print("wrote %s (%d parameters)" % (args[1], model.count_params()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
