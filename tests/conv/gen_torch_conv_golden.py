#!/usr/bin/python3
"""Write tests/golden/conv_torch.txt: golden values from PyTorch for Conv1D
(every padding mode, dilations, strides), BatchNormalization (training and
inference) and LayerNormalization, in Keras's conventions.

Run from anywhere:  /usr/bin/python3 tests/conv/gen_torch_conv_golden.py
CI has no torch: the generated file is committed and read by test_conv.c.

Conventions mapped onto PyTorch:
  * layout: Keras [batch, time, features] -> torch [batch, channels, time];
    kernel (kernel_size, in, filters) -> torch weight [filters, in, kernel].
  * padding 'same' with TensorFlow's asymmetric split (the odd step on the
    right) and 'causal' (d*(k-1) steps on the left) are explicit F.pad
    calls followed by a 'valid' convolution.
  * BatchNorm1d(eps=1e-3, momentum=1 - keras_momentum) over rows (B*T rows
    for sequences). torch's running_var uses the unbiased batch variance;
    the file records torch's value and the test converts it to Keras's
    biased update (see test_conv.c).

Everything is computed in float64 from float32-representable inputs, so the
file holds references more exact than the float32 code under test.

File format, one record per case:
  conv NAME batch time features filters kernel strides padding dilation use_bias activation
  bn NAME batch time features momentum epsilon training
  ln NAME batch time features epsilon
  then lines "tensor NAME COUNT v1 v2 ...", then "end". '#' starts a comment.
"""
import math
import os

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "golden", "conv_torch.txt")
PAD = {"valid": 0, "same": 1, "causal": 2}

torch.manual_seed(20260401)


def f32(t):
    """Round to float32 and back, so the C side sees exactly these values."""
    return t.float().double()


def rand(*shape, scale=1.0):
    return f32((torch.rand(*shape, dtype=torch.float64) * 2 - 1) * scale)


def fmt(name, t):
    vals = t.detach().reshape(-1).tolist()
    return "tensor %s %d %s\n" % (name, len(vals), " ".join("%.9g" % v for v in vals))


def keras_pads(time, kernel, stride, dilation, padding):
    span = dilation * (kernel - 1) + 1
    if padding == "valid":
        return 0, 0
    if padding == "causal":
        return span - 1, 0
    out = (time + stride - 1) // stride
    total = max((out - 1) * stride + span - time, 0)
    return total // 2, total - total // 2


ACTS = {"linear": lambda z: z, "relu": torch.relu, "tanh": torch.tanh,
        "sigmoid": torch.sigmoid}


def conv_case(out, name, batch, time, feat, filters, kernel, stride, padding, dilation,
              use_bias=True, act="linear"):
    x = rand(batch, time, feat).requires_grad_(True)
    w = rand(kernel, feat, filters, scale=0.6).requires_grad_(True)
    b = rand(filters, scale=0.3).requires_grad_(True)
    left, right = keras_pads(time, kernel, stride, dilation, padding)
    xt = F.pad(x.transpose(1, 2), (left, right))
    z = F.conv1d(xt, w.permute(2, 1, 0), b if use_bias else None, stride=stride,
                 dilation=dilation)
    y = ACTS[act](z).transpose(1, 2)
    gy = rand(*y.shape)
    y.backward(gy)
    out.write("conv %s %d %d %d %d %d %d %d %d %d %s\n" % (
        name, batch, time, feat, filters, kernel, stride, PAD[padding], dilation,
        int(use_bias), act))
    out.write(fmt("x", x))
    out.write(fmt("kernel", w))
    out.write(fmt("bias", b))
    out.write(fmt("gy", gy))
    out.write(fmt("y", y))
    out.write(fmt("dx", x.grad))
    out.write(fmt("dkernel", w.grad))
    if use_bias:
        out.write(fmt("dbias", b.grad))
    out.write("end\n")


def bn_case(out, name, batch, time, feat, momentum, eps, training):
    rows = batch * max(time, 1)
    x = (rand(batch, max(time, 1), feat) * 2 + 0.5).requires_grad_(True)
    bn = torch.nn.BatchNorm1d(feat, eps=eps, momentum=1 - momentum).double()
    with torch.no_grad():
        bn.weight.copy_(rand(feat, scale=1.5))
        bn.bias.copy_(rand(feat))
        bn.running_mean.copy_(rand(feat, scale=0.5))
        bn.running_var.copy_(f32(torch.rand(feat, dtype=torch.float64) + 0.5))
    mm0, mv0 = bn.running_mean.clone(), bn.running_var.clone()
    bn.train(training)
    y = bn(x.reshape(rows, feat)).reshape(x.shape)
    gy = rand(*y.shape)
    y.backward(gy)
    out.write("bn %s %d %d %d %.9g %.9g %d\n" % (name, batch, time, feat, momentum, eps,
                                                 int(training)))
    out.write(fmt("x", x))
    out.write(fmt("gamma", bn.weight))
    out.write(fmt("beta", bn.bias))
    out.write(fmt("moving_mean", mm0))
    out.write(fmt("moving_variance", mv0))
    out.write(fmt("gy", gy))
    out.write(fmt("y", y))
    out.write(fmt("dx", x.grad))
    out.write(fmt("dgamma", bn.weight.grad))
    out.write(fmt("dbeta", bn.bias.grad))
    out.write(fmt("torch_running_mean", bn.running_mean))
    out.write(fmt("torch_running_var", bn.running_var))
    out.write("end\n")


def ln_case(out, name, batch, time, feat, eps):
    x = (rand(batch, max(time, 1), feat) * 3).requires_grad_(True)
    gamma = rand(feat, scale=1.5).requires_grad_(True)
    beta = rand(feat).requires_grad_(True)
    y = F.layer_norm(x, (feat,), gamma, beta, eps)
    gy = rand(*y.shape)
    y.backward(gy)
    out.write("ln %s %d %d %d %.9g\n" % (name, batch, time, feat, eps))
    for n, t in (("x", x), ("gamma", gamma), ("beta", beta), ("gy", gy), ("y", y),
                 ("dx", x.grad), ("dgamma", gamma.grad), ("dbeta", beta.grad)):
        out.write(fmt(n, t))
    out.write("end\n")


def main():
    with open(OUT, "w") as out:
        out.write("# Generated by tests/conv/gen_torch_conv_golden.py with torch %s; "
                  "do not edit.\n" % torch.__version__)
        # name                       B  T  F  out k  s  padding   d
        conv_case(out, "valid_k3", 2, 9, 3, 4, 3, 1, "valid", 1, act="relu")
        conv_case(out, "valid_k3_nobias_tanh", 2, 8, 3, 5, 3, 1, "valid", 1, False, "tanh")
        conv_case(out, "valid_s2", 2, 10, 3, 4, 3, 2, "valid", 1)
        conv_case(out, "valid_d2", 2, 11, 2, 3, 3, 1, "valid", 2)
        conv_case(out, "valid_s2_d2", 2, 13, 3, 2, 3, 2, "valid", 2, act="sigmoid")
        conv_case(out, "same_k3", 2, 7, 3, 4, 3, 1, "same", 1)
        conv_case(out, "same_k4_asym", 2, 7, 3, 4, 4, 1, "same", 1)
        conv_case(out, "same_k3_s2_asym", 2, 10, 3, 4, 3, 2, "same", 1)
        conv_case(out, "same_k5_s3", 2, 11, 2, 3, 5, 3, "same", 1, act="relu")
        conv_case(out, "same_d2_k4", 2, 8, 3, 3, 4, 1, "same", 2)
        conv_case(out, "same_d4_k3", 1, 12, 2, 3, 3, 1, "same", 4)
        conv_case(out, "causal_k5", 2, 9, 2, 3, 5, 1, "causal", 1)
        conv_case(out, "causal_d2_k3", 2, 9, 3, 3, 3, 1, "causal", 2, act="tanh")
        conv_case(out, "causal_d4_k2", 2, 10, 2, 4, 2, 1, "causal", 4)
        conv_case(out, "causal_d8_k5_short", 1, 6, 2, 2, 5, 1, "causal", 8)
        conv_case(out, "causal_s2_k3", 2, 9, 2, 3, 3, 2, "causal", 1)
        conv_case(out, "pointwise_k1", 2, 5, 4, 3, 1, 1, "valid", 1)
        conv_case(out, "k1_s2", 2, 7, 3, 2, 1, 2, "same", 1)
        conv_case(out, "same_k7_single_row", 1, 1, 3, 4, 7, 1, "same", 1)
        bn_case(out, "train_seq", 3, 5, 4, 0.99, 1e-3, True)
        bn_case(out, "train_vec_m09", 6, 0, 3, 0.9, 1e-3, True)
        bn_case(out, "eval_seq", 2, 4, 3, 0.99, 1e-3, False)
        ln_case(out, "ln_seq", 2, 3, 5, 1e-3)
        ln_case(out, "ln_vec", 4, 0, 6, 1e-3)
    print("wrote", os.path.normpath(OUT))


if __name__ == "__main__":
    main()
