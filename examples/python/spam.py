#!/usr/bin/python3
"""The spam filter in a few lines of Python, through the seqnet binding.

The same model as examples/spam (the C demo's bag-of-words model): TF-IDF of
1-2 grams with seqnet's TfidfVectorizer (scikit-learn semantics), a logistic
regression (Dense(1, sigmoid)) trained with Adam, saved with its vectorizer.
Mail is read with Python's own email package here (the C demo uses GMime).

    ./scripts/fetch-spam.sh
    SEQNET_LIBRARY=build/lib/libseqnet.so PYTHONPATH=examples/python \\
        /usr/bin/python3 examples/python/spam.py --data data/spam
"""
import argparse
import email
import email.policy
import html
import os
import random
import re

import numpy as np

import seqnet


def message_text(raw):
    """Subject and the text of the body parts of a raw RFC 822 message."""
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    parts = [str(msg.get("subject", ""))]
    for part in msg.walk():
        if part.get_content_maintype() != "text":
            continue
        try:
            text = part.get_content()
        except (LookupError, UnicodeError, AssertionError):
            text = part.get_payload(decode=True).decode("latin-1", "replace")
        if part.get_content_subtype() == "html":
            text = html.unescape(re.sub(r"<[^>]*>", " ", text))
        parts.append(text)
    return "\n".join(parts)


def load_corpus(folder):
    """(texts, labels) of every message under folder; spam when the
    sub-folder's name starts with 'spam'."""
    texts, labels = [], []
    for sub in sorted(os.listdir(folder)):
        path = os.path.join(folder, sub)
        if not os.path.isdir(path):
            continue
        for name in sorted(os.listdir(path)):
            with open(os.path.join(path, name), "rb") as f:
                texts.append(message_text(f.read()))
            labels.append(1.0 if sub.startswith("spam") else 0.0)
    return texts, np.array(labels, np.float32)


def batches(x, y, size, rng):
    """Dense float32 batches from a CSR matrix, shuffled each pass."""
    order = np.arange(x.shape[0])
    while True:
        rng.shuffle(order)
        for i in range(0, len(order), size):
            rows = order[i:i + size]
            yield dense_rows(x, rows), y[rows]


def dense_rows(x, rows):
    out = np.zeros((len(rows), x.shape[1]), np.float32)
    for k, r in enumerate(rows):
        a, b = x.indptr[r], x.indptr[r + 1]
        out[k, x.indices[a:b]] = x.data[a:b]
    return out


def train(texts, labels, seed=42, epochs=8, features=30000, verbose=0):
    """Split, fit the vectorizer and the model; returns (model, vectorizer,
    test probabilities, test labels)."""
    seqnet.set_seed(seed)
    idx = list(range(len(texts)))
    random.Random(seed).shuffle(idx)
    cut = int(0.8 * len(idx))
    tr, te = idx[:cut], idx[cut:]
    vec = seqnet.TfidfVectorizer(ngram_range=(1, 2), max_features=features, sublinear_tf=True)
    x_tr = vec.fit_transform([texts[i] for i in tr])
    x_te = vec.transform([texts[i] for i in te])
    model = seqnet.Sequential([seqnet.layers.Dense(1, activation="sigmoid",
                                                   input_shape=(x_tr.shape[1],))])
    model.compile(optimizer=seqnet.optimizers.Adam(learning_rate=0.01),
                  loss="binary_crossentropy", metrics=["accuracy"])
    model.fit(batches(x_tr, labels[tr], 32, np.random.default_rng(seed)),
              steps_per_epoch=(len(tr) + 31) // 32, epochs=epochs, verbose=verbose)
    probs = np.concatenate([model.predict(dense_rows(x_te, np.arange(i, min(i + 256, len(te)))))
                            for i in range(0, len(te), 256)])[:, 0]
    return model, vec, probs, labels[te]


def metrics(probs, labels, threshold=0.5):
    pred = probs > threshold
    truth = labels > 0.5
    tp, fp = np.sum(pred & truth), np.sum(pred & ~truth)
    fn, tn = np.sum(~pred & truth), np.sum(~pred & ~truth)
    precision = tp / max(tp + fp, 1)
    recall = tp / max(tp + fn, 1)
    # ROC AUC as the probability that a spam outscores a ham (ties count half)
    order = np.argsort(probs, kind="mergesort")
    ranks = np.empty(len(probs))
    ranks[order] = np.arange(1, len(probs) + 1)
    n_pos, n_neg = truth.sum(), (~truth).sum()
    auc = (ranks[truth].sum() - n_pos * (n_pos + 1) / 2) / max(n_pos * n_neg, 1)
    return dict(accuracy=float((tp + tn) / len(labels)), precision=float(precision),
                recall=float(recall), f1=float(2 * precision * recall / max(precision + recall, 1e-12)),
                roc_auc=float(auc), ham_fpr=float(fp / max(fp + tn, 1)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default="data/spam")
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--out", default=None, help="save the model (with its vectorizer) here")
    args = ap.parse_args()
    texts, labels = load_corpus(args.data)
    model, vec, probs, truth = train(texts, labels, epochs=args.epochs, verbose=2)
    for k, v in metrics(probs, truth).items():
        print("%-9s %.4f" % (k, v))
    if args.out:
        model.save(args.out, texts={"vectorizer": vec})
        print("saved", args.out)


if __name__ == "__main__":
    main()
