#!/usr/bin/python3
# tests/bench/torch_cpu.py -- run one torch_ref.py workload timed by CPU time.
#
# Copyright (c) 2026 the seqnet developers. MIT licensed, see COPYING.
#
#   /usr/bin/python3 torch_cpu.py --threads N [--blas-threads M] --only W2 [...]
#
# Same arguments and the same JSON line as torch_ref.py (whose workload code
# is used unchanged: this file imports it), except that every interval is
# measured by time.process_time() -- the CPU time of the whole process, all
# threads, user + system -- instead of time.perf_counter(). On a machine
# that other processes load, wall-clock throughput counts the time they held
# the cores; CPU time does not. "train_sps" etc. then read "samples per CPU
# second", and "clock": "cpu" marks the line. One workload per call (the
# child of torch_ref.py is run in this process, after re-executing itself
# with torch_ref's glibc malloc settings when --malloc tuned, the default).
import os
import sys
import time

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
import torch_ref  # noqa: E402  (defines only; imports torch inside child())

MARK = "SEQNET_TORCH_CPU_CHILD"


def main():
    args = torch_ref.parse()
    if not args.only or "," in args.only:
        raise SystemExit("torch_cpu.py: give exactly one workload with --only")
    if os.environ.get(MARK) != "1":
        env = dict(os.environ)
        for k in torch_ref.MALLOC_TUNED:
            env.pop(k, None)
        if args.malloc == "tuned":
            env.update(torch_ref.MALLOC_TUNED)
        env[MARK] = "1"
        os.execve(sys.executable, [sys.executable, os.path.abspath(__file__)] + sys.argv[1:],
                  env)
    # torch_ref's bench() reads time.perf_counter at call time.
    time.perf_counter = time.process_time
    real_stdout = sys.stdout

    class Tag:
        def write(self, s):
            if s.startswith("{"):
                s = '{"clock": "cpu", ' + s[1:]
            return real_stdout.write(s)

        def flush(self):
            real_stdout.flush()

    sys.stdout = Tag()
    torch_ref.child(args, args.only)
    sys.stdout = real_stdout


if __name__ == "__main__":
    main()
