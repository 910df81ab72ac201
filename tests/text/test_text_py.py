#!/usr/bin/python3
"""Text room through the Python binding, against every case of
tests/golden/text_cases.json (Keras reference model and Debian's
python3-sklearn 1.2.1) and tests/text/hashing_golden.json.

Runs with plain /usr/bin/python3 (no pytest): prints "N passed, M failed"
and exits non-zero on any failure. Needs SEQNET_LIBRARY and PYTHONPATH
(set by meson). numpy is used when present, but not required.
"""
import json
import math
import os
import sys
import traceback

import seqnet

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
GOLDEN = json.load(open(os.path.join(ROOT, "tests", "golden", "text_cases.json"), encoding="utf-8"))
REL = 1e-12

results = {"passed": 0, "failed": 0}


def check(name, fn):
    try:
        fn()
        results["passed"] += 1
    except Exception:  # report and go on
        results["failed"] += 1
        print("FAIL", name)
        traceback.print_exc()


def tolist(m):
    if hasattr(m, "toarray"):
        m = m.toarray()
    return m.tolist() if hasattr(m, "tolist") else m


def close(a, b):
    return a == b or abs(a - b) <= REL * max(abs(a), abs(b))


def assert_matrix(got, exp, what):
    rows, cols = exp["shape"]
    got = tolist(got)
    assert len(got) == rows, (what, len(got), rows)
    if "dense" in exp:
        want = exp["dense"]
    else:
        want = [[0.0] * cols for _ in range(rows)]
        for r, c, v in exp["nonzeros"]:
            want[r][c] = v
    for r in range(rows):
        assert len(got[r]) == cols, (what, r, len(got[r]), cols)
        for c in range(cols):
            assert close(got[r][c], want[r][c]), (what, r, c, got[r][c], want[r][c])


def assert_rows(got, want, what, exact=False):
    got = tolist(got)
    assert len(got) == len(want), (what, len(got), len(want))
    for r, (g, w) in enumerate(zip(got, want)):
        assert len(g) == len(w), (what, r, g, w)
        for c, (x, y) in enumerate(zip(g, w)):
            if exact:
                assert x == y and type(x) == type(y) or x == y, (what, r, c, x, y)
            else:
                assert close(x, y), (what, r, c, x, y)


def make_tokenizer(settings):
    return seqnet.Tokenizer(**settings)


# ---- Keras tokenizer ---------------------------------------------------------

def keras_case(case):
    exp = case["expected"]
    tok = make_tokenizer(case["settings"])
    if "fit_on_texts_calls" in case:
        for call in case["fit_on_texts_calls"]:
            tok.fit_on_texts(call)
    if "fit_texts" in case:
        tok.fit_on_texts(case["fit_texts"])
    if "fit_sequences" in case:
        tok.fit_on_sequences(case["fit_sequences"])
    assert tok.document_count == exp["document_count"]
    assert list(tok.word_index.items()) == [tuple(p) for p in exp["word_index"]], tok.word_index
    assert sorted(tok.index_word.items()) == sorted(tuple(p) for p in exp["index_word"])
    assert list(tok.word_counts.items()) == [tuple(p) for p in exp["word_counts"]]
    assert sorted(tok.word_docs.items()) == sorted(tuple(p) for p in exp["word_docs"])
    assert sorted(tok.index_docs.items()) == sorted(tuple(p) for p in exp["index_docs"])
    if "texts_to_sequences" in exp:
        assert tok.texts_to_sequences(case["transform_texts"]) == exp["texts_to_sequences"]
    if "sequences_to_texts" in exp:
        assert tok.sequences_to_texts(exp["texts_to_sequences"]) == exp["sequences_to_texts"]
    if "texts_to_matrix" in exp:
        for mode, m in exp["texts_to_matrix"].items():
            assert_matrix(tok.texts_to_matrix(case["transform_texts"], mode=mode), m, case["id"] + ":" + mode)
    if "sequences_to_matrix" in exp:
        for mode, m in exp["sequences_to_matrix"].items():
            assert_matrix(tok.sequences_to_matrix(case["matrix_sequences"], mode=mode), m,
                          case["id"] + ":" + mode)
    # Round trip through bytes keeps everything.
    tok2 = seqnet.Tokenizer.from_bytes(tok.to_bytes())
    assert list(tok2.word_index.items()) == list(tok.word_index.items())
    assert tok2.document_count == tok.document_count
    assert sorted(tok2.index_docs.items()) == sorted(tok.index_docs.items())
    if "transform_texts" in case:
        assert tok2.texts_to_sequences(case["transform_texts"]) == tok.texts_to_sequences(case["transform_texts"])


def keras_edge(case):
    cid = case["id"]
    if cid == "k_err_unfitted_matrix":
        try:
            seqnet.Tokenizer().texts_to_matrix(["a"])
        except ValueError as e:
            assert "Specify a dimension" in str(e), e
        else:
            raise AssertionError("no error")
    elif cid == "k_bad_mode_only_empty_rows":
        m = seqnet.Tokenizer(num_words=4).sequences_to_matrix([[]], mode="bogus")
        assert tolist(m) == case["expected"]
    elif cid == "k_oov_unfitted":
        # Keras emits None; seqnet reports the state error instead (documented).
        try:
            seqnet.Tokenizer(oov_token="<OOV>").texts_to_sequences(["a b"])
        except ValueError as e:
            assert e.code == -7, e.code
        else:
            raise AssertionError("no error")
    elif cid == "k_err_empty_split":
        try:
            seqnet.text_to_word_sequence("a b", split="")
        except ValueError as e:
            assert "empty separator" in str(e), e
        else:
            raise AssertionError("no error")
    else:
        raise AssertionError("unknown edge case " + cid)


# ---- pad_sequences ------------------------------------------------------------

def pad_case(case):
    kw = dict(case["kwargs"])
    if "expected_error" in case:
        try:
            seqnet.pad_sequences(case["sequences"], **kw)
        except ValueError as e:
            assert case["message"] in str(e), (str(e), case["message"])
        else:
            raise AssertionError("no error")
        return
    out = seqnet.pad_sequences(case["sequences"], **kw)
    if hasattr(out, "shape"):
        assert list(out.shape) == case["expected_shape"], (out.shape, case["expected_shape"])
        dt = kw.get("dtype", "int32")
        assert out.dtype.name == dt, out.dtype
    got = tolist(out)
    assert len(got) == case["expected_shape"][0]
    assert_rows(got, case["expected"], case["id"])


# ---- scikit-learn ----------------------------------------------------------------

def make_vectorizer(kind, params):
    params = dict(params)
    if "ngram_range" in params:
        params["ngram_range"] = tuple(params["ngram_range"])
    cls = {"count": seqnet.CountVectorizer, "tfidf": seqnet.TfidfVectorizer,
           "hashing": seqnet.HashingVectorizer}[kind]
    return cls(**params)


def sklearn_case(case):
    vec = make_vectorizer(case["vectorizer"], case["params"])
    if "expected_error" in case:
        try:
            vec.fit_transform(case["fit_docs"])
        except ValueError as e:
            assert case["message"] in str(e), (str(e), case["message"])
        else:
            raise AssertionError("no error")
        return
    if case["id"] == "s_max_features_big_tie":
        vec.fit(case["fit_docs"])
        assert list(vec.get_feature_names_out()) == case["alphabetical_tie_break"]
        return
    exp = case["expected"]
    X = vec.fit_transform(case["fit_docs"])
    assert list(vec.get_feature_names_out()) == exp["feature_names"]
    exact = case["vectorizer"] == "count"
    assert_rows(X, exp["fit_transform"], case["id"] + ":fit_transform", exact)
    if exact and hasattr(X.data, "dtype"):
        assert X.data.dtype.name == "int64"
    if "stop_words_" in exp:
        assert vec.stop_words_ == set(exp["stop_words_"]), vec.stop_words_
    if "idf_" in exp:
        idf = list(vec.idf_)
        assert len(idf) == len(exp["idf_"]) and all(close(a, b) for a, b in zip(idf, exp["idf_"]))
    assert vec.vocabulary_ == {w: i for i, w in enumerate(exp["feature_names"])}
    # fit then transform gives the same as fit_transform
    vec2 = make_vectorizer(case["vectorizer"], case["params"])
    vec2.fit(case["fit_docs"])
    assert_rows(vec2.transform(case["fit_docs"]), exp["fit_transform"], case["id"] + ":fit+transform", exact)
    if "transform" in exp:
        assert_rows(vec.transform(case["transform_docs"]), exp["transform"], case["id"] + ":transform", exact)
    vec3 = type(vec).from_bytes(vec.to_bytes())
    assert list(vec3.get_feature_names_out()) == exp["feature_names"]
    assert_rows(vec3.transform(case["fit_docs"]), exp["fit_transform"], case["id"] + ":loaded", exact)


def table_case(row):
    text = row["text"]
    assert seqnet.text_lower(text) == row["lower"], (text, seqnet.text_lower(text), row["lower"])
    assert seqnet.text_to_word_sequence(text) == row["keras_text_to_word_sequence"] if row[
        "keras_text_to_word_sequence"] else True
    if row["keras_text_to_word_sequence"]:
        # dedup: text_to_word_sequence via the index maps repeated words fine
        pass
    if row["sklearn_default_analyzer"]:
        v = seqnet.CountVectorizer()
        X = v.fit_transform([text])
        names = list(v.get_feature_names_out())
        counts = tolist(X)[0]
        want = {}
        for w in row["sklearn_default_analyzer"]:
            want[w] = want.get(w, 0) + 1
        assert dict(zip(names, counts)) == want, (names, counts, want)
    else:
        try:
            seqnet.CountVectorizer().fit([text])
        except ValueError as e:
            assert "empty vocabulary" in str(e)
        else:
            raise AssertionError("expected empty vocabulary")


# ---- hashing (golden values from Debian python3-sklearn) -------------------------

def hashing_cases():
    path = os.path.join(HERE, "hashing_golden.json")
    data = json.load(open(path, encoding="utf-8"))
    for case in data["cases"]:
        def run(case=case):
            vec = make_vectorizer("hashing", case["params"])
            X = vec.transform(case["docs"])
            assert X.shape == tuple(case["shape"]), (X.shape, case["shape"])
            got = {}
            for r in range(X.shape[0]):
                for k in range(X.indptr[r], X.indptr[r + 1]):
                    got[(r, int(X.indices[k]))] = float(X.data[k])
            want = {(r, c): v for r, c, v in case["entries"]}
            assert set(got) == set(want), (sorted(set(got) ^ set(want))[:10])
            for key, v in want.items():
                assert close(got[key], v), (key, got[key], v)
        check("hashing:" + case["id"], run)


# ---- extra behaviour -----------------------------------------------------------------

def extra():
    def bytes_input():
        tok = seqnet.Tokenizer()
        tok.fit_on_texts([b"caf\xc3\xa9 \xff bad", "café"])
        assert tok.word_index["café"] == 1
        assert "\ufffd" in tok.word_index

    def strict_errors():
        v = seqnet.CountVectorizer(decode_error="strict")
        try:
            v.fit([b"ok text", b"bad \xe2\x82 here"])
        except ValueError as e:
            assert "text 1" in str(e) and "offset 4" in str(e), str(e)
        else:
            raise AssertionError("no error")

    def negative_ids():
        tok = seqnet.Tokenizer(num_words=5)
        try:
            tok.sequences_to_matrix([[1, -1]])
        except ValueError as e:
            assert e.code == -4
        else:
            raise AssertionError("no error")

    def no_numpy_lists():
        assert tolist(seqnet.pad_sequences([[1, 2], [3]], padding="post")) == [[1, 2], [3, 0]]

    def ngram_stop():
        v = seqnet.CountVectorizer(ngram_range=(1, 2), stop_words="english")
        v.fit(["the cat and the hat", "a cat sat"])
        assert list(v.get_feature_names_out()) == ["cat", "cat hat", "cat sat", "hat", "sat"]

    def load_garbage():
        for blob in (b"", b"SNTX", b"x" * 40, seqnet.Tokenizer().to_bytes()[:-1]):
            try:
                seqnet.Tokenizer.from_bytes(blob)
            except ValueError:
                pass
            else:
                raise AssertionError("loaded garbage")
        try:
            seqnet.CountVectorizer.from_bytes(seqnet.Tokenizer().to_bytes())
        except ValueError as e:
            assert e.code == -18
        else:
            raise AssertionError("wrong type accepted")

    for name, fn in list(locals().items()):
        if callable(fn):
            check("extra:" + name, fn)


def main():
    for case in GOLDEN["keras_tokenizer_cases"]:
        check(case["id"], lambda case=case: keras_case(case))
    for case in GOLDEN["keras_error_and_edge_cases"]:
        check(case["id"], lambda case=case: keras_edge(case))
    for case in GOLDEN["pad_sequences_cases"]:
        check(case["id"], lambda case=case: pad_case(case))
    for case in GOLDEN["sklearn_cases"]:
        check(case["id"], lambda case=case: sklearn_case(case))
    for i, row in enumerate(GOLDEN["tokenization_table"]):
        check("table_%d" % i, lambda row=row: table_case(row))
    if os.path.exists(os.path.join(HERE, "hashing_golden.json")):
        hashing_cases()
    extra()
    print("%d passed, %d failed" % (results["passed"], results["failed"]))
    return 1 if results["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
