"""Exact integer emulator of a deployed :class:`~snn_export.graph.Network`, batched over samples.

It runs :func:`snn_export.fixed_point.lif_step` on float64 tensors holding integers, the same
code on CPU and CUDA. Float64 sums of integers are exact below 2**53; :func:`run` checks the
bound on every Dense before it starts. Timing is Lava's: each Dense delivers at step
``t + 1`` what it received at step ``t`` (its buffer starts at zero).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from snn_export import fixed_point as fp
from snn_export.graph import Network

EXACT_BOUND = 2.0**53


@dataclass
class EmulatorResult:
    """spikes: per layer, (samples, steps, neurons) uint8. u, v: per layer, the final states
    (samples, neurons) int64."""

    spikes: list[np.ndarray]
    u: list[np.ndarray]
    v: list[np.ndarray]


def _check_exact(net: Network) -> None:
    """Every partial sum of a Dense accumulation must be an exact float64 integer."""
    in_max = float(2**net.input_bits - 1)
    for layer in net.layers:
        bound = float(np.abs(layer.weight).max(initial=0)) * in_max * layer.n_in
        if bound >= EXACT_BOUND:
            raise ValueError(f"layer {layer.name}: accumulations up to {bound:.3g} are not "
                             "exact in float64")
        in_max = 1.0


def run(net: Network, x, device: str | torch.device = "cpu", batch_size: int = 4096) -> EmulatorResult:
    """Run ``x`` ((samples, inputs) unsigned integer levels) for ``net.time_steps`` steps."""
    _check_exact(net)
    x = torch.as_tensor(np.asarray(x), dtype=torch.float64)
    if x.ndim != 2 or x.shape[1] != net.input_size:
        raise ValueError(f"input of shape {tuple(x.shape)}; expected (samples, {net.input_size})")
    if x.numel() and (x.min() < 0 or x.max() > 2**net.input_bits - 1):
        raise ValueError(f"input levels must be within 0..{2**net.input_bits - 1}")
    weights = [torch.as_tensor(layer.weight, dtype=torch.float64, device=device).T
               for layer in net.layers]
    biases = [torch.as_tensor(layer.bias, dtype=torch.float64, device=device)
              for layer in net.layers]
    chunks = [_run_batch(net, x[i:i + batch_size].to(device), weights, biases)
              for i in range(0, max(len(x), 1), batch_size)]
    return EmulatorResult(*(
        [np.concatenate([c[field][k] for c in chunks]) for k in range(len(net.layers))]
        for field in range(3)))


def _run_batch(net, x, weights, biases):
    n = len(net.layers)
    zeros = [x.new_zeros(x.shape[0], w.shape[1]) for w in weights]
    u, v, buffers = list(zeros), list(zeros), list(zeros)
    spikes = [[] for _ in range(n)]
    for _ in range(net.time_steps):
        inp = x
        for k, layer in enumerate(net.layers):
            a, buffers[k] = buffers[k], inp @ weights[k]
            u[k], v[k], s = fp.lif_step(u[k], v[k], a, biases[k], layer.neuron)
            spikes[k].append(s)
            inp = s
    return ([torch.stack(s, 1).to(torch.uint8).cpu().numpy() for s in spikes],
            [t.cpu().numpy().astype(np.int64) for t in u],
            [t.cpu().numpy().astype(np.int64) for t in v])
