#!/usr/bin/python3
"""Write tests/golden/losses_optim_torch.json: PyTorch's losses, gradients
and optimizer steps for fixed small inputs, which test_torch_golden.c
compares with seqnet's lib/train. Run with Debian's python3-torch:

    /usr/bin/python3 tests/train/gen_torch_golden.py

The JSON is committed so CI does not need PyTorch.

Losses are evaluated in float64 on float32 inputs (seqnet accumulates in
double). PyTorch computes each per-element loss and its gradient; the
reduction (mask, ignored -1 labels, sample weights, Keras's mean or the
"sum over steps, mean over the batch") is plain bookkeeping written here from
seqnet's documented definition in lib/train/loss.h.

Where PyTorch and Keras differ on purpose, inputs are chosen so the
difference cannot show:
  - binary cross-entropy on probabilities: torch clamps log() at -100,
    Keras clips p to [1e-7, 1 - 1e-7]; inputs stay in [0.05, 0.95];
  - categorical cross-entropy on probabilities: Keras normalises each row
    to sum 1 before taking the log; torch has no such loss, so the
    normalisation is written out (p / p.sum()) and differentiated by
    autograd, with rows kept away from the clip;
  - Adam and RMSprop place epsilon differently (torch: sqrt(v_hat) + eps and
    sqrt(v) + eps; Keras: after the bias-corrected step size, and
    sqrt(v + eps)); both use epsilon 1e-12 here so the two agree to ~1e-7.
  - Adagrad: torch sqrt(acc) + eps, Keras sqrt(acc + eps): eps 1e-10.
"""
import json
import os
import sys

import torch
import torch.nn.functional as F

# seqnet's pinned ids (include/seqnet/train.h)
BCE, BCE_LOGITS, CCE, SPARSE_CCE, MSE, MAE, CCE_LOGITS, SPARSE_CCE_LOGITS = 1, 2, 3, 4, 5, 6, 7, 8
MEAN, SUM_OVER_STEPS = 0, 1
SGD, ADAM, RMSPROP, ADAGRAD = 1, 2, 3, 4
LR, MOMENTUM, NESTEROV, BETA_1, BETA_2, EPSILON, RHO, INIT_ACC = 1, 2, 3, 4, 5, 6, 7, 8


def flat(t):
    return [float(x) for x in t.detach().reshape(-1).tolist()]


def f32(t):
    """Round to float32 (the C side's input type), then compute in float64."""
    return t.to(torch.float32).to(torch.float64)


def per_element(loss, p, y):
    """PyTorch's per-(b, t) loss, shape [B, T]. p [B, T, W]; y [B, T, W] or [B, T]."""
    b, t, w = p.shape
    if loss == BCE:
        return F.binary_cross_entropy(p, y, reduction="none").mean(-1)
    if loss == BCE_LOGITS:
        return F.binary_cross_entropy_with_logits(p, y, reduction="none").mean(-1)
    if loss == MSE:
        return F.mse_loss(p, y, reduction="none").mean(-1)
    if loss == MAE:
        return F.l1_loss(p, y, reduction="none").mean(-1)
    if loss == CCE:
        logq = torch.log(p / p.sum(-1, keepdim=True))
        return -(y * logq).sum(-1)
    if loss == CCE_LOGITS:
        return F.cross_entropy(p.reshape(-1, w), y.reshape(-1, w), reduction="none").reshape(b, t)
    labels = y.reshape(-1).long()
    if loss == SPARSE_CCE:
        logq = torch.log(p / p.sum(-1, keepdim=True)).reshape(-1, w)
        return F.nll_loss(logq, labels, ignore_index=-1, reduction="none").reshape(b, t)
    if loss == SPARSE_CCE_LOGITS:
        return F.cross_entropy(p.reshape(-1, w), labels, ignore_index=-1,
                               reduction="none").reshape(b, t)
    raise ValueError(loss)


def loss_case(name, loss, reduction, pred, target, mask=None, weights=None):
    b, t, w = pred.shape
    p = f32(pred).clone().requires_grad_(True)
    y = f32(target)
    counted = torch.ones(b, t, dtype=torch.float64)
    if mask is not None:
        counted = counted * mask.to(torch.float64)
    if loss in (SPARSE_CCE, SPARSE_CCE_LOGITS):
        counted = counted * (y >= 0).to(torch.float64)
    sw = torch.ones(b, dtype=torch.float64) if weights is None else f32(weights)
    el = per_element(loss, p, y)
    denom = counted.sum() if reduction == MEAN else torch.tensor(float(b), dtype=torch.float64)
    value = (sw[:, None] * counted * el).sum() / denom
    value.backward()
    # the standard torch reduction agrees with ours on plain vector cases
    if mask is None and weights is None and reduction == MEAN and t == 1 and \
            loss in (BCE, BCE_LOGITS, MSE, MAE):
        std = {BCE: F.binary_cross_entropy, BCE_LOGITS: F.binary_cross_entropy_with_logits,
               MSE: F.mse_loss, MAE: F.l1_loss}[loss](f32(pred), y)
        assert abs(float(std) - float(value)) < 1e-12, name
    return {
        "name": name, "loss": loss, "reduction": reduction,
        "batch": b, "steps": t, "width": w,
        "pred": flat(pred.to(torch.float32)),
        "target": flat(target.to(torch.float32)),
        "mask": None if mask is None else [int(v) for v in mask.reshape(-1).tolist()],
        "sample_weight": None if weights is None else flat(weights.to(torch.float32)),
        "value": float(value),
        "grad": flat(p.grad),
    }


def optim_case(name, kind, hyper, make, n_params=10, n_steps=5):
    gen = torch.Generator().manual_seed(1000 + len(name))
    init = (torch.rand(n_params, generator=gen) * 2 - 1).to(torch.float32)
    grads = [((torch.rand(n_params, generator=gen) * 4 - 2)).to(torch.float32)
             for _ in range(n_steps)]
    param = torch.nn.Parameter(init.clone())
    opt = make([param])
    after = []
    for g in grads:
        param.grad = g.clone()
        opt.step()
        after.append(flat(param))
    return {
        "name": name, "optimizer": kind, "hyper": [[k, v] for k, v in hyper],
        "init": flat(init), "grads": [flat(g) for g in grads], "params": after,
    }


def main():
    torch.manual_seed(20260101)
    gen = torch.Generator().manual_seed(7)

    def rand(*shape, lo=0.0, hi=1.0):
        return (torch.rand(*shape, generator=gen, dtype=torch.float64) * (hi - lo) + lo)

    mask = torch.tensor([[1, 1, 1, 0], [1, 1, 0, 0], [0, 1, 1, 1]])
    weights = torch.tensor([1.5, 0.5, 2.0])
    losses = []

    probs = rand(3, 4, 2, lo=0.05, hi=0.95)
    bits = (rand(3, 4, 2) < 0.5).to(torch.float64)
    losses.append(loss_case("bce_vector", BCE, MEAN, probs[:, :1], bits[:, :1]))
    losses.append(loss_case("bce_steps_mask_weights_mean", BCE, MEAN, probs, bits, mask, weights))
    losses.append(loss_case("bce_steps_mask_weights_sum", BCE, SUM_OVER_STEPS, probs, bits, mask,
                            weights))

    logits = rand(3, 4, 3, lo=-4.0, hi=4.0)
    soft = rand(3, 4, 3)
    losses.append(loss_case("bce_logits_vector", BCE_LOGITS, MEAN, logits[:, :1], soft[:, :1]))
    losses.append(loss_case("bce_logits_steps_mean", BCE_LOGITS, MEAN, logits, soft, mask,
                            weights))
    losses.append(loss_case("bce_logits_steps_sum", BCE_LOGITS, SUM_OVER_STEPS, logits, soft,
                            mask, weights))

    # unnormalised probability rows (sums around 1.5): the normalisation matters
    cprobs = rand(3, 4, 3, lo=0.2, hi=0.8)
    classes = torch.tensor([[0, 2, 1, -1], [1, -1, 0, 2], [2, 1, -1, 0]], dtype=torch.float64)
    onehot = F.one_hot(classes.clamp(min=0).long(), 3).to(torch.float64)
    losses.append(loss_case("cce_vector", CCE, MEAN, cprobs[:, :1], onehot[:, :1]))
    losses.append(loss_case("cce_steps_mean", CCE, MEAN, cprobs, onehot, mask, weights))
    losses.append(loss_case("cce_logits_soft_steps_sum", CCE_LOGITS, SUM_OVER_STEPS, logits,
                            soft / soft.sum(-1, keepdim=True), mask, weights))
    losses.append(loss_case("cce_logits_vector", CCE_LOGITS, MEAN, logits[:, :1], onehot[:, :1]))
    losses.append(loss_case("sparse_cce_ignored_mean", SPARSE_CCE, MEAN, cprobs, classes, mask,
                            weights))
    losses.append(loss_case("sparse_cce_ignored_sum", SPARSE_CCE, SUM_OVER_STEPS, cprobs,
                            classes))
    losses.append(loss_case("nll_logits_ignored_mean", SPARSE_CCE_LOGITS, MEAN, logits, classes,
                            mask, weights))
    losses.append(loss_case("nll_logits_ignored_sum", SPARSE_CCE_LOGITS, SUM_OVER_STEPS, logits,
                            classes))

    reg_pred = rand(3, 4, 2, lo=-2.0, hi=2.0)
    reg_target = reg_pred + torch.where(rand(3, 4, 2) < 0.5, -1.0, 1.0) * rand(3, 4, 2, lo=0.1,
                                                                               hi=1.0)
    losses.append(loss_case("mse_vector", MSE, MEAN, reg_pred[:, :1], reg_target[:, :1]))
    losses.append(loss_case("mse_steps_mean", MSE, MEAN, reg_pred, reg_target, mask, weights))
    losses.append(loss_case("mae_vector", MAE, MEAN, reg_pred[:, :1], reg_target[:, :1]))
    losses.append(loss_case("mae_steps_sum", MAE, SUM_OVER_STEPS, reg_pred, reg_target, mask,
                            weights))

    optims = [
        optim_case("sgd", SGD, [(LR, 0.1)], lambda p: torch.optim.SGD(p, lr=0.1)),
        optim_case("sgd_momentum", SGD, [(LR, 0.1), (MOMENTUM, 0.9)],
                   lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9)),
        optim_case("sgd_nesterov", SGD, [(LR, 0.05), (MOMENTUM, 0.8), (NESTEROV, 1)],
                   lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.8, nesterov=True)),
        optim_case("adam", ADAM, [(LR, 0.01), (EPSILON, 1e-12)],
                   lambda p: torch.optim.Adam(p, lr=0.01, betas=(0.9, 0.999), eps=1e-12)),
        optim_case("adam_betas", ADAM, [(LR, 0.02), (BETA_1, 0.5), (BETA_2, 0.9),
                                        (EPSILON, 1e-12)],
                   lambda p: torch.optim.Adam(p, lr=0.02, betas=(0.5, 0.9), eps=1e-12)),
        optim_case("rmsprop", RMSPROP, [(LR, 0.01), (RHO, 0.9), (EPSILON, 1e-12)],
                   lambda p: torch.optim.RMSprop(p, lr=0.01, alpha=0.9, eps=1e-12)),
        optim_case("rmsprop_momentum", RMSPROP, [(LR, 0.01), (RHO, 0.8), (MOMENTUM, 0.5),
                                                 (EPSILON, 1e-12)],
                   lambda p: torch.optim.RMSprop(p, lr=0.01, alpha=0.8, eps=1e-12,
                                                 momentum=0.5)),
        optim_case("adagrad", ADAGRAD, [(LR, 0.1), (INIT_ACC, 0.1), (EPSILON, 1e-10)],
                   lambda p: torch.optim.Adagrad(p, lr=0.1, initial_accumulator_value=0.1,
                                                 eps=1e-10)),
    ]

    doc = {
        "generator": "tests/train/gen_torch_golden.py",
        "torch_version": torch.__version__,
        "losses": losses,
        "optimizers": optims,
    }
    here = os.path.dirname(os.path.abspath(__file__))
    out = os.path.join(here, "..", "golden", "losses_optim_torch.json")
    if len(sys.argv) > 1:
        out = sys.argv[1]
    with open(out, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
