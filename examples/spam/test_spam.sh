#!/bin/bash
# test_spam.sh -- the spam filter's test (meson suite 'examples'); needs no
# corpus download.
#
#   test_spam.sh SPAM_EXTRACT SPAM_TRAIN SPAM_CLASSIFY TESTDATA WORKDIR
#
# 1. Extraction: every TESTDATA/NAME.eml (multipart, base64, quoted-printable,
#    HTML, Latin-1, invalid UTF-8, attachments) extracts to exactly
#    TESTDATA/NAME.expected.
# 2. A synthetic corpus (deterministic: ham about meetings and code, spam
#    about offers, some of it base64 HTML) trains a bow and a seq model;
#    spam_classify prints "SCORE VERDICT PATH" lines with the right
#    verdicts, from arguments, from a path list on stdin (with per-thread
#    copies of the text object) and from one message on stdin ("-").
# 3. The schema and the gates: a bow file is refused where a seq model is
#    asked for; a file that is not a model is refused; a model that learned
#    nothing (learning rate 1e-6, one epoch) is refused by the quality gate
#    (exit 3) and not written; --continue --add trains further and saves.
set -euo pipefail

extract=$1 train=$2 classify=$3 testdata=$4 work=$5
fail() { echo "FAIL: $*" >&2; exit 1; }

rm -rf "$work"
mkdir -p "$work"

echo "== extraction"
for eml in "$testdata"/*.eml; do
    expected=${eml%.eml}.expected
    if ! "$extract" "$eml" > "$work/got.txt"; then
        fail "spam_extract $eml exited non-zero"
    fi
    if ! cmp -s "$work/got.txt" "$expected"; then
        diff -u "$expected" "$work/got.txt" >&2 || true
        fail "extraction of $(basename "$eml") differs from $(basename "$expected")"
    fi
    echo "ok $(basename "$eml")"
done

echo "== synthetic corpus"
python3 - "$work" <<'EOF'
import base64, os, random, sys
work = sys.argv[1]
rng = random.Random(7)
ham_words = ("meeting agenda patch build release kernel review thanks lunch schedule "
             "tomorrow notes draft compile bug fix merge branch test server config "
             "documentation question answer team project").split()
spam_words = ("free offer winner cash prize click now limited viagra mortgage rates "
              "guaranteed million money unsubscribe discount casino pills credit "
              "investment cheap deal bonus urgent").split()
common = "the a and to of you your is for this on with we".split()

def body(words, n):
    return " ".join(rng.choice(words if rng.random() < 0.5 else common) for _ in range(n))

def write(path, subject, text, html=False):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if html:
        payload = base64.encodebytes(("<html><body><p>" + text + "</p></body></html>").encode())
        msg = (b"From: x@example.com\nSubject: " + subject.encode() +
               b"\nMIME-Version: 1.0\nContent-Type: text/html; charset=utf-8\n"
               b"Content-Transfer-Encoding: base64\n\n" + payload)
    else:
        msg = ("From: x@example.com\nSubject: %s\nContent-Type: text/plain\n\n%s\n"
               % (subject, text)).encode()
    with open(path, "wb") as f:
        f.write(msg)

def corpus(root, n_ham, n_spam):
    for i in range(n_ham):
        write(f"{root}/ham/{i:04d}.eml", body(ham_words, 4), body(ham_words, 40))
    for i in range(n_spam):
        write(f"{root}/spam/{i:04d}.eml", body(spam_words, 4), body(spam_words, 40),
              html=i % 2 == 0)

corpus(f"{work}/corpus", 150, 100)
corpus(f"{work}/add", 20, 20)
write(f"{work}/check/ham.eml", "patch review for the release",
      "thanks for the review, I will merge the branch after the build and test pass")
write(f"{work}/check/spam.eml", "free cash prize winner",
      "click now for your free cash prize, limited offer, guaranteed money bonus", html=True)
EOF

# check_lines FILE N: N lines "SCORE VERDICT PATH"; ham.eml ham, spam.eml spam
check_lines() {
    local file=$1 n=$2 lines
    lines=$(wc -l < "$file")
    [[ $lines -eq $n ]] || fail "expected $n output lines, got $lines: $(cat "$file")"
    while read -r score verdict path; do
        [[ $score =~ ^[01]\.[0-9]{4}$ ]] || fail "bad score '$score' in: $score $verdict $path"
        case $path in
            */ham.eml) [[ $verdict == ham ]] || fail "ham classified as $verdict ($score)" ;;
            */spam.eml|-) [[ $verdict == spam ]] || fail "spam classified as $verdict ($score)" ;;
            *) fail "unexpected path $path" ;;
        esac
    done < "$file"
}

for kind in bow seq; do
    echo "== $kind model"
    if [[ $kind == bow ]]; then
        extra=(--max-features 2000 --epochs 20 --lr 0.05)
    else
        extra=(--vocab 500 --seq-len 48 --epochs 12 --lr 0.01)
    fi
    "$train" --model $kind --data "$work/corpus" --out "$work/$kind.seqnet" "${extra[@]}" \
        --dump "$work/dump-$kind" > "$work/train-$kind.log" ||
        { cat "$work/train-$kind.log" >&2; fail "spam_train --model $kind"; }
    grep '^RESULT' "$work/train-$kind.log"
    acc=$(sed -n 's/^RESULT .*accuracy=\([0-9.]*\) .*/\1/p' "$work/train-$kind.log")
    python3 -c "import sys; sys.exit(0 if float('$acc') >= 0.9 else 1)" ||
        fail "$kind test accuracy $acc < 0.9 on the synthetic corpus"
    [[ $(wc -l < "$work/dump-$kind/spam.tsv") -eq 251 ]] || fail "dump has the wrong size"

    "$classify" "$work/$kind.seqnet" "$work/check/ham.eml" "$work/check/spam.eml" \
        > "$work/out1.txt" 2> "$work/err1.txt" || { cat "$work/err1.txt" >&2; fail "classify"; }
    check_lines "$work/out1.txt" 2
    grep -q 'messages/s' "$work/err1.txt" || fail "no throughput line"
    grep -q 'extraction .* us, classification .* us' "$work/err1.txt" || fail "no latency line"

    printf '%s\n\n%s\n' "$work/check/spam.eml" "$work/check/ham.eml" |
        "$classify" "$work/$kind.seqnet" --threads 3 --copy-text > "$work/out2.txt" 2>/dev/null ||
        fail "classify from a path list"
    check_lines "$work/out2.txt" 2
    "$classify" "$work/$kind.seqnet" - < "$work/check/spam.eml" > "$work/out3.txt" 2>/dev/null ||
        fail "classify one message on stdin"
    check_lines "$work/out3.txt" 1
    echo "ok $kind: train, classify (arguments, path list, stdin)"
done

echo "== schema and gates"
if "$train" --continue "$work/bow.seqnet" --model seq --add "$work/add" \
        > /dev/null 2> "$work/err.txt"; then
    fail "a bow model was accepted as a seq model"
fi
grep -q 'holds a "bow" model' "$work/err.txt" || fail "no clear schema message: $(cat "$work/err.txt")"
if "$classify" "$testdata/plain_crlf.eml" "$work/check/ham.eml" > /dev/null 2> "$work/err.txt"; then
    fail "a message file was accepted as a model"
fi
grep -q 'not a readable seqnet model file' "$work/err.txt" || fail "no clear message: $(cat "$work/err.txt")"
echo "ok: mismatched files refused"

status=0
"$train" --model bow --data "$work/corpus" --out "$work/degenerate.seqnet" --lr 0.000001 \
    --epochs 1 --max-features 2000 > /dev/null 2> "$work/err.txt" || status=$?
[[ $status -eq 3 ]] || fail "the quality gate did not refuse a degenerate model (exit $status)"
grep -q 'refusing to save a degenerate model' "$work/err.txt" || fail "no gate message"
[[ ! -e $work/degenerate.seqnet ]] || fail "the degenerate model was written"
echo "ok: quality gate"

"$train" --continue "$work/bow.seqnet" --add "$work/add" --out "$work/bow2.seqnet" \
    > "$work/continue.log" || { cat "$work/continue.log" >&2; fail "--continue"; }
grep -q 'restored the saved Adam state' "$work/continue.log" || fail "optimizer state not restored"
"$classify" "$work/bow2.seqnet" "$work/check/ham.eml" "$work/check/spam.eml" \
    > "$work/out4.txt" 2>/dev/null || fail "classify with the continued model"
check_lines "$work/out4.txt" 2
echo "ok: --continue --add"
echo "all spam filter checks passed"
