"""seqnet -- Python binding (ctypes, no compiled extension) for libseqnet.

The library is found through the environment variable SEQNET_LIBRARY (a path
to libseqnet.so) or else the system search path (ctypes.util.find_library).
Names mirror Keras and scikit-learn: seqnet.Input, seqnet.layers.Dense,
seqnet.Sequential, seqnet.Model, seqnet.Tokenizer, seqnet.pad_sequences,
seqnet.CountVectorizer, ... Plain Python lists are accepted everywhere; numpy
arrays are accepted (and returned) when numpy is installed.
"""
import ctypes
import ctypes.util
import os

try:  # numpy is optional
    import numpy as _np
except ImportError:  # pragma: no cover
    _np = None


def _load_library():
    path = os.environ.get("SEQNET_LIBRARY")
    if not path:
        path = ctypes.util.find_library("seqnet")
    if not path:
        raise ImportError("libseqnet not found: set SEQNET_LIBRARY to the path "
                          "of libseqnet.so or install the library")
    return ctypes.CDLL(path)


_lib = _load_library()

_c = ctypes
_lib.seqnet_version_string.restype = ctypes.c_char_p
_lib.seqnet_version_number.restype = ctypes.c_uint
_lib.seqnet_strerror.restype = ctypes.c_char_p
_lib.seqnet_strerror.argtypes = [ctypes.c_int]
_lib.seqnet_errmsg.restype = ctypes.c_char_p
_lib.seqnet_errmsg.argtypes = [ctypes.c_void_p]
_lib.seqnet_free.argtypes = [ctypes.c_void_p]
_lib.seqnet_free.restype = None
_lib.seqnet_context_new.argtypes = [ctypes.POINTER(ctypes.c_void_p)]
_lib.seqnet_context_free.argtypes = [ctypes.c_void_p]
_lib.seqnet_context_free.restype = None
_lib.seqnet_context_set_seed.argtypes = [ctypes.c_void_p, ctypes.c_uint64]

__version__ = _lib.seqnet_version_string().decode()


class SeqnetError(Exception):
    """A seqnet call failed: .code is the SEQNET_E* status, str() the message."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


def _check(status, handle=None):
    """Raise SeqnetError for a negative status, with the handle's message."""
    if status >= 0:
        return status
    msg = b""
    if handle:
        msg = _lib.seqnet_errmsg(handle) or b""
    text = _lib.seqnet_strerror(status).decode()
    if msg:
        text = text + ": " + msg.decode("utf-8", "replace")
    raise SeqnetError(status, text)


class _Context:
    """One context per process for the binding (libc allocator)."""

    def __init__(self, seed=0):
        h = ctypes.c_void_p()
        _check(_lib.seqnet_context_new(ctypes.byref(h)))
        self.handle = h
        _check(_lib.seqnet_context_set_seed(h, seed), h)

    def __del__(self):
        if getattr(self, "handle", None):
            _lib.seqnet_context_free(self.handle)
            self.handle = None


_context = _Context()


def set_seed(seed):
    """Seed for objects created afterwards (initializers, dropout, shuffling)."""
    _check(_lib.seqnet_context_set_seed(_context.handle, int(seed)), _context.handle)


# Text utilities (Tokenizer, pad_sequences, vectorizers) live in a sibling
# module so that rooms of the binding stay small; they are re-exported here.
from _seqnet_text import *  # noqa: E402,F401,F403
# Layers, models, training (Keras names).
from _seqnet_models import *  # noqa: E402,F401,F403
from _seqnet_models import register_layer, KerasTensor  # noqa: E402,F401
# Convolutions, window pooling, merges, Highway and normalizations.
from _seqnet_conv import *  # noqa: E402,F401,F403
# Recurrent layers: SimpleRNN, LSTM, GRU, Bidirectional.
from _seqnet_rnn import *  # noqa: E402,F401,F403
