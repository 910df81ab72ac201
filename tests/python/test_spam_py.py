"""The Python spam example (examples/python/spam.py) on synthetic mail: raw
RFC 822 messages (plain, HTML, base64, quoted-printable) are read, the
filter trains, scores held-out mail, and its saved file carries the
vectorizer. Prints 'N passed, N failed'."""
import base64
import os
import quopri
import random
import sys
import tempfile
import traceback

import numpy as np

sys.path.insert(0, os.path.join(os.environ.get("SEQNET_SOURCE_ROOT", "."), "examples", "python"))
import seqnet  # noqa: E402
import spam  # noqa: E402

HAM = "meeting agenda project report schedule review budget team lunch notes".split()
SPAM = "free winner cash prize click offer viagra casino loan urgent".split()


def raw_message(words, kind, i):
    body = " ".join(words)
    if kind == 0:
        return ("Subject: note %d\nContent-Type: text/plain\n\n%s\n" % (i, body)).encode()
    if kind == 1:
        return ("Subject: hello %d\nContent-Type: text/html\n\n<html><b>%s</b> &amp; more</html>\n"
                % (i, body)).encode()
    if kind == 2:
        enc = base64.b64encode(body.encode()).decode()
        return ("Subject: b64 %d\nContent-Type: text/plain\nContent-Transfer-Encoding: base64"
                "\n\n%s\n" % (i, enc)).encode()
    enc = quopri.encodestring(body.encode()).decode()
    return ("Subject: qp %d\nContent-Type: text/plain; charset=utf-8\n"
            "Content-Transfer-Encoding: quoted-printable\n\n%s\n" % (i, enc)).encode()


def corpus(n, seed):
    rng = random.Random(seed)
    texts, labels = [], []
    for i in range(n):
        is_spam = i % 3 == 0
        vocab = SPAM if is_spam else HAM
        words = [rng.choice(vocab) for _ in range(rng.randint(5, 12))]
        words += [rng.choice(HAM + SPAM) for _ in range(rng.randint(0, 3))]
        texts.append(spam.message_text(raw_message(words, i % 4, i)))
        labels.append(1.0 if is_spam else 0.0)
    return texts, np.array(labels, np.float32)


def test_extraction_decodes_parts():
    t = spam.message_text(raw_message(["free", "cash"], 2, 7))
    assert "b64 7" in t and "free cash" in t, t
    t = spam.message_text(raw_message(["team", "lunch"], 1, 3))
    assert "<b>" not in t and "team lunch" in t and "& more" in t, t


def test_filter_learns_and_saves_with_its_vectorizer():
    texts, labels = corpus(600, 1)
    model, vec, probs, truth = spam.train(texts, labels, epochs=4, features=2000)
    m = spam.metrics(probs, truth)
    assert m["accuracy"] > 0.95 and m["roc_auc"] > 0.98, m
    path = os.path.join(tempfile.mkdtemp(), "spam.snm")
    model.save(path, texts={"vectorizer": vec})
    loaded = seqnet.load_model(path)
    v2 = loaded.texts["vectorizer"]
    x = v2.transform(["free cash prize click now", "project meeting notes"])
    p = loaded.predict(spam.dense_rows(x, np.arange(2)))[:, 0]
    assert p[0] > 0.5 > p[1], p


def main():
    tests = [test_extraction_decodes_parts, test_filter_learns_and_saves_with_its_vectorizer]
    passed = failed = 0
    for fn in tests:
        try:
            fn()
            passed += 1
            print("ok", fn.__name__)
        except Exception:
            failed += 1
            print("FAIL", fn.__name__)
            traceback.print_exc()
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
