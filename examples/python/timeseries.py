#!/usr/bin/python3
"""timeseries.py -- the course's time-series exercise through the seqnet binding.

Part 1, the synthetic sine benchmark (LSTM against 1-D convolutions): 1,000
series of 138 steps,

    s(t) = sin(p + linspace(0, 20 pi, 138)) * sin(p + linspace(0, pi, 138)) + N(0, 0.1^2)

with the phase p uniform in [0, 2 pi), drawn with a fixed seed; 800 series to
train on, 200 to validate. The first 128 steps are the input and the last 10
the future to predict. The models are the course's sequence-to-sequence ones:
at every input step t they output the value 10 steps ahead, s(t + 10), so the
target sequence is the series shifted by 10 and the outputs of the last 10
steps are the 10-step forecast of the future:

    SimpleRNN(12, return_sequences=True) -> Dense(1)            181 parameters
    LSTM(12, return_sequences=True)      -> Dense(1)            685
    4 x Conv1D(32, 5, padding='causal', relu) -> Dense(1)       15,681
    the same with dilation_rate 1, 2, 4, 8                      15,681

trained with Adam on the mean squared error, batch 32. The validation MSE (over
all 128 output steps, Keras's loss) of each is printed next to the published
figures (dilated conv 0.011, LSTM about 0.011, plain causal conv 0.022; the
noise puts the floor near 0.01), with the MSE of the 10-step forecast alone.
Then the LSTM and the dilated stack forecast 800 steps in closed loop from
the first 128 steps of a validation series (predict 10, append them to the
input, slide the window, repeat), drawn against the noise-free continuation
in an SVG written by this script (no plotting library needed).

Part 2, AirPassengers (monthly airline passengers 1949-1960, from Debian's
gretl-data: ./scripts/fetch-airpassengers.sh): log, scaled to [0, 1] on the
training years; GRU(16) reads 12 months and predicts the next; trained on
1949-1958, it forecasts 1959-1960 (24 months) in closed loop. The RMSE in
passengers is printed next to the seasonal naive forecast (the same month a
year earlier, times the average yearly growth) and drawn in a second SVG.

    ./scripts/fetch-airpassengers.sh
    SEQNET_LIBRARY=build/lib/libseqnet.so PYTHONPATH=examples/python \\
        /usr/bin/python3 examples/python/timeseries.py [--out-dir docs]

--quick trains small versions for a few seconds and checks the results
(the meson test 'python_timeseries' runs it); it writes its figures to a
temporary folder unless --out-dir is given.
"""
import argparse
import math
import os
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

import numpy as np

import seqnet
from seqnet import layers

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
DEFAULT_AIR = os.path.join(ROOT, "data", "airpassengers", "airpassengers.csv")

N_SERIES, N_STEPS, N_IN, N_OUT, N_TRAIN = 1000, 138, 128, 10, 800
PUBLISHED = {"SimpleRNN(12)": None, "LSTM(12)": 0.011, "causal Conv1D stack": 0.022,
             "dilated causal Conv1D stack": 0.011}


# --------------------------------------------------------------------------
# the sine benchmark


def sine_series(n, seed, steps=N_STEPS, noise=True, phases=None):
    """n series as the course defines them; the phases (and noise) come from
    one numpy Generator seeded with `seed`. With `steps` > 138 the same
    formula is continued at the same step size (for closed-loop forecasts)."""
    rng = np.random.default_rng(seed)
    p = rng.uniform(0.0, 2.0 * np.pi, size=(n, 1)) if phases is None else phases
    k = np.arange(steps)
    fast = k * (20.0 * np.pi / (N_STEPS - 1))   # linspace(0, 20 pi, 138), continued
    slow = k * (np.pi / (N_STEPS - 1))          # linspace(0, pi, 138), continued
    s = np.sin(p + fast) * np.sin(p + slow)
    if noise:
        s = s + rng.normal(0.0, 0.1, size=s.shape)
    return s.astype(np.float32), p


def sine_data(seed):
    s, p = sine_series(N_SERIES, seed)
    x = s[:, :N_IN, None]                 # steps 0..127
    y = s[:, N_OUT:N_IN + N_OUT, None]    # steps 10..137: 10 steps ahead of each input
    return (x[:N_TRAIN], y[:N_TRAIN]), (x[N_TRAIN:], y[N_TRAIN:]), p[N_TRAIN:]


def build_sine_model(name):
    inp = seqnet.Input(shape=(N_IN, 1))
    if name == "SimpleRNN(12)":
        x = layers.SimpleRNN(12, return_sequences=True)(inp)
    elif name == "LSTM(12)":
        x = layers.LSTM(12, return_sequences=True)(inp)
    else:
        x = inp
        dilations = (1, 2, 4, 8) if name.startswith("dilated") else (1, 1, 1, 1)
        for d in dilations:
            x = layers.Conv1D(32, 5, padding="causal", dilation_rate=d, activation="relu")(x)
    out = layers.Dense(1)(x)
    model = seqnet.Model(inp, out)
    model.compile(optimizer=seqnet.optimizers.Adam(), loss="mse")
    return model


def closed_loop(model, window, n_future):
    """Forecast n_future steps from `window` (128 values): each call predicts
    the next 10 (the outputs of the last 10 steps), which are appended."""
    hist = list(np.asarray(window, dtype=np.float32))
    while len(hist) < N_IN + n_future:
        x = np.asarray(hist[-N_IN:], dtype=np.float32).reshape(1, N_IN, 1)
        y = model.predict(x, batch_size=1)
        hist.extend(y[0, -N_OUT:, 0].tolist())
    return np.asarray(hist[N_IN:N_IN + n_future])


def run_sine(args, out_dir):
    (xt, yt), (xv, yv), pv = sine_data(args.seed)
    if args.quick:
        xt, yt = xt[:args.quick_train], yt[:args.quick_train]
    names = list(PUBLISHED) if not args.quick else ["LSTM(12)", "dilated causal Conv1D stack"]
    # Baselines: predict 0, or repeat the value 10 steps back (persistence).
    base_zero = float(np.mean(yv ** 2))
    base_persist = float(np.mean((yv - xv) ** 2))
    print("sine benchmark: %d train / %d validation series, seed %d%s"
          % (len(xt), len(xv), args.seed, " (quick)" if args.quick else ""))
    print("  baselines: zero %.4f, persistence (value 10 steps back) %.4f"
          % (base_zero, base_persist))
    results, models = {}, {}
    for name in names:
        seqnet.set_seed(args.seed)
        model = build_sine_model(name)
        if args.quick:
            epochs = args.quick_epochs if "Conv1D" not in name else args.quick_epochs // 2
        else:
            epochs = args.conv_epochs if "Conv1D" in name else args.rnn_epochs
        t0 = time.perf_counter()
        model.fit(xt, yt, batch_size=32, epochs=epochs, verbose=0, validation_data=(xv, yv),
                  seed=args.seed)
        secs = time.perf_counter() - t0
        val_mse = float(model.evaluate(xv, yv, batch_size=200))
        pred = model.predict(xv, batch_size=200)
        last10 = float(np.mean((pred[:, -N_OUT:, 0] - yv[:, -N_OUT:, 0]) ** 2))
        curve = model.history.history.get("val_loss", [])
        results[name] = dict(params=model.count_params(), val_mse=val_mse, last10=last10,
                             secs=secs, epochs=epochs, best=min(curve) if curve else val_mse)
        models[name] = model
        pub = PUBLISHED[name]
        print("  %-28s %6d params  %3d epochs %6.1f s   val MSE %.4f (last 10 steps %.4f)"
              "   published %s" % (name, model.count_params(), epochs, secs, val_mse, last10,
                                   "%.3f" % pub if pub else "-"))
    # The 800-step closed-loop forecast of one validation series.
    horizon = args.horizon if not args.quick else 100
    phase = pv[args.plot_series:args.plot_series + 1]
    truth, _ = sine_series(1, 0, steps=N_IN + horizon, noise=False, phases=phase)
    observed = xv[args.plot_series, :, 0]
    curves = [dict(x=np.arange(N_IN), y=observed, label="observed input (noisy)",
                   color="#555555", width=1.2),
              dict(x=np.arange(N_IN + horizon), y=truth[0], label="noise-free series",
                   color="#999999", width=1.0, dash="4,3")]
    colors = {"LSTM(12)": "#d62728", "dilated causal Conv1D stack": "#1f77b4",
              "causal Conv1D stack": "#2ca02c", "SimpleRNN(12)": "#9467bd"}
    forecast_mse = {}
    for name in ("LSTM(12)", "dilated causal Conv1D stack"):
        if name not in models:
            continue
        f = closed_loop(models[name], observed, horizon)
        forecast_mse[name] = float(np.mean((f - truth[0, N_IN:]) ** 2))
        curves.append(dict(x=np.arange(N_IN, N_IN + horizon), y=f,
                           label="%s, closed loop" % name, color=colors[name], width=1.4))
        print("  closed-loop forecast of %d steps, %s: MSE against the noise-free series %.4f"
              % (horizon, name, forecast_mse[name]))
    path = os.path.join(out_dir, "timeseries_sine_forecast.svg")
    svg_plot(path, "Sine benchmark: %d-step closed-loop forecast (validation series %d)"
             % (horizon, args.plot_series), curves, xlabel="step", ylabel="value",
             vlines=[(N_IN - 0.5, "forecast starts")])
    print("  figure: %s" % path)
    return dict(results=results, baselines=(base_zero, base_persist),
                forecast_mse=forecast_mse, figure=path)


# --------------------------------------------------------------------------
# AirPassengers


def load_air(path):
    months, values = [], []
    with open(path, encoding="ascii") as f:
        header = f.readline().strip()
        if header != "month,passengers":
            raise ValueError("%s: unexpected header %r" % (path, header))
        for line in f:
            m, v = line.strip().split(",")
            months.append(m)
            values.append(float(v))
    if len(values) != 144 or int(sum(values)) != 40363:
        raise ValueError("%s: expected 144 values summing to 40,363" % path)
    return months, np.asarray(values, dtype=np.float64)


def run_air(args, out_dir):
    months, v = load_air(args.air_data)
    n_test, win = 24, 12
    n_fit = len(v) - n_test                      # 1949-01 .. 1958-12
    logv = np.log(v)
    lo, hi = logv[:n_fit].min(), logv[:n_fit].max()
    z = ((logv - lo) / (hi - lo)).astype(np.float32)
    xs = np.stack([z[i:i + win] for i in range(n_fit - win)])[:, :, None]
    ys = z[win:n_fit, None]
    epochs = args.air_epochs
    seqnet.set_seed(args.seed)
    inp = seqnet.Input(shape=(win, 1))
    h = layers.GRU(16)(inp)
    out = layers.Dense(1)(h)
    model = seqnet.Model(inp, out)
    model.compile(optimizer=seqnet.optimizers.Adam(learning_rate=0.005), loss="mse")
    t0 = time.perf_counter()
    model.fit(xs, ys, batch_size=16, epochs=epochs, verbose=0, seed=args.seed)
    secs = time.perf_counter() - t0
    # Closed loop over the 24 held-out months.
    hist = list(z[:n_fit])
    for _ in range(n_test):
        x = np.asarray(hist[-win:], dtype=np.float32).reshape(1, win, 1)
        hist.append(float(model.predict(x, batch_size=1)[0, 0]))
    pred = np.exp(np.asarray(hist[n_fit:]) * (hi - lo) + lo)
    truth = v[n_fit:]
    rmse = float(np.sqrt(np.mean((pred - truth) ** 2)))
    # Seasonal naive with drift: last year's month times the mean yearly growth.
    growth = np.exp(np.mean(logv[12:n_fit] - logv[:n_fit - 12]))
    naive = np.concatenate([v[n_fit - 12:n_fit] * growth, v[n_fit - 12:n_fit] * growth ** 2])
    rmse_naive = float(np.sqrt(np.mean((naive - truth) ** 2)))
    mape = float(np.mean(np.abs(pred - truth) / truth))
    print("AirPassengers: GRU(16) on 12-month windows, %d epochs %.1f s; 1959-1960 closed loop: "
          "RMSE %.1f passengers (MAPE %.1f%%), seasonal naive with drift %.1f"
          % (epochs, secs, rmse, 100 * mape, rmse_naive))
    x_all = np.arange(len(v)) / 12.0 + 1949.0
    curves = [dict(x=x_all[:n_fit], y=v[:n_fit], label="1949-1958 (training)", color="#555555",
                   width=1.3),
              dict(x=x_all[n_fit:], y=truth, label="1959-1960 (held out)", color="#999999",
                   width=1.3, dash="4,3"),
              dict(x=x_all[n_fit:], y=naive, label="seasonal naive with drift",
                   color="#2ca02c", width=1.1, dash="2,2"),
              dict(x=x_all[n_fit:], y=pred, label="GRU(16), closed loop", color="#d62728",
                   width=1.6)]
    path = os.path.join(out_dir, "timeseries_airpassengers.svg")
    svg_plot(path, "AirPassengers: 24-month forecast by GRU(16)", curves, xlabel="year",
             ylabel="passengers (thousands)", vlines=[(x_all[n_fit] - 0.5 / 12, "")])
    print("  figure: %s" % path)
    return dict(rmse=rmse, rmse_naive=rmse_naive, mape=mape, figure=path, secs=secs)


# --------------------------------------------------------------------------
# a small SVG line plot


def _nice_ticks(lo, hi, n=6):
    span = hi - lo if hi > lo else 1.0
    raw = span / n
    mag = 10.0 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    first = math.ceil(lo / step - 1e-9) * step
    ticks, t = [], first
    while t <= hi + 1e-9 * span:
        ticks.append(round(t, 10))
        t += step
    return ticks


def _fmt(v):
    return ("%d" % round(v)) if abs(v - round(v)) < 1e-9 else ("%g" % v)


def svg_plot(path, title, curves, xlabel, ylabel, vlines=(), width=960, height=400):
    """Write a line plot: curves are dicts with x, y, label, color, width and
    optionally dash (an SVG stroke-dasharray)."""
    left, right, top, bottom = 64, 20, 40, 50
    xs = np.concatenate([np.asarray(c["x"], dtype=float) for c in curves])
    ys = np.concatenate([np.asarray(c["y"], dtype=float) for c in curves])
    x0, x1 = float(xs.min()), float(xs.max())
    y0, y1 = float(ys.min()), float(ys.max())
    pad = 0.05 * (y1 - y0 if y1 > y0 else 1.0)
    y0, y1 = y0 - pad, y1 + pad
    yticks = _nice_ticks(y0, y1)
    xticks = _nice_ticks(x0, x1, 10)
    pw, ph = width - left - right, height - top - bottom

    def px(x):
        return left + (x - x0) / (x1 - x0) * pw

    def py(y):
        return top + (y1 - y) / (y1 - y0) * ph

    out = ['<?xml version="1.0" encoding="UTF-8"?>',
           '<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" '
           'viewBox="0 0 %d %d" font-family="DejaVu Sans, Arial, sans-serif" font-size="12">'
           % (width, height, width, height),
           '<rect width="100%" height="100%" fill="white"/>',
           '<text x="%d" y="22" font-size="15" font-weight="bold">%s</text>'
           % (left, _esc(title))]
    for t in yticks:
        out.append('<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#e5e5e5"/>'
                   % (left, left + pw, py(t), py(t)))
        out.append('<text x="%d" y="%.1f" text-anchor="end">%s</text>'
                   % (left - 6, py(t) + 4, _fmt(t)))
    for t in xticks:
        out.append('<line x1="%.1f" x2="%.1f" y1="%d" y2="%d" stroke="#f0f0f0"/>'
                   % (px(t), px(t), top, top + ph))
        out.append('<text x="%.1f" y="%d" text-anchor="middle">%s</text>'
                   % (px(t), top + ph + 18, _fmt(t)))
    out.append('<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#333"/>'
               % (left, top, pw, ph))
    out.append('<text x="%.1f" y="%d" text-anchor="middle">%s</text>'
               % (left + pw / 2, height - 10, _esc(xlabel)))
    out.append('<text transform="translate(16,%.1f) rotate(-90)" text-anchor="middle">%s</text>'
               % (top + ph / 2, _esc(ylabel)))
    for xv, label in vlines:
        out.append('<line x1="%.1f" x2="%.1f" y1="%d" y2="%d" stroke="#333" '
                   'stroke-dasharray="6,4"/>' % (px(xv), px(xv), top, top + ph))
        if label:
            out.append('<text x="%.1f" y="%d" font-size="11">%s</text>'
                       % (px(xv) + 5, top + 14, _esc(label)))
    for c in curves:
        pts = " ".join("%.1f,%.1f" % (px(float(a)), py(float(b)))
                       for a, b in zip(c["x"], c["y"]))
        dash = ' stroke-dasharray="%s"' % c["dash"] if c.get("dash") else ""
        out.append('<polyline fill="none" stroke="%s" stroke-width="%.1f"%s points="%s"/>'
                   % (c["color"], c.get("width", 1.5), dash, pts))
    # Legend, bottom left inside the frame.
    lx, ly = left + 10, top + ph - 10 - 16 * len(curves)
    out.append('<rect x="%d" y="%d" width="%d" height="%d" fill="white" fill-opacity="0.85" '
               'stroke="#ccc"/>' % (lx - 6, ly - 6, 300, 16 * len(curves) + 8))
    for i, c in enumerate(curves):
        yy = ly + 16 * i + 6
        dash = ' stroke-dasharray="%s"' % c["dash"] if c.get("dash") else ""
        out.append('<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="%s" stroke-width="2"%s/>'
                   % (lx, lx + 26, yy, yy, c["color"], dash))
        out.append('<text x="%d" y="%d">%s</text>' % (lx + 32, yy + 4, _esc(c["label"])))
    out.append("</svg>")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(out) + "\n")


def _esc(s):
    return str(s).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# --------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help="small, fast versions with checks (the meson test)")
    ap.add_argument("--rnn-epochs", type=int, default=60,
                    help="sine benchmark epochs of SimpleRNN and LSTM (default 60)")
    ap.add_argument("--conv-epochs", type=int, default=20,
                    help="sine benchmark epochs of the convolution stacks (default 20)")
    ap.add_argument("--air-epochs", type=int, default=300, help="AirPassengers epochs")
    ap.add_argument("--seed", type=int, default=42, help="data and training seed")
    ap.add_argument("--horizon", type=int, default=800, help="closed-loop forecast steps")
    ap.add_argument("--plot-series", type=int, default=0,
                    help="validation series drawn in the forecast figure")
    ap.add_argument("--out-dir", default=None,
                    help="where the SVG figures go (default: docs/, or a temporary folder "
                         "with --quick)")
    ap.add_argument("--air-data", default=DEFAULT_AIR,
                    help="AirPassengers CSV from scripts/fetch-airpassengers.sh")
    ap.add_argument("--quick-train", type=int, default=400, help=argparse.SUPPRESS)
    ap.add_argument("--quick-epochs", type=int, default=10, help=argparse.SUPPRESS)
    args = ap.parse_args()

    tmp = None
    out_dir = args.out_dir
    if out_dir is None:
        if args.quick:
            tmp = tempfile.TemporaryDirectory(prefix="seqnet-ts-")
            out_dir = tmp.name
        else:
            out_dir = os.path.join(ROOT, "docs")
    os.makedirs(out_dir, exist_ok=True)

    t0 = time.perf_counter()
    sine = run_sine(args, out_dir)
    air = None
    if os.path.exists(args.air_data):
        air = run_air(args, out_dir)
    else:
        print("AirPassengers: %s not found (run scripts/fetch-airpassengers.sh); skipped"
              % args.air_data)
    print("total %.1f s" % (time.perf_counter() - t0))

    if args.quick:
        failures = check_quick(sine, air)
        if tmp is not None:
            tmp.cleanup()
        if failures:
            for f in failures:
                print("FAIL: " + f)
            return 1
        print("quick checks passed")
    return 0


def check_quick(sine, air):
    """What a broken recurrent or convolutional layer could not reach."""
    fails = []
    _, persist = sine["baselines"]
    r = sine["results"]
    lstm = r["LSTM(12)"]["val_mse"]
    conv = r["dilated causal Conv1D stack"]["val_mse"]
    if not (lstm < 0.06 and lstm < 0.3 * persist):
        fails.append("LSTM(12) val MSE %.4f (want < 0.06 and < 0.3 x persistence %.4f)"
                     % (lstm, persist))
    if not conv < 0.06:
        fails.append("dilated conv val MSE %.4f (want < 0.06)" % conv)
    m = sine["forecast_mse"]["dilated causal Conv1D stack"]
    if not (math.isfinite(m) and m < 0.05):
        fails.append("closed-loop forecast of the dilated stack: MSE %.4f (want < 0.05)" % m)
    figures = [sine["figure"]] + ([air["figure"]] if air else [])
    for path in figures:
        root = ET.parse(path).getroot()
        lines = root.findall("{http://www.w3.org/2000/svg}polyline")
        if root.tag != "{http://www.w3.org/2000/svg}svg" or len(lines) < 3:
            fails.append("%s is not the expected SVG line plot" % path)
    if air is not None and not air["rmse"] < 60.0:
        fails.append("AirPassengers RMSE %.1f (want < 60)" % air["rmse"])
    return fails


if __name__ == "__main__":
    sys.exit(main())
