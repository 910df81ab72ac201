"""Tests of examples/python/sentiment.py (the course's IMDB sentiment models)
on a small synthetic corpus: CI has no IMDB download.

Run by meson with SEQNET_LIBRARY and PYTHONPATH (examples/python) set; prints
'N passed, N failed' and exits non-zero on a failure. Needs numpy.

The corpus: English-looking reviews built from neutral filler, with a few
sentiment words; a review is positive when its positive words outnumber its
negative ones (ties are not generated). Reviews vary in length (so post-padding
matters), contain '<br />' tags and punctuation like the IMDB reviews, and the
sentiment words are shared by both classes, so a model has to weigh them.
"""
import contextlib
import io
import json
import os
import random
import re
import sys
import tempfile
import traceback

import numpy as np

import seqnet
import sentiment

TESTS = []


def test(fn):
    TESTS.append(fn)
    return fn


POSITIVE = ("good great wonderful superb brilliant moving enjoyable delightful charming "
            "excellent").split()
NEGATIVE = ("bad awful boring terrible dull clumsy tedious horrible weak pointless").split()
FILLER = ("the a movie film plot actor actress scene story this that it was is and of to in "
          "director camera music ending character script two hours cast role I we they saw "
          "watched thought felt seemed quite rather very really").split()


def make_corpus(n, seed):
    """n reviews as the dicts of reviews.json: {"t": text, "s": 0|1}."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        label = i % 2
        strong, weak = rng.randint(2, 4), rng.randint(0, 1)
        words = [rng.choice(FILLER) for _ in range(rng.randint(8, 40))]
        good = POSITIVE if label else NEGATIVE
        bad = NEGATIVE if label else POSITIVE
        for w in [rng.choice(good) for _ in range(strong)] + \
                 [rng.choice(bad) for _ in range(weak)]:
            words.insert(rng.randrange(len(words) + 1), w)
        text = " ".join(words)
        cut = rng.randrange(len(text))
        cut = text.find(" ", cut)
        if cut > 0:
            text = text[:cut] + ".<br /><br />" + text[cut:].capitalize()
        out.append({"t": text.capitalize() + "!", "s": label})
    return out


def corpus_file(tmp, n, seed):
    path = os.path.join(tmp, "reviews.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(make_corpus(n, seed), f)
    return path


def split_data(path, seed=1, full=False):
    texts, labels, n_train, n_val = sentiment.load_reviews(path, seed, full)
    tok, x, vocab = sentiment.vectorize(texts)
    a, b = n_train, n_train + n_val
    return (x[:a], labels[:a]), (x[a:b], labels[a:b]), (x[b:], labels[b:]), vocab


@test
def inception_param_count_is_the_courses():
    # V = 62,297 (the course's tokenizer on its 15,000 reviews): 1,899,161 params.
    model = sentiment.build_model("inception", 62297, 500)
    assert model.count_params() == 1899161, model.count_params()
    text = model.summary_string()
    assert "Total params: 1,899,161" in text, text
    for name in ("conv1d (Conv1D)", "conv1d_2 (Conv1D)", "concatenate (Concatenate)"):
        assert name in text, name
    # three kernel sizes, 'same' padding: every branch keeps the 500 steps
    kernels = sorted(w[0].shape for w in (L.get_weights() for L in model.layers)
                     if len(w) == 2 and w[0].ndim == 3)
    assert kernels == [(3, 30, 50), (5, 30, 50), (7, 30, 50)], kernels
    assert text.count("(None, 500, 50)") == 3, text
    # Keras shows the token input without a feature axis, as a list of one
    assert "(InputLayer)" in text and "[(None, 500)]" in text, text


@test
def course_pooled_param_count():
    model = sentiment.build_model("pooled", 62297, 500)
    assert model.count_params() == 1869551, model.count_params()


@test
def recurrent_models_build():
    # Embedding 100*32; LSTM 4*32*(32+32+1) = 8,320 per direction; Dense 32+1 or 64+1.
    assert sentiment.build_model("lstm", 100, None).count_params() == 3200 + 8320 + 33
    assert sentiment.build_model("bilstm", 100, None).count_params() == 3200 + 2 * 8320 + 65
    try:
        sentiment.build_model("inception", 100, 10, mask_zero=True)
    except ValueError:
        pass
    else:
        raise AssertionError("inception with a mask must be refused")


@test
def warmup_defaults():
    # 5 epochs for the inception model on 15,000 reviews, none on --full
    # (past chance after one epoch of 40,000) and none for the other models
    assert sentiment.default_warmup("inception", False) == 5
    assert sentiment.default_warmup("inception", True) == 0
    for kind in ("pooled", "lstm", "bilstm"):
        assert sentiment.default_warmup(kind, False) == 0, kind


@test
def dropout_and_learning_rate_options():
    # --dropout sets both Dropout layers of the course's models; the default
    # rates are 0.5 (pooled) and 0.7 (inception).
    def rates(model):
        return [L.rate for L in model.layers if type(L).__name__ == "Dropout"]
    assert rates(sentiment.build_model("pooled", 100, 10)) == [0.5, 0.5]
    assert rates(sentiment.build_model("inception", 100, 10)) == [0.7, 0.7]
    assert rates(sentiment.build_model("inception", 100, 10, dropout=0.45)) == [0.45, 0.45]
    # --lr is Adam's step: on the first step Adam moves every weight with a
    # gradient by almost exactly the learning rate (m / sqrt(v) = sign(g)).
    x = np.array([[1, 2, 3, 0], [4, 5, 0, 0]], dtype=np.int32)
    y = np.array([1.0, 0.0], dtype=np.float32)
    for lr in (0.001, 0.02):
        seqnet.set_seed(5)
        model = sentiment.build_model("pooled", 10, 4, dropout=0.0, learning_rate=lr)
        before = [w.copy() for w in model.get_weights()]
        model.train_on_batch(x, y)
        bias_step = abs(float(model.get_weights()[-1][0] - before[-1][0]))
        assert abs(bias_step - lr) < 1e-3 * lr, (lr, bias_step)
    # the defaults: 0.001 for the pooled model, 0.0005 for the inception one
    for kind, lr in (("pooled", 0.001), ("inception", 0.0005)):
        seqnet.set_seed(5)
        model = sentiment.build_model(kind, 10, 4, dropout=0.0)
        before = model.get_weights()[-1].copy()
        model.train_on_batch(x, y)
        bias_step = abs(float(model.get_weights()[-1][0] - before[0]))
        assert abs(bias_step - lr) < 1e-2 * lr, (kind, lr, bias_step)


@test
def protocol_split_tokenizer_and_post_padding():
    with tempfile.TemporaryDirectory() as tmp:
        path = corpus_file(tmp, 100, 5)
        texts, labels, n_train, n_val = sentiment.load_reviews(path, 7)
        assert (len(texts), n_train, n_val) == (99, 33, 33)        # three equal parts
        again = sentiment.load_reviews(path, 7)
        assert again[0] == texts and np.array_equal(again[1], labels)  # seeded shuffle
        other = sentiment.load_reviews(path, 8)
        assert other[0] != texts
        f_texts, _, f_train, f_val = sentiment.load_reviews(path, 7, full=True)
        assert (len(f_texts), f_train, f_val) == (100, 80, 10)      # 80 / 10 / 10
        # labels follow their texts through the shuffle
        truth = {r["t"]: r["s"] for r in make_corpus(100, 5)}
        assert all(truth[t] == s for t, s in zip(texts, labels))
    tok, x, vocab = sentiment.vectorize(texts)
    words = [re.sub(r'[!"#$%&()*+,\-./:;<=>?@\[\\\]^_`{|}~\t\n]', " ", t.lower()).split()
             for t in texts]
    longest = max(len(w) for w in words)
    assert x.dtype == np.int32 and x.shape == (99, longest), x.shape
    assert vocab == len({w for ws in words for w in ws}) + 1, vocab
    for row, ws in zip(x, words):                                 # post-padding
        assert list(row[:len(ws)]) == [tok.word_index[w] for w in ws]
        assert not row[len(ws):].any()
    _, xt, _ = sentiment.vectorize(texts, maxlen=10)              # the end of each review
    for row, ws in zip(xt, words):
        keep = ws[-10:]
        assert list(row[:len(keep)]) == [tok.word_index[w] for w in keep]


def check_learns(kind, epochs, bound, warmup=None, **kw):
    with tempfile.TemporaryDirectory() as tmp:
        path = corpus_file(tmp, 1500, 11)
        (xa, ya), (xv, yv), (xt, yt), vocab = split_data(path)
    seqnet.set_seed(3)
    model = sentiment.build_model(kind, vocab, xa.shape[1], **kw)
    if warmup is None:
        warmup = sentiment.WARMUP.get(kind, 0)
    history, best_epoch, best_val = sentiment.train(model, xa, ya, xv, yv, epochs, seed=3,
                                                    patience=3, verbose=0, warmup=warmup)
    val = history.history["val_accuracy"]
    assert warmup < best_epoch <= len(val) and best_val == max(val[warmup:]), (best_epoch, val)
    loss, acc = model.evaluate(xt, yt, batch_size=64)
    assert acc > bound, (kind, acc, val)
    # the best epoch's weights are the model's: evaluating val reproduces it
    _, vacc = model.evaluate(xv, yv, batch_size=64)
    assert abs(vacc - best_val) < 1e-6, (vacc, best_val)
    print("   %s: test accuracy %.4f after %d epochs (bound %.2f)" % (kind, acc, len(val), bound))
    return acc


@test
def pooled_learns_synthetic_sentiment():
    check_learns("pooled", 40, 0.9)


@test
def pooled_with_mask_learns():
    check_learns("pooled", 30, 0.9, mask_zero=True)


@test
def inception_learns_synthetic_sentiment():
    # The defaults (dropout 0.7, Adam at 0.0005) sit at chance for about 100
    # steps before they learn: 12 epochs of this small corpus (8 batches),
    # where IMDB's 5,000 reviews need up to 4 (79 batches). So the warm-up
    # here is 15 epochs, where the program's default is 5.
    check_learns("inception", 40, 0.9, warmup=15)


@test
def training_threads_option():
    # --threads / build_model(threads=): the pooled model's steps are shared
    # by the threads, so two threads give one thread's results exactly.
    one = check_learns("pooled", 40, 0.9)
    two = check_learns("pooled", 40, 0.9, threads=2)
    assert one == two, (one, two)


@test
def bilstm_learns_synthetic_sentiment():
    check_learns("bilstm", 8, 0.9)


@test
def the_program_runs_end_to_end():
    # main() as a user runs it: summary, progress bar, test accuracy.
    with tempfile.TemporaryDirectory() as tmp:
        path = corpus_file(tmp, 1500, 2)
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            rc = sentiment.main(["--data", path, "--model", "lstm", "--epochs", "12",
                                 "--patience", "4", "--seed", "4", "--verbose", "1",
                                 "--lr", "0.002", "--batch-size", "32"])
    text = out.getvalue()
    assert rc == 0
    assert "Total params:" in text and "lstm (LSTM)" in text, text
    assert "[==============================]" in text, text          # the progress bar
    m = re.search(r"RESULT model=lstm .*test_acc=([0-9.]+) .* lr=0.002 batch=32", text)
    assert m, text
    assert float(m.group(1)) > 0.8, text


def main():
    passed = failed = 0
    for fn in TESTS:
        try:
            fn()
            passed += 1
            print("ok", fn.__name__)
        except Exception:
            failed += 1
            print("FAIL", fn.__name__)
            traceback.print_exc()
        sys.stdout.flush()
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
