"""Spiking network models with Lava's timing, trainable in float or quantization-aware mode.

Timing (identical to the deployed network): the input is presented at every step; each
Dense hop delivers at step ``t + 1`` what it received at step ``t`` (its buffer starts at
zero), and every neuron integrates its bias from step 1.

Modes:
- ``quantized=False``: float weights, float decays ``1/tau``; threshold in float units.
- ``quantized=True``: the forward pass is the deployed integer computation, exactly
  (:func:`snn_export.fixed_point.quantize_dense_lif` and :func:`~snn_export.fixed_point.lif_step`
  in float64), with straight-through gradients for rounding and surrogate gradients for spikes.
"""
from __future__ import annotations

import torch
from torch import nn

from snn_export import fixed_point as fp

from .surrogate import spike_fn


class LIFLayer(nn.Module):
    """Dense synapses into CUBA LIF neurons (hard reset to 0, strict threshold)."""

    def __init__(self, n_in: int, n_out: int, tau_mem: float = 2.0, tau_syn: float | None = None,
                 threshold: float = 1.0, input_scale: float = 1.0):
        super().__init__()
        self.linear = nn.Linear(n_in, n_out)
        self.tau_mem, self.tau_syn, self.threshold = tau_mem, tau_syn, threshold
        self.input_scale = input_scale  # folded into the weights (encoding layer)

    def folded_weight(self) -> torch.Tensor:
        return self.linear.weight * self.input_scale

    def quantized(self) -> fp.QuantizedDense:
        return fp.quantize_dense_lif(self.folded_weight(), self.linear.bias, self.threshold,
                                     self.tau_mem, self.tau_syn)


class DenseSNN(nn.Module):
    """A chain of Dense/LIF layers; the first reads graded integer input levels.

    sizes: [inputs, hidden..., outputs]. input_scale: float value of one input level.
    Readout: spike counts of the last layer over all steps (argmax = class).
    """

    def __init__(self, sizes: list[int], tau_mem: float = 2.0, tau_syn: float | None = None,
                 threshold: float = 1.0, input_scale: float = 1.0,
                 surrogate: str = "atan", alpha: float = 2.0):
        super().__init__()
        if len(sizes) < 2:
            raise ValueError(f"sizes needs at least an input and an output size, got {sizes}")
        self.sizes = list(sizes)
        self.layers = nn.ModuleList(
            LIFLayer(a, b, tau_mem, tau_syn, threshold, input_scale if i == 0 else 1.0)
            for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])))
        self.spike = spike_fn(surrogate, alpha)
        self.quantized_mode = True

    def forward(self, x: torch.Tensor, time_steps: int) -> list[torch.Tensor]:
        """x: (batch, inputs) integer input levels. Returns spikes per layer, (batch, T, n)."""
        if self.quantized_mode:
            return self._run_quantized(x, time_steps)
        return self._run_float(x, time_steps)

    def output(self, x: torch.Tensor, time_steps: int) -> torch.Tensor:
        """The readout's spikes (batch, T, classes)."""
        return self(x, time_steps)[-1]

    def _run_quantized(self, x, time_steps):
        params = [layer.quantized() for layer in self.layers]
        x = x.double()
        batch = x.shape[0]
        state = [(x.new_zeros(batch, p.weight.shape[0]),) * 2 for p in params]
        buffers = [x.new_zeros(batch, p.weight.shape[0]) for p in params]
        spikes = [[] for _ in params]
        for _ in range(time_steps):
            inp = x
            for k, p in enumerate(params):
                a, buffers[k] = buffers[k], inp @ p.weight.T
                u, v, s = fp.lif_step(*state[k], a, p.bias, p.neuron, self.spike)
                state[k] = (u, v)
                spikes[k].append(s)
                inp = s
        return [torch.stack(s, 1) for s in spikes]

    def _run_float(self, x, time_steps):
        x = x.float()
        batch = x.shape[0]
        n = [layer.linear.out_features for layer in self.layers]
        state = [(x.new_zeros(batch, m),) * 2 for m in n]
        buffers = [x.new_zeros(batch, m) for m in n]
        spikes = [[] for _ in n]
        for _ in range(time_steps):
            inp = x
            for k, layer in enumerate(self.layers):
                a, buffers[k] = buffers[k], inp @ layer.folded_weight().T
                keep_u = 0.0 if layer.tau_syn is None else 1 - 1 / layer.tau_syn
                u = state[k][0] * keep_u + a
                v = state[k][1] * (1 - 1 / layer.tau_mem) + u + layer.linear.bias
                s = self.spike(v - layer.threshold, layer.threshold)
                state[k] = (u, v * (1 - s))
                spikes[k].append(s)
                inp = s
        return [torch.stack(s, 1) for s in spikes]


def build(architecture: dict, input_scale: float) -> DenseSNN:
    """Instantiate a model from a checkpoint's ``architecture`` field."""
    if architecture.get("name") != "dense_snn":
        raise ValueError(f"unknown architecture {architecture.get('name')!r} "
                         "(this version knows 'dense_snn')")
    neuron = architecture.get("neuron", {})
    if neuron.get("type", "lif") != "lif":
        raise ValueError(f"unknown neuron type {neuron.get('type')!r} (known: 'lif')")
    return DenseSNN(architecture["sizes"], tau_mem=float(neuron.get("tau_mem", 2.0)),
                    tau_syn=neuron.get("tau_syn"), threshold=float(neuron.get("threshold", 1.0)),
                    input_scale=input_scale, surrogate=neuron.get("surrogate", "atan"),
                    alpha=float(neuron.get("alpha", 2.0)))
