"""Deployed accuracy without Lava: the exported network in the exact integer emulator (which
Lava matches bit for bit, see :mod:`snn_export.sim.verify`) next to the float model."""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch
from tqdm import tqdm

from snn_export.graph import Network
from snn_export import readout
from snn_export.readout import predict

from . import emulator
from .emulator import as_frames, window_frames


@dataclass
class Evaluation:
    samples: int
    float_accuracy: float | None  # the trained model in float (None: no float model)
    deployed_accuracy: float  # the integer network in the emulator

    def to_json(self) -> dict:
        return asdict(self)

    def summary(self) -> str:
        deployed = f"deployed (integer emulator) {self.deployed_accuracy:.4f}"
        if self.float_accuracy is None:
            return f"evaluated {self.samples} test samples: {deployed} (no float model)"
        gap = 100 * (self.deployed_accuracy - self.float_accuracy)
        return (f"evaluated {self.samples} test samples: float {self.float_accuracy:.4f}, "
                f"{deployed} ({gap:+.1f} points)")


def evaluate(net: Network, model, x: np.ndarray, y: np.ndarray, batch_size: int = 100,
             progress: bool = True) -> Evaluation:
    """Accuracy of ``net`` (the emulator, :func:`snn_export.readout.deployed`) and of
    ``model`` (or None) in float on integer input levels ``x`` (see
    :func:`~snn_export.sim.emulator.as_frames`) with labels ``y``."""
    x = as_frames(net, x)
    if model is not None:
        model.quantized_mode = False
        model.eval()
    deployed, floating = [], []
    emulate = emulator.Emulator(net)
    for i in tqdm(range(0, len(x), batch_size), desc="emulator", unit="batch",
                  disable=not progress):
        xb = x[i:i + batch_size]
        deployed.append(readout.deployed(net, emulate.run(xb)))
        if model is not None:
            with torch.no_grad():
                floating.append(predict(model.output(window_frames(net, xb), net.window),
                                        model.voltage_readout))
    return Evaluation(len(x), float(np.mean(np.concatenate(floating) == y)) if floating
                      else None, float(np.mean(np.concatenate(deployed) == y)))
