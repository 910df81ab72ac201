"""Models for the seqnet binding: layers, Input, Sequential, Model, compile,
fit / evaluate / predict, weights, optimizers, callbacks (Keras names).

Layers are recorded in Python as a symbolic graph; building a Model (or the
first fit/predict of a Sequential without an input shape) replays it into a
C seqnet_graph and compiles it. Weights then live in C; get_weights and
set_weights copy them in Keras's layouts.
"""
import ctypes
import math
import sys
from array import array

_s = sys.modules["seqnet"]
_lib = _s._lib
_check = _s._check
_np = _s._np
_c = ctypes

__all__ = ["Input", "Model", "Sequential", "layers", "optimizers", "callbacks",
           "losses", "History", "load_model", "load_model_from_bytes"]

_P = ctypes.c_void_p
_I32P = ctypes.POINTER(ctypes.c_int32)
_F32P = ctypes.POINTER(ctypes.c_float)
_F64P = ctypes.POINTER(ctypes.c_double)
_I64P = ctypes.POINTER(ctypes.c_int64)

_BATCH_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_int32, ctypes.c_int64,
                             ctypes.c_void_p)
_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_int, ctypes.c_int32,
                             ctypes.c_int32, ctypes.c_int32, _F64P, ctypes.c_int32)


def _sig(name, restype, *argtypes):
    f = getattr(_lib, name)
    f.restype = restype
    f.argtypes = list(argtypes)


_sig("seqnet_options_new", ctypes.c_int, _P, ctypes.POINTER(_P))
_sig("seqnet_options_free", None, _P)
_sig("seqnet_options_set_int", ctypes.c_int, _P, ctypes.c_int, ctypes.c_int64)
_sig("seqnet_options_set_float", ctypes.c_int, _P, ctypes.c_int, ctypes.c_double)
_sig("seqnet_options_set_string", ctypes.c_int, _P, ctypes.c_int, ctypes.c_char_p)
_sig("seqnet_graph_new", ctypes.c_int, _P, ctypes.POINTER(_P))
_sig("seqnet_graph_free", None, _P)
_sig("seqnet_graph_input_tokens", ctypes.c_int, _P, ctypes.c_int32, ctypes.c_char_p, _I32P)
_sig("seqnet_graph_input_sequence", ctypes.c_int, _P, ctypes.c_int32, ctypes.c_int32,
     ctypes.c_char_p, _I32P)
_sig("seqnet_graph_input_vector", ctypes.c_int, _P, ctypes.c_int32, ctypes.c_char_p, _I32P)
_sig("seqnet_graph_add", ctypes.c_int, _P, ctypes.c_int, _P, _I32P, ctypes.c_int32,
     ctypes.c_char_p, _I32P)
_sig("seqnet_graph_compile", ctypes.c_int, _P, _I32P, ctypes.c_int32, _I32P, ctypes.c_int32,
     ctypes.POINTER(_P))
_sig("seqnet_model_free", None, _P)
_sig("seqnet_model_summary", ctypes.c_int, _P, ctypes.POINTER(ctypes.c_void_p))
_sig("seqnet_model_count_params", ctypes.c_int64, _P, _I64P, _I64P)
_sig("seqnet_model_n_layers", ctypes.c_int32, _P)
_sig("seqnet_model_find_layer", ctypes.c_int32, _P, ctypes.c_char_p)
_sig("seqnet_model_layer_name", ctypes.c_char_p, _P, ctypes.c_int32)
_sig("seqnet_model_layer_kind", ctypes.c_int, _P, ctypes.c_int32)
_sig("seqnet_model_n_outputs", ctypes.c_int32, _P)
_sig("seqnet_options_clear", ctypes.c_int, _P)
_sig("seqnet_model_layer_n_weights", ctypes.c_int32, _P, ctypes.c_int32)
_sig("seqnet_model_weight_info", ctypes.c_int, _P, ctypes.c_int32, ctypes.c_int32,
     ctypes.POINTER(ctypes.c_char_p), _I32P, _I64P, _I64P)
_sig("seqnet_model_get_weight", ctypes.c_int, _P, ctypes.c_int32, ctypes.c_int32, _F32P,
     ctypes.c_int64)
_sig("seqnet_model_set_weight", ctypes.c_int, _P, ctypes.c_int32, ctypes.c_int32, _F32P,
     ctypes.c_int64)
_sig("seqnet_model_output_shape", ctypes.c_int, _P, ctypes.c_int32, _I32P, _I32P)
_sig("seqnet_session_new", ctypes.c_int, _P, ctypes.POINTER(_P))
_sig("seqnet_session_free", None, _P)
_sig("seqnet_session_set_stateful", ctypes.c_int, _P, ctypes.c_int)
_sig("seqnet_session_reset_states", ctypes.c_int, _P)
_sig("seqnet_trainer_reset_states", ctypes.c_int, _P)
_sig("seqnet_session_set_input_tokens", ctypes.c_int, _P, ctypes.c_int32, _I32P, ctypes.c_int32,
     ctypes.c_int32)
_sig("seqnet_session_set_input_floats", ctypes.c_int, _P, ctypes.c_int32, _F32P,
     ctypes.c_int32, ctypes.c_int32, ctypes.c_int32)
_sig("seqnet_session_run", ctypes.c_int, _P)
_sig("seqnet_session_output_shape", ctypes.c_int, _P, ctypes.c_int32, _I32P, _I32P, _I32P)
_sig("seqnet_session_get_output", ctypes.c_int, _P, ctypes.c_int32, _F32P, ctypes.c_int64)
_sig("seqnet_session_predict", ctypes.c_int, _P, _P, ctypes.c_int32, _F32P, ctypes.c_int64,
     ctypes.c_int32)
_sig("seqnet_data_new", ctypes.c_int, _P, ctypes.POINTER(_P))
_sig("seqnet_data_free", None, _P)
_sig("seqnet_data_set_tokens", ctypes.c_int, _P, ctypes.c_int32, _I32P, ctypes.c_int64,
     ctypes.c_int32)
_sig("seqnet_data_set_floats", ctypes.c_int, _P, ctypes.c_int32, _F32P, ctypes.c_int64,
     ctypes.c_int32, ctypes.c_int32)
_sig("seqnet_data_set_targets", ctypes.c_int, _P, ctypes.c_int32, _F32P, ctypes.c_int64,
     ctypes.c_int32, ctypes.c_int32)
_sig("seqnet_data_set_sample_weights", ctypes.c_int, _P, _F32P, ctypes.c_int64)
_sig("seqnet_data_set_generator", ctypes.c_int, _P, ctypes.c_void_p, ctypes.c_void_p)
_sig("seqnet_trainer_new", ctypes.c_int, _P, ctypes.POINTER(_P))
_sig("seqnet_trainer_free", None, _P)
_sig("seqnet_trainer_set_loss", ctypes.c_int, _P, ctypes.c_int32, ctypes.c_int)
_sig("seqnet_trainer_add_metric", ctypes.c_int, _P, ctypes.c_int32, ctypes.c_int)
_sig("seqnet_trainer_set_optimizer", ctypes.c_int, _P, ctypes.c_int)
_sig("seqnet_trainer_set_param", ctypes.c_int, _P, ctypes.c_int, ctypes.c_double)
_sig("seqnet_trainer_set_callback", ctypes.c_int, _P, _CALLBACK, ctypes.c_void_p)
_sig("seqnet_trainer_fit", ctypes.c_int, _P, _P, _P)
_sig("seqnet_trainer_evaluate", ctypes.c_int, _P, _P, _F64P, ctypes.c_int32)
_sig("seqnet_trainer_train_batch", ctypes.c_int, _P, _P, _F64P)
_sig("seqnet_trainer_n_logs", ctypes.c_int32, _P)
_sig("seqnet_trainer_log_name", ctypes.c_char_p, _P, ctypes.c_int32, ctypes.c_int)
_sig("seqnet_trainer_history_len", ctypes.c_int32, _P)
_sig("seqnet_trainer_history_value", ctypes.c_int, _P, ctypes.c_int32, ctypes.c_int32,
     ctypes.c_int, _F64P)

_sig("seqnet_model_n_inputs", ctypes.c_int32, _P)
_sig("seqnet_model_input_shape", ctypes.c_int, _P, ctypes.c_int32, _I32P, _I32P,
     ctypes.POINTER(ctypes.c_int))
_sig("seqnet_saver_new", ctypes.c_int, _P, ctypes.POINTER(_P))
_sig("seqnet_saver_free", None, _P)
_sig("seqnet_saver_set_model", ctypes.c_int, _P, _P)
_sig("seqnet_saver_set_trainer", ctypes.c_int, _P, _P)
_sig("seqnet_saver_add_tokenizer", ctypes.c_int, _P, ctypes.c_char_p, _P)
_sig("seqnet_saver_add_vectorizer", ctypes.c_int, _P, ctypes.c_char_p, _P)
_sig("seqnet_saver_write_alloc", ctypes.c_int, _P, ctypes.POINTER(ctypes.c_void_p),
     ctypes.POINTER(ctypes.c_size_t))
_sig("seqnet_loader_new", ctypes.c_int, _P, ctypes.POINTER(_P))
_sig("seqnet_loader_free", None, _P)
_sig("seqnet_loader_read_buffer", ctypes.c_int, _P, ctypes.c_char_p, ctypes.c_size_t,
     ctypes.c_uint)
_sig("seqnet_loader_take_model", ctypes.c_int, _P, ctypes.POINTER(_P))
_sig("seqnet_loader_has_optimizer", ctypes.c_int, _P)
_sig("seqnet_loader_restore_trainer", ctypes.c_int, _P, _P)
_sig("seqnet_loader_n_texts", ctypes.c_int32, _P)
_sig("seqnet_saver_set_meta", ctypes.c_int, _P, ctypes.c_char_p, ctypes.c_char_p)
_sig("seqnet_loader_n_meta", ctypes.c_int32, _P)
_sig("seqnet_loader_meta", ctypes.c_int, _P, ctypes.c_int32, ctypes.POINTER(ctypes.c_char_p),
     ctypes.POINTER(ctypes.c_char_p))
_sig("seqnet_loader_text_info", ctypes.c_int, _P, ctypes.c_int32,
     ctypes.POINTER(ctypes.c_char_p), ctypes.POINTER(ctypes.c_int))
_sig("seqnet_loader_take_tokenizer", ctypes.c_int, _P, ctypes.c_int32, ctypes.POINTER(_P))
_sig("seqnet_loader_take_vectorizer", ctypes.c_int, _P, ctypes.c_int32, ctypes.POINTER(_P))
_sig("seqnet_trainer_get_param", ctypes.c_int, _P, ctypes.c_int, _F64P)
_sig("seqnet_model_export_safetensors", ctypes.c_int, _P, ctypes.POINTER(ctypes.c_void_p),
     ctypes.POINTER(ctypes.c_size_t))

# Pinned C enum values (include/seqnet/graph.h, train.h).
OPT = dict(units=1, activation=2, use_bias=3, rate=4, input_dim=5, output_dim=6, mask_zero=7,
           seed=8, trainable=9, filters=20, kernel_size=21, strides=22, padding=23,
           dilation_rate=24, pool_size=25, axis=26, momentum=27, epsilon=28, center=29,
           scale=30, gate_bias=31, recurrent_activation=40, return_sequences=41,
           return_state=42, go_backwards=43, stateful=44, unit_forget_bias=45, dropout=46,
           recurrent_dropout=47, reset_after=48, merge_mode=49, layer=50, state_index=51)
_LOSSES = {"binary_crossentropy": 1, "categorical_crossentropy": 3,
           "sparse_categorical_crossentropy": 4, "mean_squared_error": 5, "mse": 5,
           "mean_absolute_error": 6, "mae": 6}
_LOGIT_LOSSES = {1: 2, 3: 7, 4: 8}
_METRICS = {"binary_accuracy": 1, "categorical_accuracy": 2,
            "sparse_categorical_accuracy": 3, "mse": 4, "mean_squared_error": 4, "mae": 5,
            "mean_absolute_error": 5}
_OPTIMIZERS = {"sgd": 1, "adam": 2, "rmsprop": 3, "adagrad": 4}
_TRAIN = dict(learning_rate=1, momentum=2, nesterov=3, beta_1=4, beta_2=5, epsilon=6, rho=7,
              initial_accumulator_value=8, batch_size=20, epochs=21, shuffle=22, seed=23,
              validation_split=24, clipvalue=30, clipnorm=31, global_clipnorm=32,
              loss_reduction=40, threads=50)


# --------------------------------------------------------------------------
# arrays


def _shape_of(x):
    if _np is not None and isinstance(x, _np.ndarray):
        return tuple(x.shape)
    shape = []
    while isinstance(x, (list, tuple)):
        shape.append(len(x))
        if not x:
            break
        x = x[0]
    return tuple(shape)


def _flatten(x):
    if isinstance(x, (list, tuple)):
        out = []
        stack = [iter(x)]
        while stack:
            for v in stack[-1]:
                if isinstance(v, (list, tuple)):
                    stack.append(iter(v))
                    break
                out.append(v)
            else:
                stack.pop()
        return out
    return [x]


def _is_int_data(x):
    if _np is not None and isinstance(x, _np.ndarray):
        return _np.issubdtype(x.dtype, _np.integer)
    flat = _flatten(x)
    return bool(flat) and all(isinstance(v, int) and not isinstance(v, bool) for v in flat[:100])


class _Buf:
    """A contiguous C buffer holding data, kept alive while C borrows it."""

    def __init__(self, x, kind):
        self.shape = _shape_of(x)
        if _np is not None:
            dt = _np.int32 if kind == "i" else _np.float32
            arr = _np.ascontiguousarray(_np.asarray(x, dtype=dt))
            self.shape = arr.shape
            self.keep = arr
            ctype = ctypes.c_int32 if kind == "i" else ctypes.c_float
            self.ptr = arr.ctypes.data_as(ctypes.POINTER(ctype))
        else:
            flat = _flatten(x)
            self.keep = array(kind, [int(v) if kind == "i" else float(v) for v in flat])
            ctype = ctypes.c_int32 if kind == "i" else ctypes.c_float
            addr, _ = self.keep.buffer_info()
            self.ptr = ctypes.cast(addr, ctypes.POINTER(ctype))
        self.n = self.shape[0] if self.shape else 0


def _to_output(flat_ptr, shape):
    count = 1
    for d in shape:
        count *= d
    if _np is not None:
        return _np.ctypeslib.as_array(flat_ptr, shape=(count,)).copy().reshape(shape)
    flat = [flat_ptr[i] for i in range(count)]
    for d in reversed(shape[1:]):
        flat = [flat[i:i + d] for i in range(0, len(flat), d)]
    return flat


# --------------------------------------------------------------------------
# symbolic tensors and layers


class KerasTensor:
    """A symbolic tensor: what calling a layer on an Input gives."""

    def __init__(self, layer, inputs, shape, dtype):
        self.layer = layer          # producing layer (None for Input)
        self.inputs = inputs        # list of KerasTensor
        self.shape = shape          # Keras shape without the batch axis
        self.dtype = dtype
        self.name = None

    def __repr__(self):
        return "<KerasTensor shape=(None, %s) dtype=%s>" % (
            ", ".join("None" if d is None else str(d) for d in self.shape), self.dtype)


def Input(shape, dtype=None, name=None):
    """Keras's Input: shape without the batch axis, e.g. (None,) for token
    sequences of any length, (128, 1) for float sequences, (30,) for vectors.
    dtype 'int32' makes a token input."""
    t = KerasTensor(None, [], tuple(shape), dtype or "float32")
    t.name = name
    return t


class Layer:
    """Base class: a layer records its options; weights live in the C model."""
    _kind = 0
    _count = {}

    def __init__(self, name=None, trainable=True, input_shape=None, input_dim=None,
                 input_length=None, dtype=None, **unused):
        if unused:
            raise TypeError("unexpected arguments for %s: %s"
                            % (type(self).__name__, ", ".join(sorted(unused))))
        self.name = name
        self.trainable = trainable
        self._input_shape = tuple(input_shape) if input_shape is not None else None
        self._model = None
        self._index = None

    def _options(self):
        return []

    def __call__(self, inputs, **kwargs):
        if kwargs:
            raise TypeError("unexpected call arguments: %s" % ", ".join(sorted(kwargs)))
        ins = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        return KerasTensor(self, ins, None, "float32")

    # weights -------------------------------------------------------------
    def _need_model(self):
        if self._model is None or self._index is None:
            raise ValueError("layer %r is not part of a built model yet" % self.name)
        return self._model

    def get_weights(self):
        m = self._need_model()
        return [m._get_weight(self._index, w) for w in range(m._n_weights(self._index))]

    def set_weights(self, weights):
        m = self._need_model()
        n = m._n_weights(self._index)
        if len(weights) != n:
            raise ValueError("layer %s has %d weights, got %d" % (self.name, n, len(weights)))
        for w, value in enumerate(weights):
            m._set_weight(self._index, w, value)

    @property
    def weights(self):
        return self.get_weights()

    def count_params(self):
        return sum(len(_flatten(w.tolist() if hasattr(w, "tolist") else w))
                   for w in self.get_weights())


def _act(a):
    if a is None:
        return "linear"
    if not isinstance(a, str):
        raise TypeError("activations are given by name, e.g. 'relu'")
    return a


class Dense(Layer):
    _kind = 1

    def __init__(self, units, activation=None, use_bias=True, **kw):
        super().__init__(**kw)
        self.units, self.activation, self.use_bias = int(units), _act(activation), use_bias

    def _options(self):
        return [("units", self.units), ("activation", self.activation),
                ("use_bias", int(bool(self.use_bias)))]


class Activation(Layer):
    _kind = 2

    def __init__(self, activation, **kw):
        super().__init__(**kw)
        self.activation = _act(activation)

    def _options(self):
        return [("activation", self.activation)]


class Dropout(Layer):
    _kind = 3

    def __init__(self, rate, seed=None, **kw):
        super().__init__(**kw)
        self.rate, self.seed = float(rate), seed

    def _options(self):
        o = [("rate", self.rate)]
        if self.seed is not None:
            o.append(("seed", int(self.seed)))
        return o


class Embedding(Layer):
    _kind = 4

    def __init__(self, input_dim, output_dim, mask_zero=False, input_length=None, **kw):
        super().__init__(**kw)
        self.input_dim, self.output_dim = int(input_dim), int(output_dim)
        self.mask_zero, self.input_length = bool(mask_zero), input_length

    def _options(self):
        return [("input_dim", self.input_dim), ("output_dim", self.output_dim),
                ("mask_zero", int(self.mask_zero))]


class Flatten(Layer):
    _kind = 5


class GlobalAveragePooling1D(Layer):
    _kind = 6


class GlobalMaxPooling1D(Layer):
    _kind = 7


class _Namespace:
    pass


layers = _Namespace()
for _cls in (Layer, Dense, Activation, Dropout, Embedding, Flatten, GlobalAveragePooling1D,
             GlobalMaxPooling1D):
    setattr(layers, _cls.__name__, _cls)
layers.Input = Input
layers.GlobalAvgPool1D = GlobalAveragePooling1D
layers.GlobalMaxPool1D = GlobalMaxPooling1D


_KIND_CLASSES = {}


def register_layer(cls):
    """Make a Layer subclass available as seqnet.layers.<Name> (later rooms)."""
    setattr(layers, cls.__name__, cls)
    if cls._kind and cls._kind not in _KIND_CLASSES:
        _KIND_CLASSES[cls._kind] = cls
    return cls


for _cls in (Dense, Activation, Dropout, Embedding, Flatten, GlobalAveragePooling1D,
             GlobalMaxPooling1D):
    register_layer(_cls)


# --------------------------------------------------------------------------
# optimizers, losses, callbacks


class Optimizer:
    _kind = 0

    def __init__(self, learning_rate, clipnorm=None, clipvalue=None, global_clipnorm=None,
                 **params):
        self.learning_rate = learning_rate
        self.params = dict(params)
        self.clip = dict(clipnorm=clipnorm, clipvalue=clipvalue,
                         global_clipnorm=global_clipnorm)

    def _apply(self, trainer):
        _check(_lib.seqnet_trainer_set_optimizer(trainer, self._kind), trainer)
        vals = dict(self.params, learning_rate=self.learning_rate)
        for k, v in vals.items():
            if v is not None:
                _check(_lib.seqnet_trainer_set_param(trainer, _TRAIN[k], float(v)), trainer)
        for k, v in self.clip.items():
            if v is not None:
                _check(_lib.seqnet_trainer_set_param(trainer, _TRAIN[k], float(v)), trainer)


class SGD(Optimizer):
    _kind = 1

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, **kw):
        super().__init__(learning_rate, momentum=momentum, nesterov=int(bool(nesterov)), **kw)


class Adam(Optimizer):
    _kind = 2

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, **kw):
        super().__init__(learning_rate, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon, **kw)


class RMSprop(Optimizer):
    _kind = 3

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, **kw):
        super().__init__(learning_rate, rho=rho, momentum=momentum, epsilon=epsilon, **kw)


class Adagrad(Optimizer):
    _kind = 4

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7, **kw):
        super().__init__(learning_rate, initial_accumulator_value=initial_accumulator_value,
                         epsilon=epsilon, **kw)


optimizers = _Namespace()
for _cls in (Optimizer, SGD, Adam, RMSprop, Adagrad):
    setattr(optimizers, _cls.__name__, _cls)


def _optimizer(opt):
    if isinstance(opt, Optimizer):
        return opt
    if isinstance(opt, str) and opt.lower() in _OPTIMIZERS:
        return {"sgd": SGD, "adam": Adam, "rmsprop": RMSprop, "adagrad": Adagrad}[opt.lower()]()
    raise ValueError("unknown optimizer %r" % (opt,))


class _Loss:
    def __init__(self, name, from_logits=False):
        self.id = _LOSSES[name]
        if from_logits:
            self.id = _LOGIT_LOSSES[self.id]
        self.name = name


losses = _Namespace()
losses.BinaryCrossentropy = lambda from_logits=False: _Loss("binary_crossentropy", from_logits)
losses.CategoricalCrossentropy = (
    lambda from_logits=False: _Loss("categorical_crossentropy", from_logits))
losses.SparseCategoricalCrossentropy = (
    lambda from_logits=False: _Loss("sparse_categorical_crossentropy", from_logits))
losses.MeanSquaredError = lambda: _Loss("mean_squared_error")
losses.MeanAbsoluteError = lambda: _Loss("mean_absolute_error")


def _loss_id(loss):
    if isinstance(loss, _Loss):
        return loss.id
    if isinstance(loss, str) and loss in _LOSSES:
        return _LOSSES[loss]
    raise ValueError("unknown loss %r" % (loss,))


class Callback:
    """Keras-style callback: override on_epoch_end(epoch, logs) and/or
    on_batch_end(batch, logs); set self.model.stop_training = True to stop."""
    model = None

    def on_epoch_end(self, epoch, logs=None):
        pass

    def on_batch_end(self, batch, logs=None):
        pass


class EarlyStopping(Callback):
    def __init__(self, monitor="val_loss", min_delta=0.0, patience=0, mode="auto",
                 restore_best_weights=False, start_from_epoch=0):
        self.monitor, self.min_delta, self.patience = monitor, abs(min_delta), patience
        self.mode = mode
        # Keras 2.11: the first start_from_epoch epochs are a warm-up that is
        # neither monitored nor counted (no best, no wait, no stop)
        self.start_from_epoch = int(start_from_epoch)
        self.restore_best_weights = restore_best_weights
        self.best = None
        self.best_epoch = 0         # Keras 2.11: the monitored best, 0-based
        self.wait = 0
        self.best_weights = None
        self.stopped_epoch = 0

    def _better(self, a, b):
        mode = self.mode
        if mode == "auto":
            mode = "max" if "acc" in self.monitor else "min"
        return a > b + self.min_delta if mode == "max" else a < b - self.min_delta

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is None or epoch < self.start_from_epoch:
            return
        if self.best is None or self._better(value, self.best):
            self.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            return
        self.wait += 1
        # Keras: stop once `patience` epochs in a row brought no improvement
        if self.wait >= self.patience:
            self.stopped_epoch = epoch
            self.model.stop_training = True
            if self.restore_best_weights and self.best_weights is not None:
                self.model.set_weights(self.best_weights)


class LambdaCallback(Callback):
    def __init__(self, on_epoch_end=None, on_batch_end=None):
        self._epoch, self._batch = on_epoch_end, on_batch_end

    def on_epoch_end(self, epoch, logs=None):
        if self._epoch:
            self._epoch(epoch, logs)

    def on_batch_end(self, batch, logs=None):
        if self._batch:
            self._batch(batch, logs)


callbacks = _Namespace()
for _cls in (Callback, EarlyStopping, LambdaCallback):
    setattr(callbacks, _cls.__name__, _cls)


class History:
    def __init__(self):
        self.history = {}
        self.epoch = []


# --------------------------------------------------------------------------
# models


def _input_kind(t, consumers):
    """C input kind for a symbolic Input: tokens, sequence or vector."""
    shape = t.shape
    feeds_embedding = any(isinstance(c, Embedding) for c in consumers)
    if (t.dtype and "int" in str(t.dtype)) or feeds_embedding:
        if len(shape) != 1:
            raise ValueError("token inputs have shape (time,), got %r" % (shape,))
        return "tokens", shape[0] or 0, 1
    if len(shape) == 1:
        return "vector", None, shape[0]
    if len(shape) == 2:
        return "sequence", shape[0] or 0, shape[1]
    raise ValueError("inputs have rank 1 or 2 (without batch), got %r" % (shape,))


class Model:
    """A compiled seqnet model built from symbolic inputs and outputs."""

    def __init__(self, inputs=None, outputs=None, name=None):
        self.name = name or "model"
        self._handle = None
        self._trainer = None
        self._session = None
        self.stop_training = False
        self.layers = []
        self._metric_names = []
        self._keep = []
        if inputs is not None:
            self._build(inputs, outputs)

    # building ------------------------------------------------------------
    def _build(self, inputs, outputs):
        ins = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        outs = list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]
        self._single_output = not isinstance(outputs, (list, tuple))
        order, seen = [], set()

        def visit(t):
            if id(t) in seen:
                return
            for i in t.inputs:
                visit(i)
            seen.add(id(t))
            order.append(t)
        for t in outs:
            visit(t)
        for t in ins:
            if id(t) not in seen:
                seen.add(id(t))
                order.insert(0, t)
        consumers = {}
        for t in order:
            for i in t.inputs:
                consumers.setdefault(id(i), []).append(t.layer)
        g = _P()
        _check(_lib.seqnet_graph_new(_s._context.handle, ctypes.byref(g)), _s._context.handle)
        opts = _P()
        try:
            _check(_lib.seqnet_options_new(_s._context.handle, ctypes.byref(opts)),
                   _s._context.handle)
            node_of = {}
            self._input_kinds = []
            for t in order:
                node = ctypes.c_int32()
                name = t.name.encode() if t.name else None
                if t.layer is None:
                    if not any(t is i for i in ins):
                        raise ValueError("an Input the outputs depend on is not in inputs")
                    kind, time, feat = _input_kind(t, consumers.get(id(t), []))
                    if kind == "tokens":
                        st = _lib.seqnet_graph_input_tokens(g, time, name, ctypes.byref(node))
                    elif kind == "sequence":
                        st = _lib.seqnet_graph_input_sequence(g, time, feat, name,
                                                              ctypes.byref(node))
                    else:
                        st = _lib.seqnet_graph_input_vector(g, feat, name, ctypes.byref(node))
                    _check(st, g)
                    node_of[id(t)] = node.value
                    continue
                L = t.layer
                _check(_lib.seqnet_options_clear(opts), opts)
                for key, value in L._options():
                    k = OPT[key]
                    if isinstance(value, str):
                        _check(_lib.seqnet_options_set_string(opts, k, value.encode()), opts)
                    elif isinstance(value, float):
                        _check(_lib.seqnet_options_set_float(opts, k, value), opts)
                    else:
                        _check(_lib.seqnet_options_set_int(opts, k, int(value)), opts)
                if not L.trainable:
                    _check(_lib.seqnet_options_set_int(opts, OPT["trainable"], 0), opts)
                ids = (ctypes.c_int32 * len(t.inputs))(*[node_of[id(i)] for i in t.inputs])
                lname = L.name.encode() if L.name else None
                _check(_lib.seqnet_graph_add(g, L._kind, opts, ids, len(t.inputs), lname,
                                             ctypes.byref(node)), g)
                node_of[id(t)] = node.value
            in_ids = (ctypes.c_int32 * len(ins))(*[node_of[id(t)] for t in ins])
            out_ids = (ctypes.c_int32 * len(outs))(*[node_of[id(t)] for t in outs])
            m = _P()
            _check(_lib.seqnet_graph_compile(g, in_ids, len(ins), out_ids, len(outs),
                                             ctypes.byref(m)), g)
            self._handle = m
        finally:
            _lib.seqnet_options_free(opts)
            _lib.seqnet_graph_free(g)
        self._inputs = ins
        self._input_is_tokens = [
            _input_kind(t, consumers.get(id(t), []))[0] == "tokens" for t in ins]
        self._input_is_vector = [
            _input_kind(t, consumers.get(id(t), []))[0] == "vector" for t in ins]
        self.layers = []
        for t in order:
            if t.layer is not None and t.layer not in self.layers:
                self.layers.append(t.layer)
        for L in self.layers:
            L._model = self
            L._index = None
        # C layer names are unique; map each Python layer to its C index.
        names = []
        for i in range(_lib.seqnet_model_n_layers(self._handle)):
            names.append(_lib.seqnet_model_layer_name(self._handle, i).decode())
        c_layers = [i for i in range(len(names))
                    if _lib.seqnet_model_layer_kind(self._handle, i) > 0]
        for L, ci in zip(self.layers, c_layers):
            L._index = ci
            L.name = names[ci]

    @property
    def built(self):
        return self._handle is not None

    def _need_built(self):
        if self._handle is None:
            raise ValueError("the model is not built yet: give it an input shape, or call "
                             "fit/predict once")

    def __del__(self):
        try:
            if self._trainer:
                _lib.seqnet_trainer_free(self._trainer)
            if self._session:
                _lib.seqnet_session_free(self._session)
            if self._handle:
                _lib.seqnet_model_free(self._handle)
        except Exception:  # interpreter shutdown
            pass

    # introspection -------------------------------------------------------
    def summary_string(self):
        self._need_built()
        p = ctypes.c_void_p()
        _check(_lib.seqnet_model_summary(self._handle, ctypes.byref(p)), self._handle)
        try:
            text = ctypes.string_at(p.value).decode()
        finally:
            _lib.seqnet_free(p)
        if self.name not in ("model", "sequential"):
            text = text.replace('"model"', '"%s"' % self.name, 1)
            text = text.replace('"sequential"', '"%s"' % self.name, 1)
        return text

    def summary(self, print_fn=print):
        print_fn(self.summary_string())

    def count_params(self):
        self._need_built()
        return int(_lib.seqnet_model_count_params(self._handle, None, None))

    def get_layer(self, name=None, index=None):
        if index is not None:
            return self.layers[index]
        for L in self.layers:
            if L.name == name:
                return L
        raise ValueError("no layer named %r" % (name,))

    def _n_weights(self, layer):
        return _lib.seqnet_model_layer_n_weights(self._handle, layer)

    def _weight_shape(self, layer, w):
        rank = ctypes.c_int32()
        dims = (ctypes.c_int64 * 4)()
        count = ctypes.c_int64()
        _check(_lib.seqnet_model_weight_info(self._handle, layer, w, None, ctypes.byref(rank),
                                             dims, ctypes.byref(count)), self._handle)
        return tuple(dims[i] for i in range(rank.value)), count.value

    def _get_weight(self, layer, w):
        shape, count = self._weight_shape(layer, w)
        buf = (ctypes.c_float * count)()
        _check(_lib.seqnet_model_get_weight(self._handle, layer, w, buf, count), self._handle)
        return _to_output(buf, shape)

    def _set_weight(self, layer, w, value):
        shape, count = self._weight_shape(layer, w)
        b = _Buf(value, "f")
        if tuple(b.shape) != tuple(shape):
            raise ValueError("weight %d of layer %d has shape %r, got %r"
                             % (w, layer, shape, tuple(b.shape)))
        _check(_lib.seqnet_model_set_weight(self._handle, layer, w, b.ptr, count), self._handle)

    def get_weights(self):
        self._need_built()
        return [w for L in self.layers for w in L.get_weights()]

    def set_weights(self, weights):
        self._need_built()
        weights = list(weights)
        for L in self.layers:
            n = self._n_weights(L._index)
            L.set_weights(weights[:n])
            weights = weights[n:]
        if weights:
            raise ValueError("too many weights given")

    # compile / data --------------------------------------------------------
    def compile(self, optimizer="rmsprop", loss=None, metrics=None, loss_reduction=None,
                threads=None):
        """threads: training threads (seqnet's SEQNET_TRAIN_THREADS; default 1).
        With more than one, each step splits its batch over that many threads,
        and so does evaluate() (and fit's validation); set
        OPENBLAS_NUM_THREADS=1 then. A model whose sequence work is all in
        Embedding -> GlobalAveragePooling1D (the course's pooled model)
        shares each step's work instead, with one thread's results bit for
        bit. fit(threads=) changes it later."""
        self._compile_args = (optimizer, loss, metrics, loss_reduction)
        self._train_threads = threads
        if self._handle is not None:
            self._make_trainer()

    def _set_threads(self, t, threads):
        if threads is not None:
            self._train_threads = threads
        if getattr(self, "_train_threads", None) is not None:
            _check(_lib.seqnet_trainer_set_param(t, _TRAIN["threads"],
                                                 float(self._train_threads)), t)

    def _make_trainer(self):
        optimizer, loss, metrics, reduction = self._compile_args
        if self._trainer:
            _lib.seqnet_trainer_free(self._trainer)
            self._trainer = None
        t = _P()
        _check(_lib.seqnet_trainer_new(self._handle, ctypes.byref(t)), self._handle)
        self._trainer = t
        loss_list = loss if isinstance(loss, (list, tuple)) else [loss]
        if loss is None:
            raise ValueError("compile needs a loss")
        ids = [_loss_id(x) for x in loss_list]
        for o, lid in enumerate(ids):
            _check(_lib.seqnet_trainer_set_loss(t, o, lid), t)
        self._optimizer = _optimizer(optimizer)
        self._optimizer._apply(t)
        if reduction is not None:
            r = {"mean": 0, "sum_over_steps": 1}.get(reduction, reduction)
            _check(_lib.seqnet_trainer_set_param(t, _TRAIN["loss_reduction"], float(r)), t)
        self._set_threads(t, None)
        self._metric_names = []
        for m in (metrics or []):
            name = m if isinstance(m, str) else getattr(m, "name", None)
            mid = None
            if name in ("accuracy", "acc"):
                mid = {1: 1, 2: 1, 3: 2, 7: 2, 4: 3, 8: 3}.get(ids[0], 1)
            elif name in _METRICS:
                mid = _METRICS[name]
            if mid is None:
                raise ValueError("unknown metric %r" % (m,))
            _check(_lib.seqnet_trainer_add_metric(t, 0, mid), t)
            self._metric_names.append(name)

    def _ensure_built_for(self, x):
        if self._handle is None:
            raise ValueError("the model has no inputs")

    def _xs(self, x):
        xs = list(x) if isinstance(x, (list, tuple)) and len(self._inputs) > 1 else [x]
        if len(xs) != len(self._inputs):
            raise ValueError("the model has %d inputs, got %d" % (len(self._inputs), len(xs)))
        return xs

    def _data(self, x, y=None, sample_weight=None):
        d = _P()
        _check(_lib.seqnet_data_new(_s._context.handle, ctypes.byref(d)), _s._context.handle)
        try:
            keep = self._fill_data(d, x, y, sample_weight)
        except Exception:
            _lib.seqnet_data_free(d)
            raise
        return d, keep

    def _fill_data(self, d, x, y=None, sample_weight=None):
        """Point a seqnet_data at (copies of) x, y and weights; returns the
        buffers that must stay alive while C borrows them."""
        keep = []
        for k, xk in enumerate(self._xs(x)):
            if self._input_is_tokens[k]:
                b = _Buf(xk, "i")
                if len(b.shape) != 2:
                    raise ValueError("token input %d must be 2-D (samples, time), got %r"
                                     % (k, b.shape))
                _check(_lib.seqnet_data_set_tokens(d, k, b.ptr, b.shape[0], b.shape[1]), d)
            else:
                b = _Buf(xk, "f")
                if self._input_is_vector[k]:
                    if len(b.shape) != 2:
                        raise ValueError("vector input %d must be 2-D, got %r" % (k, b.shape))
                    st = _lib.seqnet_data_set_floats(d, k, b.ptr, b.shape[0], 0, b.shape[1])
                else:
                    if len(b.shape) != 3:
                        raise ValueError("sequence input %d must be 3-D, got %r"
                                         % (k, b.shape))
                    st = _lib.seqnet_data_set_floats(d, k, b.ptr, b.shape[0], b.shape[1],
                                                     b.shape[2])
                _check(st, d)
            keep.append(b)
        if y is not None:
            ys = list(y) if isinstance(y, (list, tuple)) and not self._single_output and \
                len(y) == len(self._out_shapes()) else [y]
            for o, yo in enumerate(ys):
                b = _Buf(yo, "f")
                time, _ = self._out_shapes()[o]
                shp = tuple(b.shape)
                if time == -1:
                    width = shp[1] if len(shp) == 2 else 1
                    st = _lib.seqnet_data_set_targets(d, o, b.ptr, shp[0], 0, width)
                else:
                    width = shp[2] if len(shp) == 3 else 1
                    st = _lib.seqnet_data_set_targets(d, o, b.ptr, shp[0], shp[1], width)
                _check(st, d)
                keep.append(b)
        if sample_weight is not None:
            b = _Buf(sample_weight, "f")
            _check(_lib.seqnet_data_set_sample_weights(d, b.ptr, b.shape[0]), d)
            keep.append(b)
        return keep

    def _generator_data(self, gen, steps_per_epoch):
        """A seqnet_data whose batches come from a Python iterator yielding
        (x, y) or (x, y, sample_weight), as Keras's fit accepts."""
        d = _P()
        _check(_lib.seqnet_data_new(_s._context.handle, ctypes.byref(d)), _s._context.handle)
        state = {"keep": None, "error": None, "it": iter(gen)}

        def next_batch(user, epoch, index, batch):
            try:
                if steps_per_epoch is not None and index >= steps_per_epoch:
                    return 0
                try:
                    item = next(state["it"])
                except StopIteration:
                    if steps_per_epoch is None:
                        return 0
                    raise ValueError("the generator ran out before steps_per_epoch batches")
                x, y = item[0], item[1]
                w = item[2] if len(item) > 2 else None
                state["keep"] = self._fill_data(batch, x, y, w)
                return 1
            except Exception as exc:  # reported after fit returns
                state["error"] = exc
                return -1
        fn = _BATCH_FN(next_batch)
        state["fn"] = fn
        _check(_lib.seqnet_data_set_generator(d, fn, None), d)
        return d, state

    def _out_shapes(self):
        n = _lib.seqnet_model_n_outputs(self._handle)
        res = []
        for o in range(n):
            t, f = ctypes.c_int32(), ctypes.c_int32()
            _check(_lib.seqnet_model_output_shape(self._handle, o, ctypes.byref(t),
                                                  ctypes.byref(f)), self._handle)
            res.append((t.value, f.value))
        return res

    def _need_trainer(self):
        if self._trainer is None:
            if not hasattr(self, "_compile_args"):
                raise ValueError("call compile() before fit/evaluate")
            self._make_trainer()
        return self._trainer

    def _log_names(self, validation):
        t = self._trainer
        names = []
        for i in range(_lib.seqnet_trainer_n_logs(t)):
            if i == 0:
                names.append("val_loss" if validation else "loss")
            else:
                n = self._metric_names[i - 1]
                names.append(("val_" if validation else "") + n)
        return names

    # training ---------------------------------------------------------------
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, sample_weight=None,
            seed=None, steps_per_epoch=None, threads=None):
        """Keras's fit; threads= as in compile()."""
        gen_state = None
        if y is None and x is not None and not isinstance(x, (list, tuple)) and \
                not (_np is not None and isinstance(x, _np.ndarray)) and hasattr(x, "__iter__"):
            if threads is not None:
                self._set_threads(self._need_trainer(), threads)
            return self._fit_generator(x, epochs, verbose, callbacks, validation_data,
                                       steps_per_epoch)
        self._ensure_built_for(x)
        t = self._need_trainer()
        self._set_threads(t, threads)
        batch_size = 32 if batch_size is None else batch_size
        for k, v in (("batch_size", batch_size), ("epochs", epochs),
                     ("shuffle", 1 if shuffle else 0), ("validation_split", validation_split)):
            _check(_lib.seqnet_trainer_set_param(t, _TRAIN[k], float(v)), t)
        if seed is not None:
            _check(_lib.seqnet_trainer_set_param(t, _TRAIN["seed"], float(seed)), t)
        data, keep = self._data(x, y, sample_weight)
        n_train = int(_shape_of(self._xs(x)[0])[0])
        if validation_data is None and validation_split:
            n_train = int(math.floor(n_train * (1.0 - validation_split)))
        return self._run_fit(t, data, keep, gen_state, epochs, verbose, callbacks,
                             validation_data, (n_train + batch_size - 1) // batch_size)

    def _fit_generator(self, gen, epochs, verbose, callbacks, validation_data, steps):
        """fit() on a Python iterator of batches (data larger than memory)."""
        if self._handle is None:
            raise ValueError("build the model (give it an input shape) before fitting a "
                             "generator")
        t = self._need_trainer()
        _check(_lib.seqnet_trainer_set_param(t, _TRAIN["epochs"], float(epochs)), t)
        data, state = self._generator_data(gen, steps)
        return self._run_fit(t, data, [], state, epochs, verbose, callbacks, validation_data,
                             steps or 0)

    def _run_fit(self, t, data, keep, gen_state, epochs, verbose, callbacks, validation_data,
                 n_batches):
        val = None
        if validation_data is not None:
            vx, vy = validation_data[0], validation_data[1]
            vw = validation_data[2] if len(validation_data) > 2 else None
            val, vkeep = self._data(vx, vy, vw)
            keep.extend(vkeep)
        cbs = list(callbacks or [])
        for cb in cbs:
            cb.model = self
        self.stop_training = False
        names = self._log_names(False)
        vnames = self._log_names(True)
        verbose = 1 if verbose == "auto" else verbose
        history = History()
        errors = []

        def on_event(user, event, epoch, batch, nb, logs, n_logs):
            try:
                values = [logs[i] for i in range(n_logs)]
                if event == 1:
                    d = dict(zip(names, values))
                    for cb in cbs:
                        cb.on_batch_end(batch, d)
                    if verbose == 1:
                        _progress(epoch, batch + 1, nb if nb > 0 else n_batches, d,
                                  self._epochs_total)
                else:
                    d = dict(zip(names + vnames, values))
                    history.epoch.append(len(history.epoch))
                    for k, v in d.items():
                        history.history.setdefault(k, []).append(v)
                    if verbose:
                        _epoch_line(epoch, self._epochs_total, d, verbose)
                    for cb in cbs:
                        cb.on_epoch_end(epoch, d)
                return 1 if self.stop_training else 0
            except Exception as exc:  # surface Python errors after fit returns
                errors.append(exc)
                return -1
        self._epochs_total = epochs
        cfn = _CALLBACK(on_event)
        _check(_lib.seqnet_trainer_set_callback(t, cfn, None), t)
        try:
            st = _lib.seqnet_trainer_fit(t, data, val)
        finally:
            _lib.seqnet_trainer_set_callback(t, _CALLBACK(), None)
            _lib.seqnet_data_free(data)
            if val:
                _lib.seqnet_data_free(val)
        if errors:
            raise errors[0]
        if gen_state is not None and gen_state["error"] is not None:
            raise gen_state["error"]
        _check(st, t)
        self.history = history
        return history

    def train_on_batch(self, x, y, sample_weight=None):
        t = self._need_trainer()
        data, keep = self._data(x, y, sample_weight)
        loss = ctypes.c_double()
        try:
            _check(_lib.seqnet_trainer_train_batch(t, data, ctypes.byref(loss)), t)
        finally:
            _lib.seqnet_data_free(data)
        return loss.value

    def evaluate(self, x=None, y=None, batch_size=None, verbose=0, sample_weight=None,
                 return_dict=False):
        t = self._need_trainer()
        _check(_lib.seqnet_trainer_set_param(t, _TRAIN["batch_size"],
                                             float(batch_size or 32)), t)
        data, keep = self._data(x, y, sample_weight)
        n = _lib.seqnet_trainer_n_logs(t)
        logs = (ctypes.c_double * n)()
        try:
            _check(_lib.seqnet_trainer_evaluate(t, data, logs, n), t)
        finally:
            _lib.seqnet_data_free(data)
        values = [logs[i] for i in range(n)]
        if return_dict:
            return dict(zip(self._log_names(False), values))
        return values[0] if n == 1 else values

    def predict(self, x, batch_size=None, verbose=0):
        self._ensure_built_for(x)
        if self._session is None:
            s = _P()
            _check(_lib.seqnet_session_new(self._handle, ctypes.byref(s)), self._handle)
            self._session = s
        data, keep = self._data(x)
        n = int(_shape_of(self._xs(x)[0])[0])
        outs = []
        try:
            for o, (time, feat) in enumerate(self._out_shapes()):
                if time == -1:
                    shape = (n, feat)
                else:
                    xt = _shape_of(self._xs(x)[0])
                    steps = time if time > 0 else xt[1]
                    shape = (n, steps, feat)
                count = 1
                for dim in shape:
                    count *= dim
                buf = (ctypes.c_float * count)()
                _check(_lib.seqnet_session_predict(self._session, data, o, buf, count,
                                                   int(batch_size or 32)), self._session)
                outs.append(_to_output(buf, shape))
        finally:
            _lib.seqnet_data_free(data)
        return outs[0] if self._single_output else outs

    def __call__(self, x):
        return self.predict(x)

    def reset_states(self):
        """Forget the state carried by stateful recurrent layers (Keras's
        model.reset_states()), in prediction and in training."""
        if self._session:
            _check(_lib.seqnet_session_reset_states(self._session), self._session)
        if self._trainer:
            _check(_lib.seqnet_trainer_reset_states(self._trainer), self._trainer)

    def stream(self):
        """A step-by-step reader for a single-input model: feed a message
        token by token (or chunk by chunk) and read the output after each
        feed; it equals predict() on the tokens fed so far. Each stream has
        its own session (one per thread)."""
        self._need_built()
        return Stream(self)

    # persistence --------------------------------------------------------------
    def to_bytes(self, include_optimizer=True, texts=None, metadata=None):
        """The model as seqnet file bytes. With include_optimizer (Keras's
        default) a compiled model keeps its optimizer state, loss and
        metrics, so a loaded copy continues fit exactly. texts: a dict of
        name -> Tokenizer / CountVectorizer / TfidfVectorizer /
        HashingVectorizer to store alongside. metadata: a dict of str -> str
        (an input schema, a note) read back as loaded_model.metadata."""
        self._need_built()
        sv = _P()
        _check(_lib.seqnet_saver_new(_s._context.handle, ctypes.byref(sv)), _s._context.handle)
        try:
            _check(_lib.seqnet_saver_set_model(sv, self._handle), sv)
            if include_optimizer and hasattr(self, "_compile_args"):
                _check(_lib.seqnet_saver_set_trainer(sv, self._need_trainer()), sv)
            for key, value in (metadata or {}).items():
                _check(_lib.seqnet_saver_set_meta(sv, str(key).encode(), str(value).encode()), sv)
            for name, obj in (texts or {}).items():
                fn = (_lib.seqnet_saver_add_tokenizer if type(obj).__name__ == "Tokenizer"
                      else _lib.seqnet_saver_add_vectorizer)
                _check(fn(sv, name.encode(), obj._h), sv)
            p, n = ctypes.c_void_p(), ctypes.c_size_t()
            _check(_lib.seqnet_saver_write_alloc(sv, ctypes.byref(p), ctypes.byref(n)), sv)
            try:
                return ctypes.string_at(p.value, n.value)
            finally:
                _lib.seqnet_free(p)
        finally:
            _lib.seqnet_saver_free(sv)

    def save(self, filepath, include_optimizer=True, texts=None, metadata=None):
        """Write the model to a file (Python does the I/O; the library never
        opens files)."""
        data = self.to_bytes(include_optimizer=include_optimizer, texts=texts,
                             metadata=metadata)
        with open(filepath, "wb") as f:
            f.write(data)

    def export_safetensors(self, path=None):
        """The weights in the safetensors layout (tensors named
        "<layer>/<weight>", Keras shapes, float32), for tools such as the
        safetensors package. Returns the bytes, or writes them to `path`
        (Python does the I/O) and returns None. Weights only: load the model
        itself from a file written by save()."""
        self._need_built()
        p, n = ctypes.c_void_p(), ctypes.c_size_t()
        _check(_lib.seqnet_model_export_safetensors(self._handle, ctypes.byref(p),
                                                    ctypes.byref(n)))
        try:
            data = ctypes.string_at(p.value, n.value)
        finally:
            _lib.seqnet_free(p)
        if path is None:
            return data
        with open(path, "wb") as f:
            f.write(data)
        return None

    @classmethod
    def _from_loader(cls, loader):
        m = _P()
        _check(_lib.seqnet_loader_take_model(loader, ctypes.byref(m)), loader)
        self = Model()
        self._handle = m
        n_in = _lib.seqnet_model_n_inputs(m)
        self._inputs = []
        self._input_is_tokens, self._input_is_vector = [], []
        for k in range(n_in):
            t, f, tok = ctypes.c_int32(), ctypes.c_int32(), ctypes.c_int()
            _check(_lib.seqnet_model_input_shape(m, k, ctypes.byref(t), ctypes.byref(f),
                                                 ctypes.byref(tok)), m)
            shape = (f.value,) if t.value == -1 else ((t.value or None,) if tok.value
                                                     else (t.value or None, f.value))
            self._inputs.append(Input(shape, dtype="int32" if tok.value else "float32"))
            self._input_is_tokens.append(bool(tok.value))
            self._input_is_vector.append(t.value == -1)
        self._single_output = _lib.seqnet_model_n_outputs(m) == 1
        self.layers = []
        for i in range(_lib.seqnet_model_n_layers(m)):
            kind = _lib.seqnet_model_layer_kind(m, i)
            if kind <= 0:
                continue
            layer_cls = _KIND_CLASSES.get(kind, Layer)
            L = Layer.__new__(layer_cls)
            Layer.__init__(L, name=_lib.seqnet_model_layer_name(m, i).decode())
            L._model, L._index = self, i
            self.layers.append(L)
        if _lib.seqnet_loader_has_optimizer(loader):
            t = _P()
            _check(_lib.seqnet_trainer_new(m, ctypes.byref(t)), m)
            self._trainer = t
            _check(_lib.seqnet_loader_restore_trainer(loader, t), t)
            self._metric_names = [
                _lib.seqnet_trainer_log_name(t, i, 0).decode()
                for i in range(1, _lib.seqnet_trainer_n_logs(t))]
            self._compile_args = ("restored", None, None, None)
        self.metadata = {}
        for i in range(_lib.seqnet_loader_n_meta(loader)):
            key, value = ctypes.c_char_p(), ctypes.c_char_p()
            _check(_lib.seqnet_loader_meta(loader, i, ctypes.byref(key), ctypes.byref(value)),
                   loader)
            self.metadata[key.value.decode()] = value.value.decode()
        self.texts = {}
        for i in range(_lib.seqnet_loader_n_texts(loader)):
            name, kind = ctypes.c_char_p(), ctypes.c_int()
            _check(_lib.seqnet_loader_text_info(loader, i, ctypes.byref(name),
                                                ctypes.byref(kind)), loader)
            self.texts[name.value.decode()] = _take_text(loader, i, kind.value)
        return self


def _take_text(loader, index, kind):
    """Wrap a text object held by a loader in the text binding's class (by
    its own byte form, so the text room stays the only one that knows how
    to rebuild its Python objects)."""
    h = _P()
    p, n = ctypes.c_void_p(), ctypes.c_size_t()
    if kind == 1:
        _check(_lib.seqnet_loader_take_tokenizer(loader, index, ctypes.byref(h)), loader)
        save, free, cls = _lib.seqnet_tokenizer_save, _lib.seqnet_tokenizer_free, _s.Tokenizer
    else:
        _check(_lib.seqnet_loader_take_vectorizer(loader, index, ctypes.byref(h)), loader)
        save, free, cls = _lib.seqnet_vectorizer_save, _lib.seqnet_vectorizer_free, None
    try:
        save.argtypes = [_P, ctypes.POINTER(ctypes.c_void_p), ctypes.POINTER(ctypes.c_size_t)]
        _check(save(h, ctypes.byref(p), ctypes.byref(n)), h)
        data = ctypes.string_at(p.value, n.value)
        _lib.seqnet_free(p)
    finally:
        free.argtypes = [_P]
        free(h)
    if cls is not None:
        return cls.from_bytes(data)
    return _s.CountVectorizer.from_bytes(data)  # from_bytes picks the right class


def load_model_from_bytes(data):
    """A Model from seqnet file bytes (as written by Model.to_bytes/save).
    A model saved compiled comes back compiled, ready to continue fit."""
    data = bytes(data)
    ld = _P()
    _check(_lib.seqnet_loader_new(_s._context.handle, ctypes.byref(ld)), _s._context.handle)
    try:
        _check(_lib.seqnet_loader_read_buffer(ld, data, len(data), 0), ld)
        return Model._from_loader(ld)
    finally:
        _lib.seqnet_loader_free(ld)


def load_model(filepath):
    """Read a model file written by Model.save (Python reads the file)."""
    with open(filepath, "rb") as f:
        return load_model_from_bytes(f.read())


class Stream:
    """Step-by-step inference on one model (see Model.stream)."""

    def __init__(self, model):
        if len(model._inputs) != 1:
            raise ValueError("streams read single-input models")
        self._model = model
        s = _P()
        _check(_lib.seqnet_session_new(model._handle, ctypes.byref(s)), model._handle)
        self._h = s
        _check(_lib.seqnet_session_set_stateful(s, 1), s)

    def __del__(self):
        if getattr(self, "_h", None):
            _lib.seqnet_session_free(self._h)
            self._h = None

    def reset(self):
        """Start a new message."""
        _check(_lib.seqnet_session_reset_states(self._h), self._h)

    def feed(self, chunk):
        """Feed the next token ids (an int, a list or a 1-D array; for a float
        sequence model, a list of feature vectors) and return the output."""
        m = self._model
        if isinstance(chunk, int):
            chunk = [chunk]
        if m._input_is_tokens[0]:
            b = _Buf([list(chunk)] if _np is None else _np.asarray(chunk).reshape(1, -1), "i")
            st = _lib.seqnet_session_set_input_tokens(self._h, 0, b.ptr, 1, b.shape[1])
        else:
            arr = chunk if _np is None else _np.asarray(chunk, dtype=_np.float32)
            b = _Buf([arr] if _np is None else arr.reshape(1, len(arr), -1), "f")
            st = _lib.seqnet_session_set_input_floats(self._h, 0, b.ptr, 1, b.shape[1],
                                                      b.shape[2])
        _check(st, self._h)
        _check(_lib.seqnet_session_run(self._h), self._h)
        bt, tt, ft = ctypes.c_int32(), ctypes.c_int32(), ctypes.c_int32()
        _check(_lib.seqnet_session_output_shape(self._h, 0, ctypes.byref(bt), ctypes.byref(tt),
                                                ctypes.byref(ft)), self._h)
        shape = (ft.value,) if tt.value == 0 else (tt.value, ft.value)
        count = ft.value * max(tt.value, 1)
        buf = (ctypes.c_float * count)()
        _check(_lib.seqnet_session_get_output(self._h, 0, buf, count), self._h)
        return _to_output(buf, shape)


def _progress(epoch, done, total, logs, epochs):
    width = 30
    filled = int(width * done / max(total, 1))
    bar = "=" * max(filled - 1, 0) + (">" if done < total else "=") + "." * (width - filled)
    text = " - ".join("%s: %.4f" % kv for kv in logs.items())
    sys.stdout.write("\r%d/%d [%s] - %s" % (done, total, bar, text))
    if done == total:
        sys.stdout.write("\n")
    sys.stdout.flush()


def _epoch_line(epoch, epochs, logs, verbose):
    text = " - ".join("%s: %.4f" % kv for kv in logs.items())
    sys.stdout.write("Epoch %d/%d - %s\n" % (epoch + 1, epochs, text))
    sys.stdout.flush()


class Sequential(Model):
    """A linear stack of layers (Keras's Sequential)."""

    def __init__(self, layers=None, name=None):
        super().__init__(name=name or "sequential")
        self._stack = []
        self._input = None
        for L in layers or []:
            self.add(L)

    def add(self, layer):
        if isinstance(layer, KerasTensor) and layer.layer is None:
            self._input = layer
            return
        if not isinstance(layer, Layer):
            raise TypeError("Sequential takes layers")
        self._stack.append(layer)
        if self._handle is not None:
            raise ValueError("cannot add layers to a built Sequential")
        self._try_build()

    def _declared_input(self):
        if self._input is not None:
            return self._input
        first = self._stack[0] if self._stack else None
        if first is None:
            return None
        if first._input_shape is not None:
            dt = "int32" if isinstance(first, Embedding) else "float32"
            return Input(first._input_shape, dtype=dt)
        if isinstance(first, Embedding) and first.input_length is not None:
            return Input((first.input_length,), dtype="int32")
        return None

    def _try_build(self, sample=None):
        pass  # built lazily (at summary/fit/predict/compile) once the stack is complete

    def _build_now(self, sample=None):
        if self._handle is not None:
            return
        inp = self._declared_input()
        if inp is None:
            if sample is None:
                raise ValueError("this Sequential has no input shape yet: add an Input, pass "
                                 "input_shape= to the first layer, or call fit/predict")
            shape = _shape_of(sample)
            first = self._stack[0]
            if isinstance(first, Embedding) or _is_int_data(sample):
                has_flatten = any(isinstance(L, Flatten) for L in self._stack)
                inp = Input((shape[1] if has_flatten else None,), dtype="int32")
            else:
                inp = Input(tuple(shape[1:]))
        x = inp
        for L in self._stack:
            x = L(x)
        self._build(inp, x)
        if hasattr(self, "_compile_args"):
            self._make_trainer()

    def summary_string(self):
        self._build_now()
        return super().summary_string()

    def count_params(self):
        self._build_now()
        return super().count_params()

    def compile(self, *args, **kw):
        self._compile_args = None
        super().compile(*args, **kw)
        if self._handle is None and self._declared_input() is not None:
            self._build_now()

    def _ensure_built_for(self, x):
        if self._handle is None:
            self._build_now(x if not isinstance(x, (list, tuple)) or _np is None
                            else _np.asarray(x))

    def get_weights(self):
        self._build_now()
        return super().get_weights()

    def set_weights(self, weights):
        self._build_now()
        return super().set_weights(weights)

    def summary(self, print_fn=print):
        self._build_now()
        return super().summary(print_fn)

    @property
    def layers(self):
        return self._stack

    @layers.setter
    def layers(self, value):
        pass
