"""seqnet text room for Python: Keras Tokenizer / pad_sequences and
scikit-learn CountVectorizer / TfidfVectorizer / HashingVectorizer, with the
same names, arguments and results, computed by libseqnet.

Imported by seqnet.py (``from _seqnet_text import *``); use it as
``seqnet.Tokenizer`` etc. Works without numpy (results are lists and a small
CSR object); returns numpy arrays when numpy is installed.
"""
import ctypes as _c
import sys as _sys
from collections import OrderedDict as _OrderedDict

_s = _sys.modules["seqnet"]
_lib = _s._lib
_np = _s._np

__all__ = ["Tokenizer", "tokenizer_from_bytes", "pad_sequences", "text_to_word_sequence",
           "CountVectorizer", "TfidfVectorizer", "HashingVectorizer", "CSRMatrix",
           "TextError", "text_lower"]

_P = _c.c_void_p
_SZ = _c.c_size_t
_I32 = _c.c_int32
_I64 = _c.c_int64
_D = _c.c_double
_PP = _c.POINTER
_CHARPP = _c.POINTER(_c.c_char_p)


def _proto(name, *args):
    fn = getattr(_lib, name)
    fn.argtypes = list(args)
    fn.restype = _c.c_int
    return fn


# Functions of include/seqnet/text.h (argument types as declared there).
_proto("seqnet_tokenizer_new", _P, _PP(_P))
_lib.seqnet_tokenizer_free.argtypes = [_P]
_lib.seqnet_tokenizer_free.restype = None
_proto("seqnet_tokenizer_set_int", _P, _I32, _I64)
_proto("seqnet_tokenizer_get_int", _P, _I32, _PP(_I64))
_proto("seqnet_tokenizer_set_string", _P, _I32, _c.c_char_p, _SZ)
_proto("seqnet_tokenizer_fit", _P, _CHARPP, _PP(_SZ), _SZ)
_proto("seqnet_tokenizer_fit_sequences", _P, _PP(_I32), _PP(_SZ), _SZ)
_proto("seqnet_tokenizer_texts_to_sequences", _P, _CHARPP, _PP(_SZ), _SZ, _PP(_PP(_I32)), _PP(_PP(_SZ)))
_proto("seqnet_tokenizer_sequences_to_texts", _P, _PP(_I32), _PP(_SZ), _SZ, _PP(_P), _PP(_PP(_SZ)))
_proto("seqnet_tokenizer_matrix_width", _P, _PP(_SZ))
_proto("seqnet_tokenizer_sequences_to_matrix", _P, _PP(_I32), _PP(_SZ), _SZ, _I32, _PP(_D), _SZ)
_proto("seqnet_tokenizer_texts_to_matrix", _P, _CHARPP, _PP(_SZ), _SZ, _I32, _PP(_D), _SZ)
_proto("seqnet_tokenizer_document_count", _P, _PP(_I64))
_proto("seqnet_tokenizer_export_words", _P, _PP(_P), _PP(_PP(_SZ)), _PP(_PP(_I64)), _PP(_PP(_I64)),
       _PP(_PP(_I32)), _PP(_SZ))
_proto("seqnet_tokenizer_lookup", _P, _c.c_char_p, _SZ, _PP(_I32))
_proto("seqnet_tokenizer_index_size", _P, _PP(_SZ))
_proto("seqnet_tokenizer_export_index_docs", _P, _PP(_PP(_I32)), _PP(_PP(_I64)), _PP(_SZ))
_proto("seqnet_tokenizer_save", _P, _PP(_P), _PP(_SZ))
_proto("seqnet_tokenizer_load", _P, _c.c_char_p, _SZ, _PP(_P))
_proto("seqnet_pad_sequences", _PP(_I32), _PP(_SZ), _SZ, _I64, _I32, _I32, _I32, _P, _SZ, _PP(_SZ))
_proto("seqnet_pad_sequences_f64", _PP(_D), _PP(_SZ), _SZ, _I64, _I32, _I32, _D, _I32, _P, _SZ, _PP(_SZ))
_proto("seqnet_vectorizer_new", _P, _I32, _PP(_P))
_lib.seqnet_vectorizer_free.argtypes = [_P]
_lib.seqnet_vectorizer_free.restype = None
_proto("seqnet_vectorizer_set_int", _P, _I32, _I64)
_proto("seqnet_vectorizer_set_double", _P, _I32, _D)
_proto("seqnet_vectorizer_get_option", _P, _I32, _PP(_I64), _PP(_D), _PP(_I32))
_proto("seqnet_vectorizer_set_stop_words", _P, _CHARPP, _PP(_SZ), _SZ)
_proto("seqnet_vectorizer_set_vocabulary", _P, _CHARPP, _PP(_SZ), _SZ)
_proto("seqnet_vectorizer_fit", _P, _CHARPP, _PP(_SZ), _SZ)
_proto("seqnet_vectorizer_transform", _P, _CHARPP, _PP(_SZ), _SZ, _PP(_PP(_SZ)), _PP(_PP(_I32)), _PP(_PP(_D)))
_proto("seqnet_vectorizer_fit_transform", _P, _CHARPP, _PP(_SZ), _SZ, _PP(_PP(_SZ)), _PP(_PP(_I32)),
       _PP(_PP(_D)))
_proto("seqnet_vectorizer_n_features", _P, _PP(_SZ))
_proto("seqnet_vectorizer_feature_names", _P, _PP(_P), _PP(_PP(_SZ)), _PP(_SZ))
_proto("seqnet_vectorizer_pruned_terms", _P, _PP(_P), _PP(_PP(_SZ)), _PP(_SZ))
_proto("seqnet_vectorizer_idf", _P, _PP(_D), _SZ)
_proto("seqnet_vectorizer_save", _P, _PP(_P), _PP(_SZ))
_proto("seqnet_vectorizer_load", _P, _c.c_char_p, _SZ, _PP(_P))
_proto("seqnet_text_lower", _c.c_char_p, _SZ, _I32, _I32, _PP(_P), _PP(_SZ), _PP(_SZ))

# Enum values of text.h.
_TOK = dict(num_words=1, lower=2, char_level=3, utf8_strict=4, strict_ids=5, filters=16, split=17,
            oov_token=18)
_MODES = {"binary": 0, "count": 1, "freq": 2, "tfidf": 3}
_SIDES = {"pre": 0, "post": 1}
_DTYPES = {"int32": 1, "int64": 2, "float32": 3, "float64": 4}
_VEC = dict(lowercase=1, ngram_min=2, ngram_max=3, max_df=4, min_df=5, max_features=6, binary=7,
            stop_words_english=8, norm=9, use_idf=10, smooth_idf=11, sublinear_tf=12, n_features=13,
            alternate_sign=14, utf8_strict=15)
_NORMS = {None: 0, "l1": 1, "l2": 2}
_EUNSUPPORTED = -6
_DEFAULT_FILTERS = '!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n'
_TOKEN_PATTERN = r"(?u)\b\w\w+\b"


class TextError(_s.SeqnetError, ValueError):
    """A text-room call failed; a ValueError like Keras's and sklearn's errors."""


def _check(status, handle=None):
    if status >= 0:
        return status
    try:
        _s._check(status, handle)
    except _s.SeqnetError as err:
        raise TextError(err.code, str(err)) from None
    return status


def _free(ptr):
    if ptr:
        _lib.seqnet_free(_c.cast(ptr, _P))


# ---- marshalling ---------------------------------------------------------

def _encode(text):
    if isinstance(text, str):
        return text.encode("utf-8", "surrogatepass")
    if isinstance(text, (bytes, bytearray, memoryview)):
        return bytes(text)
    raise TypeError("texts must be str or bytes, got %s" % type(text).__name__)


class _Texts:
    """A batch of texts as the C arrays (pointers, lengths, count)."""

    def __init__(self, texts):
        if isinstance(texts, (str, bytes)):
            raise TypeError("an iterable of texts is expected, not a single string")
        self.raw = [_encode(t) for t in texts]
        n = len(self.raw)
        self.n = n
        self.ptrs = (_c.c_char_p * max(n, 1))(*self.raw)
        self.lens = (_SZ * max(n, 1))(*[len(b) for b in self.raw])


def _ragged(sequences, ctype=_I32):
    """Sequences as (values array, offsets array, count)."""
    seqs = [list(s) for s in sequences]
    offs = [0]
    for s in seqs:
        offs.append(offs[-1] + len(s))
    flat = [v for s in seqs for v in s]
    if ctype is _I32:
        for v in flat:
            if not -2 ** 31 <= int(v) < 2 ** 31:
                raise TextError(-4, "id %r does not fit in int32" % (v,))
        vals = (_I32 * max(len(flat), 1))(*[int(v) for v in flat])
    else:
        vals = (_D * max(len(flat), 1))(*[float(v) for v in flat])
    return vals, (_SZ * len(offs))(*offs), len(seqs)


def _take_ids(ids_p, offs_p, n):
    try:
        total = offs_p[n] if n else 0
        flat = ids_p[:total]
        return [flat[offs_p[i]:offs_p[i + 1]] for i in range(n)]
    finally:
        _free(ids_p)
        _free(offs_p)


def _take_strings(blob, offs_p, n, decode=True):
    try:
        total = offs_p[n] if n else 0
        data = _c.string_at(blob, total) if total else b""
        out = [data[offs_p[i]:offs_p[i + 1]] for i in range(n)]
        return [b.decode("utf-8", "surrogatepass") for b in out] if decode else out
    finally:
        _free(blob)
        _free(offs_p)


def _take_array(ptr, n, np_dtype):
    try:
        if _np is not None:
            return _np.ctypeslib.as_array(ptr, shape=(n,)).astype(np_dtype, copy=True) if n else \
                _np.zeros(0, dtype=np_dtype)
        return list(ptr[:n])
    finally:
        _free(ptr)


def _matrix(buf, rows, cols):
    if _np is not None:
        return _np.ctypeslib.as_array(buf, shape=(rows * cols,)).reshape(rows, cols).copy() \
            if rows * cols else _np.zeros((rows, cols))
    return [list(buf[r * cols:(r + 1) * cols]) for r in range(rows)]


def text_lower(text, strict=False):
    """Python's str.lower() as seqnet computes it (bytes are decoded first)."""
    b = _encode(text)
    out, n, bad = _P(), _SZ(), _SZ()
    st = _lib.seqnet_text_lower(b, len(b), 1, int(bool(strict)), _c.byref(out), _c.byref(n), _c.byref(bad))
    if st < 0:
        raise TextError(st, "invalid UTF-8 at byte offset %d" % bad.value)
    try:
        return _c.string_at(out, n.value).decode("utf-8")
    finally:
        _free(out)


# ---- Keras Tokenizer -------------------------------------------------------

class Tokenizer:
    """keras.preprocessing.text.Tokenizer, computed by libseqnet."""

    def __init__(self, num_words=None, filters=_DEFAULT_FILTERS, lower=True, split=" ",
                 char_level=False, oov_token=None, analyzer=None, **kwargs):
        if analyzer is not None:
            raise NotImplementedError("a Python analyzer callable is not supported")
        h = _P()
        _check(_lib.seqnet_tokenizer_new(_s._context.handle, _c.byref(h)))
        self._h = h
        self._cache = None
        self.num_words = num_words
        self.filters = filters
        self.lower = lower
        self.split = split
        self.char_level = char_level
        self.oov_token = oov_token
        if kwargs.get("document_count"):
            raise NotImplementedError("document_count= is not supported")
        for k in kwargs:
            if k != "document_count":
                raise TypeError("Unrecognized keyword argument: %s" % k)

    def __del__(self):
        h = getattr(self, "_h", None)
        if h:
            _lib.seqnet_tokenizer_free(h)
            self._h = None

    # settings mirror the Keras attributes
    def _set_int(self, key, v):
        _check(_lib.seqnet_tokenizer_set_int(self._h, _TOK[key], int(v)), self._h)

    def _set_str(self, key, v):
        if v is None:
            _check(_lib.seqnet_tokenizer_set_string(self._h, _TOK[key], None, 0), self._h)
        else:
            b = _encode(v)
            _check(_lib.seqnet_tokenizer_set_string(self._h, _TOK[key], b, len(b)), self._h)

    num_words = property(lambda self: self._num_words,
                         lambda self, v: (self._set_int("num_words", v or 0),
                                          setattr(self, "_num_words", v)) and None)
    filters = property(lambda self: self._filters,
                       lambda self, v: (self._set_str("filters", v), setattr(self, "_filters", v)) and None)
    lower = property(lambda self: self._lower,
                     lambda self, v: (self._set_int("lower", bool(v)), setattr(self, "_lower", v)) and None)
    split = property(lambda self: self._split,
                     lambda self, v: (self._set_str("split", v), setattr(self, "_split", v)) and None)
    char_level = property(lambda self: self._char_level,
                          lambda self, v: (self._set_int("char_level", bool(v)),
                                           setattr(self, "_char_level", v)) and None)
    oov_token = property(lambda self: self._oov_token,
                         lambda self, v: (self._set_str("oov_token", v),
                                          setattr(self, "_oov_token", v)) and None)

    def fit_on_texts(self, texts):
        if isinstance(texts, str):  # Keras: each character is a document
            texts = list(texts)
        t = _Texts(texts)
        self._cache = None
        _check(_lib.seqnet_tokenizer_fit(self._h, t.ptrs, t.lens, t.n), self._h)

    def fit_on_sequences(self, sequences):
        vals, offs, n = _ragged(sequences)
        self._cache = None
        _check(_lib.seqnet_tokenizer_fit_sequences(self._h, vals, offs, n), self._h)

    def texts_to_sequences(self, texts):
        if isinstance(texts, str):
            texts = list(texts)
        t = _Texts(texts)
        ids, offs = _PP(_I32)(), _PP(_SZ)()
        _check(_lib.seqnet_tokenizer_texts_to_sequences(self._h, t.ptrs, t.lens, t.n, _c.byref(ids),
                                                        _c.byref(offs)), self._h)
        return _take_ids(ids, offs, t.n)

    def texts_to_sequences_generator(self, texts):
        for text in texts:
            yield self.texts_to_sequences([text])[0]

    def sequences_to_texts(self, sequences):
        vals, offs, n = _ragged(sequences)
        blob, toffs = _P(), _PP(_SZ)()
        _check(_lib.seqnet_tokenizer_sequences_to_texts(self._h, vals, offs, n, _c.byref(blob),
                                                        _c.byref(toffs)), self._h)
        return _take_strings(blob, toffs, n)

    def _width(self):
        w = _SZ()
        _check(_lib.seqnet_tokenizer_matrix_width(self._h, _c.byref(w)), self._h)
        return w.value

    @staticmethod
    def _mode(mode):
        return _MODES.get(mode, 99)  # unknown modes fail lazily, as in Keras

    def sequences_to_matrix(self, sequences, mode="binary"):
        vals, offs, n = _ragged(sequences)
        width = self._width()
        buf = (_D * max(n * width, 1))()
        st = _lib.seqnet_tokenizer_sequences_to_matrix(self._h, vals, offs, n, self._mode(mode), buf,
                                                       n * width)
        if st == _EUNSUPPORTED:
            raise TextError(st, "Unknown vectorization mode: %s" % (mode,))
        _check(st, self._h)
        return _matrix(buf, n, width)

    def texts_to_matrix(self, texts, mode="binary"):
        return self.sequences_to_matrix(self.texts_to_sequences(texts), mode=mode)

    # attributes
    def _attrs(self):
        if self._cache is not None:
            return self._cache
        blob, woffs = _P(), _PP(_SZ)()
        counts, docs, idx = _PP(_I64)(), _PP(_I64)(), _PP(_I32)()
        n = _SZ()
        _check(_lib.seqnet_tokenizer_export_words(self._h, _c.byref(blob), _c.byref(woffs), _c.byref(counts),
                                                  _c.byref(docs), _c.byref(idx), _c.byref(n)), self._h)
        n = n.value
        try:
            cl, dl, il = counts[:n], docs[:n], idx[:n]
        finally:
            _free(counts)
            _free(docs)
            _free(idx)
        words = _take_strings(blob, woffs, n)
        word_counts = _OrderedDict(zip(words, cl))
        word_docs = dict(zip(words, dl))
        ranked = sorted(range(n), key=lambda i: il[i])
        word_index = {}
        fit_oov = None
        size = _SZ()
        _check(_lib.seqnet_tokenizer_index_size(self._h, _c.byref(size)), self._h)
        if self.oov_token is not None and n:
            v = self._lookup(self.oov_token)
            if v:
                fit_oov = self.oov_token
        if size.value > n or fit_oov is not None:
            # Keras: sorted_voc = [oov] + words, so the OOV key comes first
            # even when it is also a word (then it keeps the word's index).
            oov = fit_oov if fit_oov is not None else self._index_word_1()
            if oov is not None:
                word_index[oov] = self._lookup(oov)
        for i in ranked:
            word_index.setdefault(words[i], il[i])
        index_word = {i: w for w, i in word_index.items()}
        ix, dv, m = _PP(_I32)(), _PP(_I64)(), _SZ()
        _check(_lib.seqnet_tokenizer_export_index_docs(self._h, _c.byref(ix), _c.byref(dv), _c.byref(m)),
               self._h)
        try:
            index_docs = dict(zip(ix[:m.value], dv[:m.value]))
        finally:
            _free(ix)
            _free(dv)
        self._cache = (word_counts, word_docs, word_index, index_word, index_docs)
        return self._cache

    def _lookup(self, word):
        b = _encode(word)
        v = _I32()
        _check(_lib.seqnet_tokenizer_lookup(self._h, b, len(b), _c.byref(v)), self._h)
        return v.value

    def _index_word_1(self):
        w, n = _c.c_char_p(), _SZ()
        fn = _lib.seqnet_tokenizer_index_word
        fn.argtypes = [_P, _I32, _PP(_c.c_char_p), _PP(_SZ)]
        if fn(self._h, 1, _c.byref(w), _c.byref(n)) != 0:
            return None
        return _c.string_at(w, n.value).decode("utf-8", "surrogatepass")

    word_counts = property(lambda self: self._attrs()[0])
    word_docs = property(lambda self: self._attrs()[1])
    word_index = property(lambda self: self._attrs()[2])
    index_word = property(lambda self: self._attrs()[3])
    index_docs = property(lambda self: self._attrs()[4])

    @property
    def document_count(self):
        v = _I64()
        _check(_lib.seqnet_tokenizer_document_count(self._h, _c.byref(v)), self._h)
        return v.value

    def to_bytes(self):
        p, n = _P(), _SZ()
        _check(_lib.seqnet_tokenizer_save(self._h, _c.byref(p), _c.byref(n)), self._h)
        try:
            return _c.string_at(p, n.value)
        finally:
            _free(p)

    @classmethod
    def from_bytes(cls, data):
        data = bytes(data)
        h = _P()
        _check(_lib.seqnet_tokenizer_load(_s._context.handle, data, len(data), _c.byref(h)),
               _s._context.handle)
        self = cls.__new__(cls)
        self._h = h
        self._cache = None
        v = _I64()
        for key, attr, conv in (("num_words", "_num_words", lambda x: x or None),
                                ("lower", "_lower", bool), ("char_level", "_char_level", bool)):
            _check(_lib.seqnet_tokenizer_get_int(h, _TOK[key], _c.byref(v)), h)
            setattr(self, attr, conv(v.value))
        get = _lib.seqnet_tokenizer_get_string
        get.argtypes = [_P, _I32, _PP(_c.c_char_p), _PP(_SZ)]
        for key, attr in (("filters", "_filters"), ("split", "_split"), ("oov_token", "_oov_token")):
            s, n = _c.c_char_p(), _SZ()
            _check(get(h, _TOK[key], _c.byref(s), _c.byref(n)), h)
            setattr(self, attr, None if not s else _c.string_at(s, n.value).decode("utf-8", "surrogatepass"))
        return self


def tokenizer_from_bytes(data):
    """Rebuild a Tokenizer saved with Tokenizer.to_bytes()."""
    return Tokenizer.from_bytes(data)


def text_to_word_sequence(text, filters=_DEFAULT_FILTERS, lower=True, split=" "):
    """keras.preprocessing.text.text_to_word_sequence."""
    tok = Tokenizer(filters=filters, lower=lower, split=split)
    tok.fit_on_texts([text])
    return _word_sequence(tok, text)


def _word_sequence(tok, text):
    # Each word's index is unique, so mapping ids back gives the token list.
    seq = tok.texts_to_sequences([text])[0]
    iw = tok.index_word
    return [iw[i] for i in seq]


# ---- pad_sequences ----------------------------------------------------------

def pad_sequences(sequences, maxlen=None, dtype="int32", padding="pre", truncating="pre", value=0.0):
    """keras.preprocessing.sequence.pad_sequences (1-D samples)."""
    dt = _np.dtype(dtype).name if _np is not None else str(dtype)
    if isinstance(value, str) and dt not in ("object", "str") and not dt.startswith(("str", "<U")):
        raise TextError(-2, "`dtype` %s is not compatible with `value`'s type: %s\n"
                            "You should set `dtype=object` for variable length strings." % (dt, type(value)))
    if dt not in _DTYPES:
        raise TextError(-6, "dtype %s is not supported (int32, int64, float32, float64)" % dt)
    seqs = [list(s) for s in sequences]
    ints = dt == "int32" and all(isinstance(v, int) or (_np is not None and isinstance(v, _np.integer))
                                 for s in seqs for v in s) and float(value) == int(value)
    ml = -1 if maxlen is None else int(maxlen)
    pad_id, trunc_id = _SIDES.get(padding, 99), _SIDES.get(truncating, 99)
    cols = _SZ()
    if ints:
        vals, offs, n = _ragged(seqs, _I32)
        st = _lib.seqnet_pad_sequences(vals, offs, n, ml, pad_id, trunc_id, int(value), None, 0, _c.byref(cols))
    else:
        vals, offs, n = _ragged(seqs, _D)
        st = _lib.seqnet_pad_sequences_f64(vals, offs, n, ml, pad_id, trunc_id, float(value), _DTYPES[dt], None,
                                           0, _c.byref(cols))
    if st == -17:
        raise TextError(st, "pad_sequences needs at least one sequence when maxlen is None")
    _check(st)
    total = n * cols.value
    ctype = {"int32": _I32, "int64": _I64, "float32": _c.c_float, "float64": _D}[dt]
    buf = (ctype * max(total, 1))()
    if ints:
        st = _lib.seqnet_pad_sequences(vals, offs, n, ml, pad_id, trunc_id, int(value), _c.cast(buf, _P), total,
                                       _c.byref(cols))
    else:
        st = _lib.seqnet_pad_sequences_f64(vals, offs, n, ml, pad_id, trunc_id, float(value), _DTYPES[dt],
                                           _c.cast(buf, _P), total, _c.byref(cols))
    if st == _EUNSUPPORTED:
        if trunc_id == 99:
            raise TextError(st, 'Truncating type "%s" not understood' % (truncating,))
        raise TextError(st, 'Padding type "%s" not understood' % (padding,))
    _check(st)
    c = cols.value
    if _np is not None:
        arr = _np.ctypeslib.as_array(buf)[:total].copy() if total else _np.zeros(0, dtype=dt)
        return arr.astype(dt).reshape(n, c)
    return [list(buf[r * c:(r + 1) * c]) for r in range(n)]


# ---- sparse result -----------------------------------------------------------

class CSRMatrix:
    """A compressed-sparse-row matrix (scipy-free): data, indices, indptr, shape."""

    def __init__(self, data, indices, indptr, shape):
        self.data, self.indices, self.indptr, self.shape = data, indices, indptr, shape

    @property
    def nnz(self):
        return len(self.data)

    def toarray(self):
        rows, cols = self.shape
        if _np is not None:
            out = _np.zeros((rows, cols), dtype=self.data.dtype if hasattr(self.data, "dtype") else float)
            for r in range(rows):
                a, b = self.indptr[r], self.indptr[r + 1]
                out[r, self.indices[a:b]] = self.data[a:b]
            return out
        out = [[0] * cols for _ in range(rows)]
        for r in range(rows):
            for k in range(self.indptr[r], self.indptr[r + 1]):
                out[r][self.indices[k]] = self.data[k]
        return out

    todense = toarray

    def tolist(self):
        a = self.toarray()
        return a.tolist() if hasattr(a, "tolist") else a

    def __repr__(self):
        return "<%dx%d CSRMatrix with %d stored elements>" % (self.shape[0], self.shape[1], self.nnz)


# ---- scikit-learn vectorizers ---------------------------------------------------

class _Vectorizer:
    _kind = 1

    def __init__(self, *, input="content", encoding="utf-8", decode_error="replace", strip_accents=None,
                 lowercase=True, preprocessor=None, tokenizer=None, stop_words=None,
                 token_pattern=_TOKEN_PATTERN, ngram_range=(1, 1), analyzer="word", binary=False,
                 dtype=None):
        if input != "content":
            raise NotImplementedError("only input='content' is supported")
        if encoding.lower().replace("-", "").replace("_", "") != "utf8":
            raise NotImplementedError("only encoding='utf-8' is supported")
        if decode_error not in ("strict", "replace"):
            raise NotImplementedError("decode_error must be 'strict' or 'replace'")
        if strip_accents is not None or preprocessor is not None or tokenizer is not None or \
                analyzer != "word" or token_pattern != _TOKEN_PATTERN:
            raise NotImplementedError("only the default word analyzer is supported")
        self.input, self.encoding, self.decode_error = input, encoding, decode_error
        self.strip_accents, self.preprocessor, self.tokenizer = None, None, None
        self.token_pattern, self.analyzer = token_pattern, analyzer
        self.lowercase, self.stop_words, self.ngram_range, self.binary = lowercase, stop_words, ngram_range, binary
        self.dtype = dtype
        h = _P()
        _check(_lib.seqnet_vectorizer_new(_s._context.handle, self._kind, _c.byref(h)))
        self._h = h
        self._fitted = False

    def __del__(self):
        h = getattr(self, "_h", None)
        if h:
            _lib.seqnet_vectorizer_free(h)
            self._h = None

    def _seti(self, key, v):
        _check(_lib.seqnet_vectorizer_set_int(self._h, _VEC[key], int(v)), self._h)

    def _apply(self, fit):
        lo, hi = self.ngram_range
        self._seti("ngram_min", lo)
        self._seti("ngram_max", hi)
        self._seti("lowercase", bool(self.lowercase))
        self._seti("binary", bool(self.binary))
        self._seti("utf8_strict", self.decode_error == "strict")
        sw = self.stop_words
        if sw is not None and sw != "english" and isinstance(sw, str):
            raise ValueError("not a built-in stop list: %s" % sw)
        self._seti("stop_words_english", sw == "english")
        words = [] if sw is None or sw == "english" else [_encode(w) for w in sw]
        arr = (_c.c_char_p * max(len(words), 1))(*words)
        lens = (_SZ * max(len(words), 1))(*[len(w) for w in words])
        _check(_lib.seqnet_vectorizer_set_stop_words(self._h, arr, lens, len(words)), self._h)
        self._apply_kind(fit)

    def _apply_kind(self, fit):
        pass

    def _sparse(self, fn, raw_documents):
        t = _Texts(raw_documents)
        indptr, indices, data = _PP(_SZ)(), _PP(_I32)(), _PP(_D)()
        _check(fn(self._h, t.ptrs, t.lens, t.n, _c.byref(indptr), _c.byref(indices), _c.byref(data)), self._h)
        nnz = indptr[t.n] if t.n else 0
        width = _SZ()
        _check(_lib.seqnet_vectorizer_n_features(self._h, _c.byref(width)), self._h)
        out_dtype = self._out_dtype()
        ip = _take_array(indptr, t.n + 1, "int64")
        ix = _take_array(indices, nnz, "int32")
        d = _take_array(data, nnz, "float64")
        if _np is not None:
            d = d.astype(out_dtype)
        elif out_dtype == "int64":
            d = [int(v) for v in d]
        return CSRMatrix(d, ix, ip, (t.n, width.value))

    def _out_dtype(self):
        return "float64"

    def fit(self, raw_documents, y=None):
        self._apply(True)
        t = _Texts(raw_documents)
        _check(_lib.seqnet_vectorizer_fit(self._h, t.ptrs, t.lens, t.n), self._h)
        self._fitted = True
        return self

    def transform(self, raw_documents):
        self._apply(False)
        return self._sparse(_lib.seqnet_vectorizer_transform, raw_documents)

    def fit_transform(self, raw_documents, y=None):
        self._apply(True)
        m = self._sparse(_lib.seqnet_vectorizer_fit_transform, raw_documents)
        self._fitted = True
        return m

    def to_bytes(self):
        p, n = _P(), _SZ()
        _check(_lib.seqnet_vectorizer_save(self._h, _c.byref(p), _c.byref(n)), self._h)
        try:
            return _c.string_at(p, n.value)
        finally:
            _free(p)

    @classmethod
    def from_bytes(cls, data):
        data = bytes(data)
        h = _P()
        _check(_lib.seqnet_vectorizer_load(_s._context.handle, data, len(data), _c.byref(h)),
               _s._context.handle)
        kind = {1: CountVectorizer, 2: TfidfVectorizer, 3: HashingVectorizer}[_lib.seqnet_vectorizer_kind(h)]
        self = kind.__new__(kind)
        self._h = h
        self._restore()
        return self

    def _geti(self, key):
        iv, dv, frac = _I64(), _D(), _I32()
        _check(_lib.seqnet_vectorizer_get_option(self._h, _VEC[key], _c.byref(iv), _c.byref(dv), _c.byref(frac)),
               self._h)
        return dv.value if frac.value else iv.value

    def _restore(self):
        self.input, self.encoding, self.analyzer, self.token_pattern = "content", "utf-8", "word", _TOKEN_PATTERN
        self.strip_accents = self.preprocessor = self.tokenizer = None
        self.dtype = None
        self.decode_error = "strict" if self._geti("utf8_strict") else "replace"
        self.lowercase = bool(self._geti("lowercase"))
        self.binary = bool(self._geti("binary"))
        self.ngram_range = (self._geti("ngram_min"), self._geti("ngram_max"))
        sw = None
        if self._geti("stop_words_english"):
            sw = "english"
        self.stop_words = sw
        self._fitted = True


_lib.seqnet_vectorizer_kind.argtypes = [_P]
_lib.seqnet_vectorizer_kind.restype = _I32


class CountVectorizer(_Vectorizer):
    """sklearn.feature_extraction.text.CountVectorizer (default word analyzer)."""
    _kind = 1

    def __init__(self, *, max_df=1.0, min_df=1, max_features=None, vocabulary=None, **kw):
        super().__init__(**kw)
        self.max_df, self.min_df, self.max_features, self.vocabulary = max_df, min_df, max_features, vocabulary
        self._vocab_set = None

    def _out_dtype(self):
        return "int64" if self.dtype is None else _np.dtype(self.dtype).name if _np is not None else "int64"

    def _bound(self, key, v):
        if isinstance(v, bool) or not isinstance(v, (int, float)) and not (
                _np is not None and isinstance(v, (_np.integer, _np.floating))):
            raise TextError(-2, "The '%s' parameter must be a float in the range [0, 1] or an int in the "
                                "range [1, inf). Got %r instead." % (key, v))
        if isinstance(v, int) or (_np is not None and isinstance(v, _np.integer)):
            if v < 0:
                raise TextError(-2, "The '%s' parameter must be a float in the range [0, 1] or an int in "
                                    "the range [1, inf). Got %r instead." % (key, v))
            self._seti(key, v)
        else:
            st = _lib.seqnet_vectorizer_set_double(self._h, _VEC[key], float(v))
            if st < 0:
                raise TextError(st, "The '%s' parameter of %s must be a float in the range [0, 1] or an int "
                                    "in the range [1, inf). Got %r instead." % (key, type(self).__name__, v))

    def _apply_kind(self, fit):
        self._bound("max_df", self.max_df)
        self._bound("min_df", self.min_df)
        if self.max_features is not None and (not isinstance(self.max_features, int) or self.max_features < 1):
            raise TextError(-2, "max_features must be a positive int or None")
        self._seti("max_features", self.max_features or 0)
        if fit or self._vocab_set is None:
            voc = self.vocabulary
            if voc is not None:
                if isinstance(voc, dict):
                    if sorted(voc.values()) != list(range(len(voc))):
                        raise TextError(-2, "Vocabulary of size %d doesn't contain index %d." %
                                        (len(voc), next(i for i in range(len(voc) + 1) if i not in set(voc.values()))))
                    words = [w for w, _ in sorted(voc.items(), key=lambda kv: kv[1])]
                elif isinstance(voc, (set, frozenset)):
                    words = sorted(voc)
                else:
                    words = list(voc)
                if not words:
                    raise TextError(-17, "empty vocabulary passed to fit")
                enc = [_encode(w) for w in words]
                arr = (_c.c_char_p * len(enc))(*enc)
                lens = (_SZ * len(enc))(*[len(w) for w in enc])
                _check(_lib.seqnet_vectorizer_set_vocabulary(self._h, arr, lens, len(enc)), self._h)
            else:
                _check(_lib.seqnet_vectorizer_set_vocabulary(self._h, None, None, 0), self._h) \
                    if self._vocab_set else None
            self._vocab_set = voc is not None

    def get_feature_names_out(self, input_features=None):
        blob, offs, n = _P(), _PP(_SZ)(), _SZ()
        _check(_lib.seqnet_vectorizer_feature_names(self._h, _c.byref(blob), _c.byref(offs), _c.byref(n)), self._h)
        names = _take_strings(blob, offs, n.value)
        return _np.asarray(names, dtype=object) if _np is not None else names

    @property
    def vocabulary_(self):
        names = self.get_feature_names_out()
        return {w: i for i, w in enumerate(names)}

    @property
    def stop_words_(self):
        blob, offs, n = _P(), _PP(_SZ)(), _SZ()
        _check(_lib.seqnet_vectorizer_pruned_terms(self._h, _c.byref(blob), _c.byref(offs), _c.byref(n)), self._h)
        return set(_take_strings(blob, offs, n.value))

    def _restore(self):
        super()._restore()
        self.max_df, self.min_df = self._geti("max_df"), self._geti("min_df")
        self.max_features = self._geti("max_features") or None
        self.vocabulary = None
        self._vocab_set = None


class TfidfVectorizer(CountVectorizer):
    """sklearn.feature_extraction.text.TfidfVectorizer (default word analyzer)."""
    _kind = 2

    def __init__(self, *, norm="l2", use_idf=True, smooth_idf=True, sublinear_tf=False, **kw):
        super().__init__(**kw)
        self.norm, self.use_idf, self.smooth_idf, self.sublinear_tf = norm, use_idf, smooth_idf, sublinear_tf

    def _out_dtype(self):
        return "float64" if self.dtype is None else _np.dtype(self.dtype).name if _np is not None else "float64"

    def _apply_kind(self, fit):
        super()._apply_kind(fit)
        if self.norm not in _NORMS:
            raise TextError(-2, "norm must be 'l1', 'l2' or None")
        self._seti("norm", _NORMS[self.norm])
        self._seti("use_idf", bool(self.use_idf))
        self._seti("smooth_idf", bool(self.smooth_idf))
        self._seti("sublinear_tf", bool(self.sublinear_tf))

    @property
    def idf_(self):
        n = _SZ()
        _check(_lib.seqnet_vectorizer_n_features(self._h, _c.byref(n)), self._h)
        buf = (_D * max(n.value, 1))()
        _check(_lib.seqnet_vectorizer_idf(self._h, buf, n.value), self._h)
        return _np.array(buf[:n.value]) if _np is not None else buf[:n.value]

    def _restore(self):
        super()._restore()
        self.norm = {0: None, 1: "l1", 2: "l2"}[self._geti("norm")]
        self.use_idf = bool(self._geti("use_idf"))
        self.smooth_idf = bool(self._geti("smooth_idf"))
        self.sublinear_tf = bool(self._geti("sublinear_tf"))


class HashingVectorizer(_Vectorizer):
    """sklearn.feature_extraction.text.HashingVectorizer (default word analyzer)."""
    _kind = 3

    def __init__(self, *, n_features=2 ** 20, norm="l2", alternate_sign=True, **kw):
        super().__init__(**kw)
        self.n_features, self.norm, self.alternate_sign = n_features, norm, alternate_sign

    def _apply_kind(self, fit):
        if self.norm not in _NORMS:
            raise TextError(-2, "norm must be 'l1', 'l2' or None")
        self._seti("n_features", self.n_features)
        self._seti("norm", _NORMS[self.norm])
        self._seti("alternate_sign", bool(self.alternate_sign))

    def fit(self, raw_documents=None, y=None):
        self._apply(True)
        return self

    def fit_transform(self, raw_documents, y=None):
        return self.transform(raw_documents)

    def _restore(self):
        super()._restore()
        self.n_features = self._geti("n_features")
        self.norm = {0: None, 1: "l1", 2: "l2"}[self._geti("norm")]
        self.alternate_sign = bool(self._geti("alternate_sign"))
