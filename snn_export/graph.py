"""The project's network descriptions.

- :class:`FloatNetwork`: what the export stage reads out of a trained model: float weights
  (input scaling folded into the encoding layer), biases and neuron constants.
- :class:`Network`: the deployable description the deploy stage lowers it to: integer
  parameters in Loihi's fixed-point formats, written to netx HDF5 and run by the emulator
  and the Lava runner in the sim stage. Its arrays are integer numpy arrays.

Timing (Lava's): each Dense hop adds one step of latency, so layer ``k`` (1-based) first
sees the input at step ``k + 1``; every neuron integrates its bias from step 1.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from . import fixed_point as fp


@dataclass
class FloatDenseLayer:
    """A trained Dense + LIF layer. weight: (out, in) float tensor acting on float inputs
    (for the encoding layer: on ``level * input_scale``, folded in); bias: (out,) float;
    threshold in float units; time constants in steps (``tau_syn=None``: no current memory)."""

    name: str
    weight: torch.Tensor
    bias: torch.Tensor
    threshold: float
    tau_mem: float
    tau_syn: float | None


@dataclass
class FloatNetwork:
    """A trained chain of Dense + LIF layers; the first reads integer input levels."""

    layers: list[FloatDenseLayer]
    input_size: int
    time_steps: int
    input_bits: int
    metadata: dict = field(default_factory=dict)


@dataclass
class DenseLayer:
    """A Dense synapse group feeding a group of CUBA LIF neurons.

    weight: (out, in) integer weights as the synapse applies them, ``2 * mantissa`` with
        int8 mantissas (so even, in [-256, 254]).
    weight_exp: the layer's exponent ``e``: float weight = mantissa * 2**e, threshold
        ``vth`` = float threshold * 2**(1 - e). Reported; netx derives its own
        ``weight_exp`` register from ``weight``.
    bias: (out,) 13-bit bias mantissas (Lava ``bias_exp`` = 6).
    neuron: fixed-point LIF parameters.
    input_bits: 0 when the input is binary spikes; else the bit width of graded input
        messages (only the encoding layer).
    """

    name: str
    weight: np.ndarray
    weight_exp: int
    bias: np.ndarray
    neuron: fp.LIFParams
    input_bits: int = 0

    @property
    def n_out(self) -> int:
        return int(self.weight.shape[0])

    @property
    def n_in(self) -> int:
        return int(self.weight.shape[1])

    def validate(self) -> None:
        """Raise ``ValueError`` naming this layer if a value is outside its bit width."""
        w, b = self.weight, self.bias
        if w.ndim != 2 or b.shape != (w.shape[0],):
            raise ValueError(f"layer {self.name}: weight {w.shape} and bias {b.shape} disagree")
        if np.any(w % fp.WEIGHT_STEP) or w.min(initial=0) < fp.WEIGHT_STEP * fp.MANT_MIN \
                or w.max(initial=0) > fp.WEIGHT_STEP * fp.MANT_MAX:
            raise ValueError(f"layer {self.name}: weights must be 2 * int8 mantissas")
        if b.min(initial=0) < fp.BIAS_MANT_MIN or b.max(initial=0) > fp.BIAS_MANT_MAX:
            raise ValueError(f"layer {self.name}: bias outside the 13-bit range")
        if not 0 <= self.input_bits <= fp.INPUT_BITS_MAX:
            raise ValueError(f"layer {self.name}: input_bits={self.input_bits} outside 0..8")


@dataclass
class Network:
    """A feed-forward chain of Dense/LIF layers, the first one reading graded input.

    input_size: number of input channels (flattened).
    time_steps: steps per sample; the input is presented at every step.
    input_bits: bit width of the unsigned integer input levels.
    metadata: plain data (dataset, source checkpoint, ...), copied into reports.
    """

    layers: list[DenseLayer]
    input_size: int
    time_steps: int
    input_bits: int
    metadata: dict = field(default_factory=dict)

    def validate(self) -> None:
        n_in = self.input_size
        for layer in self.layers:
            layer.validate()
            if layer.n_in != n_in:
                raise ValueError(f"layer {layer.name}: expects {layer.n_in} inputs, "
                                 f"the previous layer gives {n_in}")
            n_in = layer.n_out
        if self.time_steps < 1:
            raise ValueError(f"time_steps must be >= 1, got {self.time_steps}")
