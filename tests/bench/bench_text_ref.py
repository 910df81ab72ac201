#!/usr/bin/python3
"""Reference side of bench_text.sh: scikit-learn (Debian python3-sklearn) and
the Keras Tokenizer algorithm (a faithful pure-Python port of
keras_preprocessing.text.Tokenizer.fit_on_texts / texts_to_sequences), on
the same corpus file as bench_text. One JSON line per run, same fields:
wall and CPU seconds (time.process_time: user + sys) of the phase alone;
decoding the file and importing scikit-learn are outside both timings.

    bench_text_ref.py PHASE FILE     PHASE: tokenizer | count | tfidf | hashing
"""
import json
import resource
import struct
import sys
import time
from collections import OrderedDict, defaultdict

FILTERS = '!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n'


def load(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack_from("<I", data, 0)
    pos, out = 4, []
    for _ in range(n):
        (ln,) = struct.unpack_from("<I", data, pos)
        pos += 4
        out.append(data[pos:pos + ln].decode("utf-8", "replace"))
        pos += ln
    return out, pos - 4 - 4 * n


def keras_words(text, table):
    return [w for w in text.lower().translate(table).split(" ") if w]


def keras_tokenizer(texts):
    table = str.maketrans({c: " " for c in FILTERS})
    word_counts, word_docs = OrderedDict(), defaultdict(int)
    for text in texts:
        seq = keras_words(text, table)
        for w in seq:
            word_counts[w] = word_counts.get(w, 0) + 1
        for w in set(seq):
            word_docs[w] += 1
    wcounts = sorted(word_counts.items(), key=lambda x: x[1], reverse=True)
    word_index = {w: i for i, (w, _) in enumerate(wcounts, 1)}
    seqs = [[word_index[w] for w in keras_words(t, table) if w in word_index] for t in texts]
    return len(word_index), sum(len(s) for s in seqs)


def main():
    phase, path = sys.argv[1], sys.argv[2]
    texts, nbytes = load(path)
    if phase != "tokenizer":
        from sklearn.feature_extraction.text import CountVectorizer, HashingVectorizer, TfidfVectorizer
    c0 = time.process_time()
    t0 = time.perf_counter()
    if phase == "tokenizer":
        vocab, nnz = keras_tokenizer(texts)
        impl = "keras-algorithm (pure Python)"
    else:
        if phase == "hashing":
            X = HashingVectorizer().transform(texts)
        else:
            X = (CountVectorizer() if phase == "count" else TfidfVectorizer()).fit_transform(texts)
        vocab, nnz = X.shape[1], X.nnz
        impl = "scikit-learn"
    dt = time.perf_counter() - t0
    dc = time.process_time() - c0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(json.dumps({"impl": impl, "phase": phase, "docs": len(texts), "mb": round(nbytes / 1e6, 1),
                      "seconds": round(dt, 3), "cpu_seconds": round(dc, 3),
                      "mb_per_s": round(nbytes / 1e6 / dt, 1), "cpu_mb_per_s": round(nbytes / 1e6 / dc, 1),
                      "peak_rss_mb": round(rss, 1), "vocab": vocab, "nnz_or_ids": nnz}))


main()
