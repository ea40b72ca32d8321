"""The classification readout shared by training, the emulator and the Lava runner.

A spiking readout votes with its spike counts over all steps; a leaky integrator readout
(``li``, a :class:`~snn_export.graph.Role` ``integrator`` group once deployed) with its
membrane voltage after the last step (what norse's and snnTorch's membrane readouts give
when decoded at the last step; a model trained on the largest voltage over time is scored
differently). Ties go to the lowest class index.
"""
from __future__ import annotations

import numpy as np
import torch

from .errors import SnnExportError


def scores(output: torch.Tensor, voltage: bool) -> torch.Tensor:
    """Per class scores (samples, classes) from the readout's output (samples, steps,
    classes): its spike counts, or (``voltage``) its voltage at the last step."""
    return output[:, -1] if voltage else output.sum(1)


def predict(output, voltage: bool = False) -> np.ndarray:
    """Class per sample from the readout's output ``(samples, steps, classes)``: spikes,
    or (``voltage``) its voltage (:func:`scores`)."""
    out = output if torch.is_tensor(output) else torch.as_tensor(np.asarray(output))
    return scores(out, voltage).argmax(1).cpu().numpy()


def deployed(net, result) -> np.ndarray:
    """Class per sample of a deployed network's run (a
    :class:`~snn_export.sim.result.SimResult`): the readout's spike counts, or the final
    voltage ``v`` of an ``integrator`` readout."""
    name = net.readout
    if net.group(name).role.kind == "integrator":
        if result.state_sample is not None:
            raise SnnExportError(f"readout {name}: an integrator's class is its final voltage "
                                 "in every sample, but the run kept one sample's states")
        return predict(result.states[name]["v"][:, None], voltage=True)
    return predict(result.spikes[name])
