"""LIF neurons over all steps as one autograd operation (a fused scan).

Stepped under autograd, a LIF neuron records about ten operations per step and replays them
backward one by one. Yet its only nonlinearities are the spike (a Heaviside with a
surrogate derivative) and the reset (``v * (1 - s)``); the rest is linear, the fixed-point
roundings and wraps included (their gradients are straight-through). So the gradient is a
linear recurrence backward in time whose coefficients can be computed for all steps at once
from the saved voltages and spikes. :func:`lif_scan` runs the forward without autograd and
that recurrence backward: the gradients of autograd through the step function, with two
operations per step.
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import torch

from .surrogate import derivative

SCAN_ELEMENTS = 2**15  # neurons stepped by one operation (batch slices: states stay in cache)


class Linear(NamedTuple):
    """The step's linear part: ``u_t = keep_u * u_(t-1) + gain * a_t``, ``v'_t = keep_v *
    v_(t-1) + u_t``, spikes ``s_t = H(v'_t - scale)`` (``scale``: the threshold in the
    voltage's units), ``v_t = v'_t * (1 - s_t)``; ``surrogate``: (kind, alpha)."""

    keep_u: float
    keep_v: float
    gain: float
    scale: float
    surrogate: tuple


class Heaviside:
    """A ``spike_fn`` for :func:`snn_export.fixed_point.lif_step` that keeps the
    ``v' - threshold`` it was given (``over``)."""

    def __call__(self, over: torch.Tensor, scale: float) -> torch.Tensor:
        self.over = over
        return (over > 0).to(over.dtype)


class _Scan(torch.autograd.Function):
    @staticmethod
    def forward(ctx, a, step, lin):
        spikes, overs = [], []
        # batch slices keep the states in cache; one slice while tracing (ONNX export): the
        # batch axis must stay symbolic
        width = len(a) if torch.jit.is_tracing() else max(1, SCAN_ELEMENTS // a[0, 0].numel())
        for part in [a] if width >= len(a) else a.split(width):
            state, steps = None, []
            for a_t in part.unbind(1):
                state, over, s = step(a_t, state)
                steps.append((s, over))
            spikes.append(torch.stack([s for s, _ in steps], 1))
            overs.append(torch.stack([over for _, over in steps], 1))
        spikes, overs = torch.cat(spikes), torch.cat(overs)
        ctx.save_for_backward(overs, spikes)
        ctx.lin = lin
        return spikes

    @staticmethod
    def backward(ctx, grad):
        over, s = (x.float() for x in ctx.saved_tensors)  # gradients need no float64
        dtype, grad, lin = grad.dtype, grad.float(), ctx.lin
        slope = derivative(over, lin.scale, *lin.surrogate)  # ds_t / dv'_t
        reset = ((1 - s) - (over + lin.scale) * slope).transpose(0, 1).contiguous()  # dv_t/dv'_t
        g = (grad * slope).transpose(0, 1).contiguous()  # dL/dv'_t through the spike itself
        grad_v = torch.zeros_like(g[0])  # dL/dv_t, from step t + 1
        for t in reversed(range(len(g))):  # in place: g[t] becomes dL/dv'_t, then dL/du_t
            g[t].addcmul_(grad_v, reset[t])
            torch.mul(g[t], lin.keep_v, out=grad_v)
            if lin.keep_u and t + 1 < len(g):
                g[t].add_(g[t + 1], alpha=lin.keep_u)
        return (g * lin.gain).transpose(0, 1).to(dtype), None, None


def lif_scan(a: torch.Tensor, step: Callable, lin: Linear) -> torch.Tensor:
    """Spikes (batch, T, ...) of a LIF group driven by ``a`` (batch, T, ...).

    step: ``(a_t, state) -> (state, over_t, s_t)``, one step without gradients (``state``
    is None at the first step; ``over_t`` is ``v'_t - threshold``); ``lin``: its linear
    part, whose coefficients the gradient uses.
    """
    return _Scan.apply(a, step, lin)
