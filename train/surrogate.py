"""Surrogate spike functions: forward is the strict Heaviside ``x > 0``, backward a smooth
pseudo-derivative of ``x / scale`` (``scale`` is the threshold in the state's units)."""
from __future__ import annotations

import math

import torch


class _Spike(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, scale, kind, alpha):
        ctx.save_for_backward(x)
        ctx.scale, ctx.kind, ctx.alpha = scale, kind, alpha
        return (x > 0).to(x.dtype)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        z, a = x / ctx.scale, ctx.alpha
        if ctx.kind == "atan":
            d = a / 2 / (1 + (math.pi / 2 * a * z) ** 2)
        elif ctx.kind == "sigmoid":
            sg = torch.sigmoid(a * z)
            d = a * sg * (1 - sg)
        else:  # rectangular
            d = (z.abs() < 0.5 / a).to(x.dtype) * a
        return grad * d / ctx.scale, None, None, None


SURROGATES = ("atan", "sigmoid", "rectangular")


def spike_fn(kind: str = "atan", alpha: float = 2.0):
    """A ``spike_fn(x, scale)`` for :func:`snn_export.fixed_point.lif_step`."""
    if kind not in SURROGATES:
        raise ValueError(f"unknown surrogate {kind!r}; choose one of {', '.join(SURROGATES)}")
    return lambda x, scale: _Spike.apply(x, scale, kind, alpha)
