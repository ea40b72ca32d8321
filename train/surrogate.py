"""Surrogate spike functions: forward is the strict Heaviside ``x > 0``, backward a smooth
pseudo-derivative of ``x / scale`` (``scale`` is the threshold in the state's units)."""
from __future__ import annotations

import math

import torch


def derivative(x: torch.Tensor, scale: float, kind: str, alpha: float) -> torch.Tensor:
    """The pseudo-derivative of the spike with respect to ``x`` (``x / scale`` is the
    normalised distance above threshold; no gradient of its own)."""
    if kind == "atan":
        z = x * (math.pi / 2 * alpha / scale)
        return z.square_().add_(1).reciprocal_().mul_(alpha / 2 / scale)
    z = x / scale
    if kind == "sigmoid":
        sg = torch.sigmoid(alpha * z)
        return sg * (1 - sg) * (alpha / scale)
    return (z.abs() < 0.5 / alpha).to(x.dtype) * (alpha / scale)  # rectangular


class _Spike(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, scale, kind, alpha):
        ctx.save_for_backward(x)
        ctx.scale, ctx.kind, ctx.alpha = scale, kind, alpha
        return (x > 0).to(x.dtype)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * derivative(x, ctx.scale, ctx.kind, ctx.alpha), None, None, None


SURROGATES = ("atan", "sigmoid", "rectangular")


def spike_fn(kind: str = "atan", alpha: float = 2.0):
    """A ``spike_fn(x, scale)`` for :func:`snn_export.fixed_point.lif_step`."""
    if kind not in SURROGATES:
        raise ValueError(f"unknown surrogate {kind!r}; choose one of {', '.join(SURROGATES)}")
    return lambda x, scale: _Spike.apply(x, scale, kind, alpha)
