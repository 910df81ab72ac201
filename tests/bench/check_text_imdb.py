#!/usr/bin/python3
"""The text room against scikit-learn on the whole IMDB set (50,000 reviews,
4,660 of them with non-ASCII text): CountVectorizer (defaults, and 1-2
grams with min_df / max_df pruning), TfidfVectorizer (sublinear tf) and
HashingVectorizer must give identical vocabularies and CSR structure, and
values equal to 1e-12 relative; the Tokenizer the word_index and sequences
of the Keras algorithm. Run after tests/bench/bench_text.sh has
fetched the data (or scripts/fetch-imdb.sh):

    SEQNET_LIBRARY=build/lib/libseqnet.so /usr/bin/python3 tests/bench/check_text_imdb.py

Exits 1 when any case differs.
"""
import json
import os
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "examples", "python"))
import seqnet
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer, HashingVectorizer
r = json.load(open(os.path.join(ROOT, 'data', 'imdb', 'reviews.json'), encoding='utf-8'))
bad = 0
texts = [x['t'] for x in r]
for name, ours, ref in [("count", seqnet.CountVectorizer(), CountVectorizer()),
                        ("count-bigram-minmax", seqnet.CountVectorizer(ngram_range=(1,2), min_df=3, max_df=0.5), CountVectorizer(ngram_range=(1,2), min_df=3, max_df=0.5)),
                        ("tfidf", seqnet.TfidfVectorizer(sublinear_tf=True), TfidfVectorizer(sublinear_tf=True)),
                        ("tfidf-transform", seqnet.TfidfVectorizer(), TfidfVectorizer()),
                        ("hashing", seqnet.HashingVectorizer(), HashingVectorizer())]:
    if name == "hashing":
        A = ours.transform(texts); B = ref.transform(texts)
    elif name.endswith("-transform"):  # fitted on one half, applied to the other
        ours.fit(texts[:25000]); ref.fit(texts[:25000])
        A = ours.transform(texts[25000:]); B = ref.transform(texts[25000:])
    else:
        A = ours.fit_transform(texts); B = ref.fit_transform(texts)
        assert list(ours.get_feature_names_out()) == list(ref.get_feature_names_out()), name
    B = B.tocsr(); A_ip, A_ix, A_d = np.asarray(A.indptr), np.asarray(A.indices), np.asarray(A.data)
    B.sort_indices()
    ok = (A_ip == B.indptr).all() and (A_ix == B.indices).all() and np.allclose(A_d, B.data, rtol=1e-12, atol=0)
    print(name, A.shape, len(A_ix), B.nnz, "EQUAL" if ok else "DIFFER")
    bad += not ok

# The Keras Tokenizer: word_index and texts_to_sequences against a
# pure-Python port of keras_preprocessing's algorithm (default filters,
# lower, split " "), fitted on the first half, applied to the second.
FILTERS = '!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n'
table = str.maketrans({c: " " for c in FILTERS})


def keras_words(text):
    return [w for w in text.lower().translate(table).split(" ") if w]


counts = {}
for text in texts[:25000]:
    for w in keras_words(text):
        counts[w] = counts.get(w, 0) + 1
ranked = sorted(counts.items(), key=lambda x: x[1], reverse=True)  # stable: ties in first-seen order
ref_index = {w: i for i, (w, _) in enumerate(ranked, 1)}
tok = seqnet.Tokenizer()
tok.fit_on_texts(texts[:25000])
ours_seqs = tok.texts_to_sequences(texts[25000:])
ref_seqs = [[ref_index[w] for w in keras_words(t) if w in ref_index] for t in texts[25000:]]
ok = tok.word_index == ref_index and [list(q) for q in ours_seqs] == ref_seqs
print("tokenizer", len(ref_index), sum(len(q) for q in ref_seqs), "EQUAL" if ok else "DIFFER")
bad += not ok
sys.exit(1 if bad else 0)
