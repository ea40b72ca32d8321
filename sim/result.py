"""What a simulation returns, whether it ran in the emulator or in Lava."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from snn_export.graph import Neurons

STATE_NAMES = {"lif": ("u", "v"), "atrlif": ("i", "v", "theta", "r")}


def state_names(group: Neurons) -> tuple[str, ...]:
    """The neuron state registers of a group, in Lava's names (internal units)."""
    return STATE_NAMES[group.kind]


@dataclass
class SimResult:
    """spikes: per neuron group, (samples, steps, neurons) uint8, neurons in the group's
    row-major (C, H, W) order. states: per group, per state register (:func:`state_names`),
    the values after each sample's last step, (samples, neurons) int64; or, where
    ``state_sample`` is set, after that sample's only, (1, neurons) (a run that cannot
    read the others)."""

    spikes: dict[str, np.ndarray]
    states: dict[str, dict[str, np.ndarray]]
    state_sample: int | None = None

    def first(self, n: int) -> "SimResult":
        """The result of the first ``n`` samples (of all, with ``state_sample``)."""
        if self.state_sample is not None:
            raise ValueError("a result with one sample's states cannot be cut")
        return SimResult({k: v[:n] for k, v in self.spikes.items()},
                         {k: {r: a[:n] for r, a in s.items()} for k, s in self.states.items()})
