#!/usr/bin/python3
"""Golden values for seqnet's SimpleRNN, LSTM and GRU from PyTorch.

Writes tests/golden/rnn_torch.txt (committed; CI has no torch). Run from the
source root:  /usr/bin/python3 tests/rnn/gen_torch_rnn_golden.py

Weights are drawn in Keras's layout and gate order, then mapped to PyTorch's:
  kernel (I, G*H)            -> weight_ih_l0 = kernel.T
  recurrent_kernel (H, G*H)  -> weight_hh_l0 = recurrent_kernel.T
  bias (G*H,)                -> bias_ih_l0 = bias, bias_hh_l0 = 0   (SimpleRNN, LSTM)
  GRU (reset_after=True) bias (2, 3H) -> bias_ih_l0 = bias[0], bias_hh_l0 = bias[1]
LSTM gate order is the same (Keras i, f, c, o = PyTorch i, f, g, o); the GRU's
is z, r, h in Keras and r, z, n in PyTorch, so GRU blocks are permuted.
PyTorch's GRU is Keras's GRU with reset_after=True.

The loss is sum(output * dout) for a random dout, so the gradients are the
vector-Jacobian products seqnet's backward computes. Everything runs in float64.
Masked cases use pack_padded_sequence with post-padding: PyTorch's final
state is then the last real step's, which is Keras's (and seqnet's) output
for return_sequences=False.

File format, one item per line:
  case <name> <cell> <batch> <time> <input> <units> <return_sequences> <has_lengths>
  <array name> <count> <values...>
  end
"""
import os
import sys

import torch

GATES = {"SimpleRNN": 1, "LSTM": 4, "GRU": 3}
GRU_PERM = [1, 0, 2]  # torch block k comes from keras block GRU_PERM[k]


def blocks(a, h, perm):
    """Reorder the gate blocks along the last axis."""
    return torch.cat([a[..., p * h:(p + 1) * h] for p in perm], dim=-1)


def inverse(perm):
    inv = [0] * len(perm)
    for i, p in enumerate(perm):
        inv[p] = i
    return inv


def make_case(gen, name, cell, batch, time, n_in, units, return_sequences, lengths=None):
    g = GATES[cell]
    dt = torch.float64
    x = torch.rand(batch, time, n_in, generator=gen, dtype=dt) * 2 - 1
    kernel = (torch.rand(n_in, g * units, generator=gen, dtype=dt) * 2 - 1) * 0.6
    rkernel = (torch.rand(units, g * units, generator=gen, dtype=dt) * 2 - 1) * 0.6
    if cell == "GRU":
        bias = (torch.rand(2, g * units, generator=gen, dtype=dt) * 2 - 1) * 0.3
    else:
        bias = (torch.rand(g * units, generator=gen, dtype=dt) * 2 - 1) * 0.3
    if lengths is not None:  # post-padding: zero the padded inputs
        for b, n in enumerate(lengths):
            x[b, n:] = 0.0

    if cell == "SimpleRNN":
        mod = torch.nn.RNN(n_in, units, nonlinearity="tanh", batch_first=True)
    elif cell == "LSTM":
        mod = torch.nn.LSTM(n_in, units, batch_first=True)
    else:
        mod = torch.nn.GRU(n_in, units, batch_first=True)
    mod = mod.double()
    perm = GRU_PERM if cell == "GRU" else list(range(g))
    with torch.no_grad():
        mod.weight_ih_l0.copy_(blocks(kernel, units, perm).T)
        mod.weight_hh_l0.copy_(blocks(rkernel, units, perm).T)
        if cell == "GRU":
            mod.bias_ih_l0.copy_(blocks(bias[0], units, perm))
            mod.bias_hh_l0.copy_(blocks(bias[1], units, perm))
        else:
            mod.bias_ih_l0.copy_(bias)
            mod.bias_hh_l0.zero_()

    xin = x.clone().requires_grad_(True)
    if lengths is not None:
        packed = torch.nn.utils.rnn.pack_padded_sequence(
            xin, torch.tensor(lengths), batch_first=True, enforce_sorted=False)
        seq, state = mod(packed)
        seq, _ = torch.nn.utils.rnn.pad_packed_sequence(seq, batch_first=True,
                                                        total_length=time)
    else:
        seq, state = mod(xin)
    h_n = state[0] if cell == "LSTM" else state
    out = seq if return_sequences else h_n[-1]
    dout = torch.rand(out.shape, generator=gen, dtype=dt) * 2 - 1
    (out * dout).sum().backward()

    inv = inverse(perm)
    dkernel = blocks(mod.weight_ih_l0.grad.T, units, inv)
    drkernel = blocks(mod.weight_hh_l0.grad.T, units, inv)
    if cell == "GRU":
        dbias = torch.stack([blocks(mod.bias_ih_l0.grad, units, inv),
                             blocks(mod.bias_hh_l0.grad, units, inv)])
    else:
        dbias = mod.bias_ih_l0.grad
    arrays = [("x", x), ("kernel", kernel), ("recurrent_kernel", rkernel), ("bias", bias),
              ("out", out), ("dout", dout), ("dx", xin.grad), ("dkernel", dkernel),
              ("drecurrent_kernel", drkernel), ("dbias", dbias)]
    if lengths is not None:
        arrays.append(("lengths", torch.tensor(lengths, dtype=dt)))
    lines = ["case %s %s %d %d %d %d %d %d" % (name, cell, batch, time, n_in, units,
                                               int(return_sequences), int(lengths is not None))]
    for key, a in arrays:
        flat = a.detach().reshape(-1).tolist()
        lines.append("%s %d %s" % (key, len(flat), " ".join("%.17g" % v for v in flat)))
    lines.append("end")
    return "\n".join(lines)


def main():
    gen = torch.Generator().manual_seed(20260505)
    cases = [
        ("simple_rnn_sequences", "SimpleRNN", 3, 5, 4, 6, True, None),
        ("simple_rnn_last", "SimpleRNN", 2, 7, 3, 5, False, None),
        ("lstm_sequences", "LSTM", 3, 6, 4, 5, True, None),
        ("lstm_last", "LSTM", 2, 8, 3, 4, False, None),
        ("gru_sequences", "GRU", 3, 6, 4, 5, True, None),
        ("gru_last", "GRU", 2, 8, 3, 4, False, None),
        ("lstm_last_post_padded", "LSTM", 3, 7, 3, 4, False, [7, 4, 2]),
        ("gru_last_post_padded", "GRU", 3, 7, 3, 4, False, [3, 7, 5]),
        # Wide enough for the GEMM paths (units x gates x units > 1024), LSTM
        # training's stacked [x | h] product among them.
        ("simple_rnn_wide", "SimpleRNN", 3, 5, 4, 33, True, None),
        ("lstm_wide_sequences", "LSTM", 3, 6, 5, 20, True, None),
        ("lstm_wide_last_post_padded", "LSTM", 3, 6, 5, 20, False, [6, 3, 5]),
        ("gru_wide_last", "GRU", 3, 6, 4, 20, False, None),
    ]
    text = ["# PyTorch %s golden values for tests/rnn/test_rnn.c; generated by "
            "tests/rnn/gen_torch_rnn_golden.py -- do not edit" % torch.__version__]
    for c in cases:
        text.append(make_case(gen, *c))
    root = os.environ.get("SEQNET_SOURCE_ROOT", os.getcwd())
    path = os.path.join(root, "tests", "golden", "rnn_torch.txt")
    with open(path, "w") as f:
        f.write("\n".join(text) + "\n")
    print("wrote %s (%d cases)" % (path, len(cases)), file=sys.stderr)


if __name__ == "__main__":
    main()
