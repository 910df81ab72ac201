"""The convolution room of the binding: Conv1D, MaxPooling1D, AveragePooling1D,
the merges (Concatenate, Add, Subtract, Multiply, Average), Highway,
BatchNormalization and LayerNormalization, with Keras's names, arguments,
defaults and call style (merges take a list: ``Concatenate()([a, b, c])``).

Imported by seqnet.py after _seqnet_models; every class is registered as
seqnet.layers.<Name>, plus Keras's aliases (MaxPool1D, AvgPool1D) and the
functional forms (seqnet.layers.concatenate([a, b]), add, ...).

Weights keep Keras's layouts: a Conv1D kernel is (kernel_size, in, filters);
BatchNormalization's are [gamma, beta, moving_mean, moving_variance].
"""
import sys

_m = sys.modules["_seqnet_models"]

__all__ = []

# Pinned layer kinds (include/seqnet/graph.h).
_KIND = dict(Conv1D=20, MaxPooling1D=21, AveragePooling1D=22, Concatenate=23, Add=24,
             Subtract=25, Multiply=26, Average=27, Highway=28, BatchNormalization=29,
             LayerNormalization=30)


def _single(value, what):
    """Keras accepts an int or a 1-tuple for 1-D sizes."""
    if isinstance(value, (list, tuple)):
        if len(value) != 1:
            raise ValueError("%s must be an int or a tuple of one int, got %r" % (what, value))
        value = value[0]
    if isinstance(value, bool) or int(value) != value or int(value) < 1:
        raise ValueError("%s must be a positive integer, got %r" % (what, value))
    return int(value)


def _padding(value, allowed):
    p = str(value).lower()
    if p not in allowed:
        raise ValueError("padding must be one of %s, got %r" % (", ".join(allowed), value))
    return p


def _axis(axis):
    if isinstance(axis, (list, tuple)):
        if len(axis) != 1:
            raise ValueError("only a single (feature) axis is supported, got %r" % (axis,))
        axis = axis[0]
    return int(axis)


class Conv1D(_m.Layer):
    """Conv1D(filters, kernel_size, strides=1, padding='valid', dilation_rate=1,
    activation=None, use_bias=True). padding: 'valid', 'same' (TensorFlow's
    split, the odd step on the right) or 'causal'. Refuses a masked input."""
    _kind = _KIND["Conv1D"]

    def __init__(self, filters, kernel_size, strides=1, padding="valid", dilation_rate=1,
                 activation=None, use_bias=True, **kw):
        super().__init__(**kw)
        self.filters = _single(filters, "filters")
        self.kernel_size = _single(kernel_size, "kernel_size")
        self.strides = _single(strides, "strides")
        self.padding = _padding(padding, ("valid", "same", "causal"))
        self.dilation_rate = _single(dilation_rate, "dilation_rate")
        self.activation = _m._act(activation)
        self.use_bias = bool(use_bias)

    def _options(self):
        return [("filters", self.filters), ("kernel_size", self.kernel_size),
                ("strides", self.strides), ("padding", self.padding),
                ("dilation_rate", self.dilation_rate), ("activation", self.activation),
                ("use_bias", int(self.use_bias))]


class _Pooling1D(_m.Layer):
    def __init__(self, pool_size=2, strides=None, padding="valid", **kw):
        super().__init__(**kw)
        self.pool_size = _single(pool_size, "pool_size")
        self.strides = None if strides is None else _single(strides, "strides")
        self.padding = _padding(padding, ("valid", "same"))

    def _options(self):
        o = [("pool_size", self.pool_size), ("padding", self.padding)]
        if self.strides is not None:
            o.append(("strides", self.strides))
        return o


class MaxPooling1D(_Pooling1D):
    """MaxPooling1D(pool_size=2, strides=None (= pool_size), padding='valid')."""
    _kind = _KIND["MaxPooling1D"]


class AveragePooling1D(_Pooling1D):
    """AveragePooling1D(pool_size=2, strides=None, padding='valid'); with 'same'
    the padded steps are not counted (TensorFlow's avg_pool)."""
    _kind = _KIND["AveragePooling1D"]


class Concatenate(_m.Layer):
    """Concatenate(axis=-1)([a, b, ...]): joins the feature axis."""
    _kind = _KIND["Concatenate"]

    def __init__(self, axis=-1, **kw):
        super().__init__(**kw)
        self.axis = _axis(axis)

    def _options(self):
        return [] if self.axis == -1 else [("axis", self.axis)]


class _Merge(_m.Layer):
    def __call__(self, inputs, **kwargs):
        if not isinstance(inputs, (list, tuple)):
            raise ValueError("%s must be called on a list of tensors" % type(self).__name__)
        return super().__call__(inputs, **kwargs)


class Add(_Merge):
    """Add()([a, b, ...])."""
    _kind = _KIND["Add"]


class Subtract(_Merge):
    """Subtract()([a, b]): a - b, exactly two inputs."""
    _kind = _KIND["Subtract"]


class Multiply(_Merge):
    """Multiply()([a, b, ...]): element-wise product."""
    _kind = _KIND["Multiply"]


class Average(_Merge):
    """Average()([a, b, ...]): element-wise mean."""
    _kind = _KIND["Average"]


class Highway(_m.Layer):
    """Highway(activation='linear', use_bias=True, gate_bias=-2.0):
    y = H(x) * T(x) + x * (1 - T(x)), T a sigmoid gate whose bias starts at
    gate_bias (Keras 1 called it transform_bias, which is accepted too).
    Weights: [kernel, bias, transform_kernel, transform_bias]."""
    _kind = _KIND["Highway"]

    def __init__(self, activation=None, use_bias=True, gate_bias=None, transform_bias=None,
                 **kw):
        super().__init__(**kw)
        if gate_bias is not None and transform_bias is not None:
            raise TypeError("give gate_bias or transform_bias, not both")
        bias = gate_bias if gate_bias is not None else transform_bias
        self.activation = _m._act(activation)
        self.use_bias = bool(use_bias)
        self.gate_bias = -2.0 if bias is None else float(bias)

    def _options(self):
        return [("activation", self.activation), ("use_bias", int(self.use_bias)),
                ("gate_bias", float(self.gate_bias))]


class BatchNormalization(_m.Layer):
    """BatchNormalization(axis=-1, momentum=0.99, epsilon=0.001, center=True,
    scale=True). Weights: [gamma, beta, moving_mean, moving_variance]."""
    _kind = _KIND["BatchNormalization"]

    def __init__(self, axis=-1, momentum=0.99, epsilon=0.001, center=True, scale=True, **kw):
        super().__init__(**kw)
        self.axis = _axis(axis)
        self.momentum, self.epsilon = float(momentum), float(epsilon)
        self.center, self.scale = bool(center), bool(scale)

    def _options(self):
        o = [("momentum", self.momentum), ("epsilon", self.epsilon),
             ("center", int(self.center)), ("scale", int(self.scale))]
        if self.axis != -1:
            o.append(("axis", self.axis))
        return o


class LayerNormalization(_m.Layer):
    """LayerNormalization(axis=-1, epsilon=0.001, center=True, scale=True).
    Weights: [gamma, beta]."""
    _kind = _KIND["LayerNormalization"]

    def __init__(self, axis=-1, epsilon=0.001, center=True, scale=True, **kw):
        super().__init__(**kw)
        self.axis = _axis(axis)
        self.epsilon = float(epsilon)
        self.center, self.scale = bool(center), bool(scale)

    def _options(self):
        o = [("epsilon", self.epsilon), ("center", int(self.center)),
             ("scale", int(self.scale))]
        if self.axis != -1:
            o.append(("axis", self.axis))
        return o


for _cls in (Conv1D, MaxPooling1D, AveragePooling1D, Concatenate, Add, Subtract, Multiply,
             Average, Highway, BatchNormalization, LayerNormalization):
    _m.register_layer(_cls)
    __all__.append(_cls.__name__)

# Keras's aliases and functional forms.
_m.layers.MaxPool1D = MaxPooling1D
_m.layers.AvgPool1D = AveragePooling1D
_m.layers.Convolution1D = Conv1D


def concatenate(inputs, axis=-1, **kw):
    """keras.layers.concatenate(inputs, axis=-1)."""
    return Concatenate(axis=axis, **kw)(inputs)


def add(inputs, **kw):
    return Add(**kw)(inputs)


def subtract(inputs, **kw):
    return Subtract(**kw)(inputs)


def multiply(inputs, **kw):
    return Multiply(**kw)(inputs)


def average(inputs, **kw):
    return Average(**kw)(inputs)


for _fn in (concatenate, add, subtract, multiply, average):
    setattr(_m.layers, _fn.__name__, _fn)
