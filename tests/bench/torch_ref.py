#!/usr/bin/python3
# tests/bench/torch_ref.py -- a verbatim copy of /work/shared/bench/torch_ref.py
# (the shared performance anchors of ../shared/bench/ANCHORS.md, PyTorch 1.13.1,
# Debian python3-torch), copied 2026-11-26 so the project carries its own
# PyTorch side. It is the reference workload definition: W1 here is the model
# and data that tests/bench/bench_w1.c reproduces in seqnet. Only this header
# comment was added; keep the workload code identical to the shared file.
"""torch_ref.py -- PyTorch (CPU) reference anchors for sequence-model workloads.

Run with Debian's interpreter (python3-torch 1.13.1 lives there):

    /usr/bin/python3 torch_ref.py --threads 1            # all workloads
    /usr/bin/python3 torch_ref.py --threads 2 --only W3  # one workload

Each workload runs in its own child process (so its peak RSS, from
resource.getrusage, is its own) and prints one JSON line:
  train_sps   samples/s over full zero_grad+forward+loss+backward+Adam.step
              (median of --runs timed runs, after warm-up; also min/max)
  infer_sps   samples/s of model.eval() forward under torch.no_grad()
  W6: latency_us median (and p10/p90) of 1000 single-sample calls
  rss_base_mib  peak RSS right after `import torch` (interpreter+libs)
  rss_peak_mib  peak RSS of the child at the end of the workload
  minflt, sys_s  minor page faults and kernel CPU seconds of the whole child
W2c is W2 with .contiguous() after the (B,T,C)->(B,C,T) transpose.
All data are synthetic and deterministic (fixed seeds).

Thread count: OMP_NUM_THREADS and OPENBLAS_NUM_THREADS are set to --threads
*before* importing torch (torch's matmul goes to OpenBLAS through Debian's
libblas.so.3 alternative, and OpenBLAS has its own pthread pool that
torch.set_num_threads does not control), then torch.set_num_threads(n).
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import time

WORKLOADS = ["W1", "W2", "W2c", "W3", "W4", "W5", "W6"]

# glibc malloc settings for --malloc tuned: keep freed memory in the heap
# (no munmap / heap trimming), so tensors reuse already-faulted pages.  On this
# VM a 4 KiB first-touch page fault costs ~12 us (see pagefault_cost.c), and
# default glibc malloc re-faults every large tensor each step.
MALLOC_TUNED = {"MALLOC_MMAP_THRESHOLD_": "33554432",   # 32 MiB (glibc max)
                "MALLOC_TRIM_THRESHOLD_": "4294967296",
                "MALLOC_TOP_PAD_": "268435456"}


def parse():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, choices=[1, 2], default=1)
    p.add_argument("--blas-threads", type=int, default=None,
                   help="OPENBLAS_NUM_THREADS (default: same as --threads)")
    p.add_argument("--malloc", choices=["default", "tuned"], default="tuned",
                   help="glibc malloc env for the child (see MALLOC_TUNED)")
    p.add_argument("--only", default=None,
                   help="comma-separated subset of W1..W6 (default all)")
    p.add_argument("--runs", type=int, default=7, help="timed runs (median)")
    p.add_argument("--target", type=float, default=0.6,
                   help="seconds per timed run (steps are calibrated)")
    p.add_argument("--latency-calls", type=int, default=1000)
    p.add_argument("--profile", action="store_true",
                   help="also print the top ops of one training step (stderr)")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    return p.parse_args()


def rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def median(xs):
    s = sorted(xs)
    n = len(s)
    return s[n // 2] if n % 2 else 0.5 * (s[n // 2 - 1] + s[n // 2])


def pct(xs, q):
    s = sorted(xs)
    return s[min(len(s) - 1, int(q * len(s)))]


def child(args, wl):
    n = args.threads
    os.environ["OMP_NUM_THREADS"] = str(n)
    nb = args.blas_threads if args.blas_threads else n
    os.environ["OPENBLAS_NUM_THREADS"] = str(nb)
    os.environ["MKL_NUM_THREADS"] = str(n)
    import torch  # noqa: E402
    import torch.nn as nn
    import torch.nn.functional as F

    rss_base = rss_mib()
    torch.set_num_threads(n)
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(1234)

    # ---------------------------------------------------------------- models
    class PooledEmb(nn.Module):  # W1
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(62297, 30)
            self.d1 = nn.Dropout(0.5)
            self.fc1 = nn.Linear(30, 20)
            self.d2 = nn.Dropout(0.5)
            self.fc2 = nn.Linear(20, 1)

        def forward(self, x):
            h = self.emb(x).mean(dim=1)
            h = F.relu(self.fc1(self.d1(h)))
            return torch.sigmoid(self.fc2(self.d2(h))).squeeze(1)

    class Inception(nn.Module):  # W2
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(62297, 30)
            self.convs = nn.ModuleList(
                [nn.Conv1d(30, 50, k, padding=k // 2) for k in (3, 5, 7)])
            self.d1 = nn.Dropout(0.3)
            self.fc1 = nn.Linear(150, 50)
            self.d2 = nn.Dropout(0.3)
            self.fc2 = nn.Linear(50, 1)

        def forward(self, x):
            e = self.emb(x).transpose(1, 2)  # (B, 30, T)
            h = torch.cat([F.relu(c(e)).mean(dim=2) for c in self.convs], 1)
            h = F.relu(self.fc1(self.d1(h)))
            return torch.sigmoid(self.fc2(self.d2(h))).squeeze(1)

    class InceptionC(Inception):  # W2c: contiguous conv input
        def forward(self, x):
            e = self.emb(x).transpose(1, 2).contiguous()
            h = torch.cat([F.relu(c(e)).mean(dim=2) for c in self.convs], 1)
            h = F.relu(self.fc1(self.d1(h)))
            return torch.sigmoid(self.fc2(self.d2(h))).squeeze(1)

    class LSTMClf(nn.Module):  # W3 / W6
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(20000, 64)
            self.lstm = nn.LSTM(64, 128, batch_first=True)
            self.fc = nn.Linear(128, 1)

        def forward(self, x):
            _, (h, _) = self.lstm(self.emb(x))
            return torch.sigmoid(self.fc(h[-1])).squeeze(1)

    class SimpleRNN(nn.Module):  # W4
        def __init__(self):
            super().__init__()
            self.rnn = nn.RNN(3, 6, nonlinearity="tanh", batch_first=True)
            self.fc = nn.Linear(6, 2)

        def forward(self, x):
            y, _ = self.rnn(x)  # (B, T, 6), all timesteps
            return self.fc(y)  # (B, T, 2) logits

    class GRUReg(nn.Module):  # W5
        def __init__(self):
            super().__init__()
            self.gru = nn.GRU(1, 32, batch_first=True)
            self.fc = nn.Linear(32, 1)

        def forward(self, x):
            _, h = self.gru(x)
            return self.fc(h[-1]).squeeze(1)

    # ------------------------------------------------------------------ data
    NB = 8  # distinct synthetic batches, cycled

    def tokens(B, T, V):
        return [(torch.randint(1, V, (B, T), generator=g),
                 torch.randint(0, 2, (B,), generator=g).float())
                for _ in range(NB)]

    def series(B, T):
        out = []
        for _ in range(NB):
            t0 = torch.rand(B, 1, generator=g) * 100
            t = t0 + torch.arange(T + 1).float() * 0.1
            s = torch.sin(t) + 0.1 * torch.randn(B, T + 1, generator=g)
            out.append((s[:, :T].unsqueeze(2).contiguous(), s[:, T].contiguous()))
        return out

    def seqlabel(B, T):
        out = []
        for _ in range(NB):
            x = torch.randn(B, T, 3, generator=g)
            y = (x.sum(2) > 0).long()
            out.append((x, y))
        return out

    bce = nn.BCELoss()
    mse = nn.MSELoss()
    ce = nn.CrossEntropyLoss()
    flops = None  # estimated training FLOPs per step (recurrent GEMMs only)
    if wl == "W1":
        model, data, B = PooledEmb(), tokens(64, 500, 62297), 64
        lossf = bce
    elif wl in ("W2", "W2c"):
        model = Inception() if wl == "W2" else InceptionC()
        data, B = tokens(64, 500, 62297), 64
        lossf = bce
    elif wl in ("W3", "W6"):
        B = 64 if wl == "W3" else 1
        model, data = LSTMClf(), tokens(B, 200, 20000)
        lossf = bce
        Bf, T, H, I = 64, 200, 128, 64
        flops = 3 * 2 * Bf * T * 4 * H * (I + H)  # fwd + ~2x fwd for bwd
    elif wl == "W4":
        model, data, B = SimpleRNN(), seqlabel(64, 50), 64

        def lossf(out, y):
            return ce(out.reshape(-1, 2), y.reshape(-1))
        flops = 3 * 2 * 64 * 50 * 6 * (3 + 6)
    elif wl == "W5":
        model, data, B = GRUReg(), series(128, 128), 128
        lossf = mse
        flops = 3 * 2 * 128 * 128 * 3 * 32 * (1 + 32)
    else:
        raise SystemExit("unknown workload " + wl)

    nparams = sum(p.numel() for p in model.parameters())
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    def train_step(i):
        x, y = data[i % NB]
        opt.zero_grad(set_to_none=True)
        loss = lossf(model(x), y)
        loss.backward()
        opt.step()
        return loss

    def infer_step(i):
        return model(data[i % NB][0])

    def bench(step, warm):
        for i in range(warm):
            step(i)
        # calibrate steps per run to ~args.target seconds
        t0 = time.perf_counter()
        k = 0
        while time.perf_counter() - t0 < args.target / 3 or k < 2:
            step(k)
            k += 1
        per = (time.perf_counter() - t0) / k
        steps = max(2, int(args.target / per))
        rates = []
        for r in range(args.runs):
            t0 = time.perf_counter()
            for i in range(steps):
                step(i)
            rates.append(steps * B / (time.perf_counter() - t0))
        return rates, steps

    res = {"workload": wl, "threads": n, "blas_threads": nb,
           "torch_threads": torch.get_num_threads(),
           "coretype": os.environ.get("OPENBLAS_CORETYPE", "(unset)"),
           "malloc": "tuned" if os.environ.get("MALLOC_TOP_PAD_") else
           "default", "torch": torch.__version__,
           "params": nparams, "batch": B}
    if wl != "W6":
        model.train()
        rates, steps = bench(train_step, 5)
        res.update(train_sps=round(median(rates), 1),
                   train_sps_min=round(min(rates), 1),
                   train_sps_max=round(max(rates), 1),
                   train_step_ms=round(1e3 * B / median(rates), 3),
                   train_steps_per_run=steps)
        if flops:
            res["train_gflop_per_step_est"] = round(flops / 1e9, 4)
            res["train_gflops_achieved"] = round(
                flops * median(rates) / B / 1e9, 2)
        if args.profile:
            from torch.profiler import profile, ProfilerActivity
            with profile(activities=[ProfilerActivity.CPU]) as prof:
                for i in range(3):
                    train_step(i)
            print(prof.key_averages().table(sort_by="self_cpu_time_total",
                                            row_limit=15), file=sys.stderr)
        model.eval()
        with torch.no_grad():
            rates, steps = bench(infer_step, 5)
        res.update(infer_sps=round(median(rates), 1),
                   infer_sps_min=round(min(rates), 1),
                   infer_sps_max=round(max(rates), 1),
                   infer_batch_ms=round(1e3 * B / median(rates), 3))
    else:
        model.eval()
        lat = []
        with torch.no_grad():
            for i in range(50):
                infer_step(i)
            for i in range(args.latency_calls):
                t0 = time.perf_counter()
                infer_step(i)
                lat.append((time.perf_counter() - t0) * 1e6)
        res.update(latency_us_median=round(median(lat), 1),
                   latency_us_p10=round(pct(lat, 0.10), 1),
                   latency_us_p90=round(pct(lat, 0.90), 1),
                   latency_calls=len(lat), seq_len=200)
    res["rss_base_mib"] = round(rss_base, 1)
    res["rss_peak_mib"] = round(rss_mib(), 1)
    ru = resource.getrusage(resource.RUSAGE_SELF)
    res["minflt"] = ru.ru_minflt
    res["sys_s"] = round(ru.ru_stime, 2)
    res["user_s"] = round(ru.ru_utime, 2)
    print(json.dumps(res), flush=True)


def main():
    args = parse()
    if args.child:
        child(args, args.only)
        return
    wls = args.only.split(",") if args.only else WORKLOADS
    for wl in wls:
        cmd = [sys.executable, os.path.abspath(__file__), "--child",
               "--threads", str(args.threads), "--only", wl,
               "--runs", str(args.runs), "--target", str(args.target),
               "--latency-calls", str(args.latency_calls)]
        if args.blas_threads:
            cmd += ["--blas-threads", str(args.blas_threads)]
        if args.profile:
            cmd.append("--profile")
        env = dict(os.environ)
        for k in MALLOC_TUNED:
            env.pop(k, None)
        if args.malloc == "tuned":
            env.update(MALLOC_TUNED)
        subprocess.run(cmd, check=True, env=env)


if __name__ == "__main__":
    main()
