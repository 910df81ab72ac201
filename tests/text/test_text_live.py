#!/usr/bin/python3
"""Text room against live Python and scikit-learn (Debian python3-sklearn).

Registered by meson only when `/usr/bin/python3 -c "import sklearn"` works.
Checks: str.lower() over every code point (with Final_Sigma probes around
each), re's \\w over every code point, and CountVectorizer /
TfidfVectorizer / HashingVectorizer on random texts with random settings.
Prints "N passed, M failed".
"""
import ctypes
import random
import re
import sys
import traceback

import numpy as np
import seqnet
from sklearn.feature_extraction.text import CountVectorizer, HashingVectorizer, TfidfVectorizer

results = {"passed": 0, "failed": 0}


def check(name, fn):
    try:
        fn()
        results["passed"] += 1
    except Exception:
        results["failed"] += 1
        print("FAIL", name)
        traceback.print_exc()


ALL = [chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]


def lower_all():
    for i in range(0, len(ALL), 65536):
        chunk = " ".join(ALL[i:i + 65536])
        ours = seqnet.text_lower(chunk)
        if ours != chunk.lower():
            for a, b, c in zip(ours.split(" "), chunk.lower().split(" "), chunk.split(" ")):
                assert a == b, (hex(ord(c[0])) if c else "space", a, b)
            assert ours == chunk.lower()


def sigma_context():
    probes = []
    for ch in ALL:
        probes += ["A" + ch + "\u03a3", "1" + ch + "\u03a3", ch + "\u03a3", "A\u03a3" + ch, "A\u03a3" + ch + "b"]
    for i in range(0, len(probes), 50000):
        text = " ".join(probes[i:i + 50000])
        assert seqnet.text_lower(text) == text.lower()


def word_all():
    fn = seqnet._lib.seqnet_text_is_word_char
    fn.argtypes = [ctypes.c_uint32]
    fn.restype = ctypes.c_int32
    bad = [hex(ord(c)) for c in ALL if bool(fn(ord(c))) != bool(re.match(r"\w", c))]
    assert not bad, bad[:20]


def random_docs(rnd, n):
    pool = ["the", "cat", "sat", "mat", "dog", "and", "The", "Über", "straße", "ΣΟΦΟΣ", "x_y", "42", "a",
            "naïve", "日本", "don't", "e-mail", "😀", "İstanbul", "café", "_", "ab12", "NBSP\u00a0x"]
    seps = [" ", " ", " ", ", ", ". ", "\n", "\t", "-", "!"]
    docs = []
    for _ in range(n):
        k = rnd.randint(0, 25)
        docs.append("".join(rnd.choice(pool) + rnd.choice(seps) for _ in range(k)))
    return docs


def compare(ours, theirs, tol):
    a = ours.toarray()
    b = theirs.toarray()
    assert a.shape == b.shape, (a.shape, b.shape)
    assert np.allclose(a, b, rtol=tol, atol=0), np.abs(a - b).max()


def vectorizers():
    rnd = random.Random(1234)
    for trial in range(30):
        docs = random_docs(rnd, rnd.randint(1, 40))
        params = {}
        if rnd.random() < 0.5:
            params["ngram_range"] = (1, rnd.randint(1, 3))
        if rnd.random() < 0.3:
            params["stop_words"] = "english"
        if rnd.random() < 0.3:
            params["binary"] = True
        if rnd.random() < 0.2:
            params["lowercase"] = False
        n = len(docs)
        if rnd.random() < 0.3:
            params["min_df"] = rnd.choice([1, 2, 0.1, 0.3])
        if rnd.random() < 0.3:
            params["max_df"] = rnd.choice([1.0, 0.9, 0.7, n])
        if rnd.random() < 0.3:
            params["max_features"] = rnd.randint(1, 12)
        tf_params = dict(params)
        if rnd.random() < 0.5:
            tf_params["norm"] = rnd.choice(["l1", "l2", None])
            tf_params["sublinear_tf"] = rnd.random() < 0.5
            tf_params["smooth_idf"] = rnd.random() < 0.7
            tf_params["use_idf"] = rnd.random() < 0.8
        for ours_cls, their_cls, p, tol in ((seqnet.CountVectorizer, CountVectorizer, params, 0),
                                            (seqnet.TfidfVectorizer, TfidfVectorizer, tf_params, 1e-12)):
            try:
                their = their_cls(**p)
                X2 = their.fit_transform(docs)
            except ValueError as e:
                try:
                    ours_cls(**p).fit_transform(docs)
                except ValueError:
                    continue
                raise AssertionError("sklearn raised %s, seqnet did not (%r)" % (e, p))
            ours = ours_cls(**p)
            X1 = ours.fit_transform(docs)
            names = list(their.get_feature_names_out())
            if "max_features" in p:
                q = {k: v for k, v in p.items() if k in ("ngram_range", "stop_words", "binary", "lowercase",
                                                          "min_df", "max_df")}
                if len(CountVectorizer(**q).fit(docs).vocabulary_) > 16:
                    continue  # numpy's unstable argsort decides ties: documented difference
            assert list(ours.get_feature_names_out()) == names, (p, docs)
            compare(X1, X2, tol)
            more = random_docs(rnd, 5)
            compare(ours.transform(more), their.transform(more), tol)
        hp = {"n_features": rnd.choice([1, 7, 64, 2 ** 20]), "alternate_sign": rnd.random() < 0.7,
              "norm": rnd.choice(["l1", "l2", None]), "binary": rnd.random() < 0.3}
        hp.update({k: v for k, v in params.items() if k in ("ngram_range", "stop_words", "lowercase")})
        compare(seqnet.HashingVectorizer(**hp).transform(docs), HashingVectorizer(**hp).transform(docs), 1e-12)


def long_documents_ngrams():
    # Reviews and mail run to hundreds of tokens: the analyzer makes n-grams
    # in blocks (64 at a time), so documents must cross block boundaries.
    rnd = random.Random(77)
    words = ["w%d" % i for i in range(120)] + ["longerwordnumber%d" % i for i in range(30)]
    docs = [" ".join(rnd.choice(words) for _ in range(rnd.randint(0, 700))) for _ in range(40)]
    for ng in [(1, 2), (2, 3), (1, 5), (3, 3)]:
        for ours_cls, their_cls, tol in ((seqnet.CountVectorizer, CountVectorizer, 0),
                                         (seqnet.TfidfVectorizer, TfidfVectorizer, 1e-12)):
            ours = ours_cls(ngram_range=ng).fit(docs[:30])
            their = their_cls(ngram_range=ng).fit(docs[:30])
            assert list(ours.get_feature_names_out()) == list(their.get_feature_names_out()), ng
            compare(ours.transform(docs[30:]), their.transform(docs[30:]), tol)
        hp = {"n_features": 2 ** 12, "ngram_range": ng}
        compare(seqnet.HashingVectorizer(**hp).transform(docs), HashingVectorizer(**hp).transform(docs),
                1e-12)


def main():
    check("lower_all_code_points", lower_all)
    check("final_sigma_context", sigma_context)
    check("word_char_all_code_points", word_all)
    check("random_vectorizers", vectorizers)
    check("long_documents_ngrams", long_documents_ngrams)
    print("%d passed, %d failed" % (results["passed"], results["failed"]))
    return 1 if results["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
