"""Recurrent layers for the seqnet Python binding (Keras names and arguments).

Imported by seqnet.py after _seqnet_models; registers seqnet.layers.SimpleRNN,
LSTM, GRU, Bidirectional and TimeDistributed. Weights come back from
get_weights() in Keras's layouts and gate order: kernel (input_dim, G*units),
recurrent_kernel (units, G*units), bias (G*units,) -- LSTM gates i, f, c, o;
GRU gates z, r, h with a (2, 3*units) bias when reset_after (the default).

stateful=True carries each batch's final state into the next batch (Keras's
stateful RNNs; model.reset_states() forgets it). return_state=True makes the
layer return [output, h] ([output, h, c] for an LSTM), and a layer called
with initial_state=[h] ([h, c]) starts from those tensors, as in Keras's
encoder-decoder models. Not supported (they raise NotImplementedError):
non-default initializers, regularizers and constraints.
"""
import sys

_m = sys.modules["_seqnet_models"]

# SEQNET_OPT_LAYER (include/seqnet/graph.h): the class Bidirectional wraps.
_m.OPT.setdefault("layer", 50)

_DEFAULT_ONLY = ("kernel_initializer", "recurrent_initializer", "bias_initializer",
                 "kernel_regularizer", "recurrent_regularizer", "bias_regularizer",
                 "activity_regularizer", "kernel_constraint", "recurrent_constraint",
                 "bias_constraint", "unroll", "implementation", "time_major", "seed")


def _flag(v):
    return int(bool(v))


class _Recurrent(_m.Layer):
    """Common arguments of SimpleRNN, LSTM and GRU."""
    _class = None

    def __init__(self, units, activation="tanh", use_bias=True, dropout=0.0,
                 recurrent_dropout=0.0, return_sequences=False, return_state=False,
                 go_backwards=False, stateful=False, **kw):
        for key in _DEFAULT_ONLY:
            if key in kw:
                value = kw.pop(key)
                if key in ("unroll", "time_major") and not value:
                    continue
                if key == "implementation" or (key == "seed" and value is None):
                    continue  # Keras's implementation choice does not change results
                raise NotImplementedError("%s=%r is not supported yet" % (key, value))
        super().__init__(**kw)
        self.return_state = bool(return_state)
        if int(units) < 1:
            raise ValueError("units must be >= 1")
        self.units = int(units)
        self.activation = _m._act(activation)
        self.use_bias = bool(use_bias)
        self.dropout = float(dropout)
        self.recurrent_dropout = float(recurrent_dropout)
        self.return_sequences = bool(return_sequences)
        self.go_backwards = bool(go_backwards)
        self.stateful = bool(stateful)

    def __call__(self, inputs, initial_state=None, mask=None, training=None, **kwargs):
        if mask is not None:
            raise NotImplementedError("pass masks through Embedding(mask_zero=True) or "
                                      "sequence lengths")
        if isinstance(inputs, (list, tuple)):
            inputs, initial_state = inputs[0], list(inputs[1:]) or initial_state
        ins = [inputs]
        if initial_state is not None:
            states = list(initial_state) if isinstance(initial_state, (list, tuple)) \
                else [initial_state]
            need = 2 if self._class == "LSTM" else 1
            if len(states) != need:
                raise ValueError("%s takes %d initial state tensor(s)" % (self._class, need))
            ins += states
        out = super().__call__(ins, **kwargs)
        if not self.return_state:
            return out
        n = 2 if self._class == "LSTM" else 1
        return [out] + [RNNState(index=i)(out) for i in range(n)]

    def _options(self):
        o = [("units", self.units), ("activation", self.activation),
             ("use_bias", _flag(self.use_bias)),
             ("return_sequences", _flag(self.return_sequences)),
             ("go_backwards", _flag(self.go_backwards))]
        if self.stateful:
            o.append(("stateful", 1))
        if self.return_state:
            o.append(("return_state", 1))
        if self.dropout:
            o.append(("dropout", self.dropout))
        if self.recurrent_dropout:
            o.append(("recurrent_dropout", self.recurrent_dropout))
        return o


class RNNState(_m.Layer):
    """The final state of a recurrent layer built with return_state=True
    (made for you when such a layer is called; kind SEQNET_LAYER_RNN_STATE)."""
    _kind = 45

    def __init__(self, index=0, **kw):
        super().__init__(**kw)
        self.index = int(index)

    def _options(self):
        return [("state_index", self.index)]


class SimpleRNN(_Recurrent):
    """SimpleRNN(units, activation='tanh', use_bias=True, ...)."""
    _kind = 40
    _class = "SimpleRNN"


class LSTM(_Recurrent):
    """LSTM(units, activation='tanh', recurrent_activation='sigmoid',
    unit_forget_bias=True, ...). Gate order i, f, c, o."""
    _kind = 41
    _class = "LSTM"

    def __init__(self, units, recurrent_activation="sigmoid", unit_forget_bias=True, **kw):
        super().__init__(units, **kw)
        self.recurrent_activation = _m._act(recurrent_activation)
        self.unit_forget_bias = bool(unit_forget_bias)

    def _options(self):
        return super()._options() + [
            ("recurrent_activation", self.recurrent_activation),
            ("unit_forget_bias", _flag(self.unit_forget_bias))]


class GRU(_Recurrent):
    """GRU(units, activation='tanh', recurrent_activation='sigmoid',
    reset_after=True, ...). Gate order z, r, h."""
    _kind = 42
    _class = "GRU"

    def __init__(self, units, recurrent_activation="sigmoid", reset_after=True, **kw):
        super().__init__(units, **kw)
        self.recurrent_activation = _m._act(recurrent_activation)
        self.reset_after = bool(reset_after)

    def _options(self):
        return super()._options() + [
            ("recurrent_activation", self.recurrent_activation),
            ("reset_after", _flag(self.reset_after))]


class Bidirectional(_m.Layer):
    """Bidirectional(layer, merge_mode='concat'): layer is a SimpleRNN, LSTM or
    GRU instance; merge_mode 'concat', 'sum', 'mul' or 'ave'. Weights: the
    forward layer's, then the backward layer's (Keras's order)."""
    _kind = 43

    def __init__(self, layer, merge_mode="concat", backward_layer=None, **kw):
        if not isinstance(layer, _Recurrent):
            raise TypeError("Bidirectional wraps a SimpleRNN, LSTM or GRU instance")
        if backward_layer is not None:
            raise NotImplementedError("backward_layer is not supported yet")
        if merge_mode not in ("concat", "sum", "mul", "ave"):
            raise ValueError("merge_mode must be 'concat', 'sum', 'mul' or 'ave'")
        if "input_shape" not in kw and layer._input_shape is not None:
            kw["input_shape"] = layer._input_shape
        super().__init__(**kw)
        self.layer = layer
        self.merge_mode = merge_mode

    def __call__(self, inputs, initial_state=None, **kwargs):
        if initial_state is not None:
            raise NotImplementedError("initial_state is not supported yet")
        return super().__call__(inputs, **kwargs)

    def _options(self):
        return [("layer", self.layer._class), ("merge_mode", self.merge_mode)] + \
            self.layer._options()


class TimeDistributed(_m.Layer):
    """TimeDistributed(Dense(...)): Dense already applies to every step of a
    sequence, so this is the wrapped Dense itself (same weights and layout)."""

    def __init__(self, layer, **kw):
        if not isinstance(layer, _m.Dense):
            raise NotImplementedError("TimeDistributed wraps Dense only")
        if "input_shape" not in kw and layer._input_shape is not None:
            kw["input_shape"] = layer._input_shape
        super().__init__(**kw)
        self.layer = layer
        self._kind = layer._kind

    def _options(self):
        return self.layer._options()


for _cls in (SimpleRNN, LSTM, GRU, Bidirectional):
    _m.register_layer(_cls)
_m.register_layer(TimeDistributed)
_m.register_layer(RNNState)
