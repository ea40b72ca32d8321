"""LIF neurons over all steps as one autograd operation (a fused scan).

Stepped under autograd, a LIF neuron records about ten operations per step and replays them
backward one by one. Yet its only nonlinearities are the spike (a Heaviside with a
surrogate derivative) and the reset (``v * (1 - s)``); the rest is linear, the fixed-point
roundings and wraps included (their gradients are straight-through). So the gradient is a
linear recurrence backward in time whose coefficients can be computed for all steps at once
from the saved ``v' - threshold`` (float32: the gradient needs no more). :func:`lif_scan`
runs the forward without autograd and that recurrence backward: the gradients of autograd
through the step function, with one in-place operation per step (two with a synaptic
current).
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import torch

from .surrogate import derivative

SCAN_ELEMENTS = 2**16  # neurons stepped by one operation, per thread (states stay in cache)


class Linear(NamedTuple):
    """The step's linear part: ``u_t = keep_u * u_(t-1) + gain * a_t``, ``v'_t = keep_v *
    v_(t-1) + u_t``, spikes ``s_t = H(v'_t - scale)`` (``scale``: the threshold in the
    voltage's units), ``v_t = v'_t * (1 - s_t)``; ``surrogate``: (kind, alpha)."""

    keep_u: float
    keep_v: float
    gain: float
    scale: float
    surrogate: tuple


class _Scan(torch.autograd.Function):
    @staticmethod
    def forward(ctx, a, step, lin):
        if torch.jit.is_tracing():  # ONNX export: the batch axis stays symbolic, no buffers
            state, overs = None, []
            for a_t in a.unbind(1):
                state, over_t = step(a_t, state, None)
                overs.append(over_t)
            over = torch.stack(overs, 1)
            spikes = (over > 0).float()
        else:  # batch slices keep the states in cache
            over = torch.empty(a.shape, dtype=torch.float32, device=a.device)
            width = max(1, SCAN_ELEMENTS * torch.get_num_threads() // a[0, 0].numel())
            for lo in range(0, len(a), width):
                part, out, state = a[lo:lo + width], over[lo:lo + width], None
                for t in range(a.shape[1]):
                    state, _ = step(part[:, t], state, out[:, t])
            spikes = torch.gt(over, 0, out=torch.empty_like(over))  # 0 or 1
        ctx.save_for_backward(over)
        ctx.lin, ctx.dtype = lin, a.dtype
        return spikes

    @staticmethod
    def backward(ctx, grad):
        (over,), lin = ctx.saved_tensors, ctx.lin  # gradients need no float64
        slope = derivative(over, lin.scale, *lin.surrogate)  # ds_t / dv'_t
        # dL/dv'_t = dL/ds_t * slope_t + back_t * dL/dv'_(t+1), where back_t = keep_v *
        # dv_t/dv'_t and dv_t/dv'_t = (1 - s_t) - v'_t * slope_t (the reset v'_t * (1 - s_t))
        back = (over + lin.scale).mul_(slope).neg_().add_(over <= 0).mul_(lin.keep_v)
        g = slope.mul_(grad)
        for t in reversed(range(g.shape[1] - 1)):  # in place: g becomes dL/dv'
            g[:, t].addcmul_(g[:, t + 1], back[:, t])
        if lin.keep_u:  # then dL/du_t = dL/dv'_t + keep_u * dL/du_(t+1)
            for t in reversed(range(g.shape[1] - 1)):
                g[:, t].add_(g[:, t + 1], alpha=lin.keep_u)
        return (g.mul_(lin.gain) if lin.gain != 1 else g).to(ctx.dtype), None, None


def lif_scan(a: torch.Tensor, step: Callable, lin: Linear) -> torch.Tensor:
    """Spikes (batch, T, ...), float32 0 or 1, of a LIF group driven by ``a`` (batch, T, ...).

    step: ``(a_t, state, out) -> (state, over_t)``, one step without gradients (``state`` is
    None at the first step) whose ``over_t`` is ``v'_t - threshold``, written into ``out``
    unless it is None; ``lin``: its linear part, whose coefficients the gradient uses.
    """
    return _Scan.apply(a, step, lin)
