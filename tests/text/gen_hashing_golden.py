#!/usr/bin/python3
"""Generate tests/text/hashing_golden.json with Debian's python3-sklearn.

    /usr/bin/python3 tests/text/gen_hashing_golden.py > tests/text/hashing_golden.json

The committed JSON lets CI check seqnet's HashingVectorizer without sklearn.
"""
import json
import random
import sys

import sklearn
from sklearn.feature_extraction.text import HashingVectorizer

DOCS = [
    "The cat sat on the mat.", "The dog ate my homework.", "", "a b c",
    "Grüße aus MÜNCHEN", "ΟΔΟΣ ΣΟΦΟΣ", "İstanbul naïve café", "日本語 テキスト 三四",
    "emoji 😀😀 ok", "snake_case x_y __ 3.14 1,000", "free money!!! click here now free",
    "zero\u200dwidth joiner", "x²y ½ ٣٤", "repeat repeat repeat words words",
]


def random_docs(seed, n):
    rnd = random.Random(seed)
    alphabet = "abcdefghijklmnopqrstuvwxyz     éßÆΣσ日本_0123456789'.,-"
    return ["".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 80))) for _ in range(n)]


CASES = [
    ("default_small_nf", {"n_features": 16}, DOCS),
    ("default_2_20", {}, DOCS),
    ("no_alternate_sign", {"n_features": 32, "alternate_sign": False}, DOCS),
    ("binary_l1", {"n_features": 8, "binary": True, "norm": "l1"}, DOCS),
    ("norm_none", {"n_features": 64, "norm": None}, DOCS),
    ("ngrams_stop", {"n_features": 1024, "ngram_range": [1, 3], "stop_words": "english"}, DOCS),
    ("no_lowercase_prime", {"n_features": 97, "lowercase": False}, DOCS),
    ("random_texts", {"n_features": 50}, random_docs(7, 60)),
    ("random_bigrams", {"n_features": 2 ** 18, "ngram_range": [2, 2]}, random_docs(11, 60)),
    ("one_feature", {"n_features": 1, "alternate_sign": True, "norm": None}, DOCS),
]


def main():
    cases = []
    for cid, params, docs in CASES:
        kw = dict(params)
        if "ngram_range" in kw:
            kw["ngram_range"] = tuple(kw["ngram_range"])
        X = HashingVectorizer(**kw).transform(docs).tocsr()
        entries = []
        for r in range(X.shape[0]):
            for k in range(X.indptr[r], X.indptr[r + 1]):
                entries.append([r, int(X.indices[k]), float(X.data[k])])
        cases.append({"id": cid, "params": params, "docs": docs, "shape": list(X.shape), "entries": entries})
    json.dump({"generated_by": "Debian python3-sklearn %s, Python %s" % (sklearn.__version__,
                                                                        sys.version.split()[0]),
               "cases": cases}, sys.stdout, ensure_ascii=False, indent=0)
    sys.stdout.write("\n")


main()
