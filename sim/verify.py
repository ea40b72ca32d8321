"""Verification: the exported description in real Lava against the integer emulator,
spike by spike on every layer at every step, plus float / emulator / Lava accuracy."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from snn_export.deploy import netx_hdf5
from snn_export.readout import predict
from snn_export.train.models import DenseSNN

from . import emulator, lava_runner


@dataclass
class Mismatch:
    layer: str
    sample: int
    neuron: int
    step: int  # 1-based, as Lava counts
    emulator: int
    lava: int


@dataclass
class LayerComparison:
    layer: str
    spikes_emulator: int
    spikes_lava: int
    differing: int


@dataclass
class VerifyResult:
    samples: int
    bit_exact: bool
    mismatches: int
    first_mismatch: Mismatch | None
    accuracy: dict  # float, emulator, lava
    layers: list[LayerComparison] = field(default_factory=list)

    def to_json(self) -> dict:
        return asdict(self)

    def summary(self) -> str:
        acc = self.accuracy
        lines = [f"verified {self.samples} samples",
                 f"accuracy: float {acc['float']:.4f}  emulator {acc['emulator']:.4f}  "
                 f"lava {acc['lava']:.4f}"]
        lines += [f"  {c.layer}: {c.spikes_emulator} spikes (emulator), {c.spikes_lava} (lava), "
                  f"{c.differing} differing" for c in self.layers]
        if self.bit_exact:
            lines.append("bit-exact: Lava and the emulator agree on every spike of every layer")
        else:
            m = self.first_mismatch
            lines.append(f"MISMATCH: {self.mismatches} differing spikes; first at layer {m.layer}, "
                         f"sample {m.sample}, neuron {m.neuron}, step {m.step}: "
                         f"emulator {m.emulator}, lava {m.lava}")
        return "\n".join(lines)


def compare(names: list[str], emu: list[np.ndarray], lava: list[np.ndarray]):
    """Per-layer counts and the first differing spike in (step, layer, sample, neuron) order."""
    layers, first, total = [], None, 0
    for name, e, l in zip(names, emu, lava):
        diff = e != l
        total += int(diff.sum())
        layers.append(LayerComparison(name, int(e.sum()), int(l.sum()), int(diff.sum())))
    for k, (e, l) in enumerate(zip(emu, lava)):
        idx = np.argwhere(e != l)  # (sample, step, neuron)
        if len(idx):
            s, t, n = idx[np.lexsort((idx[:, 2], idx[:, 0], idx[:, 1]))][0]
            cand = Mismatch(names[k], int(s), int(n), int(t) + 1, int(e[s, t, n]), int(l[s, t, n]))
            if first is None or cand.step < first.step:
                first = cand
    return layers, first, total


def verify(netx_path: str | Path, model: DenseSNN, x: np.ndarray, y: np.ndarray,
           progress: bool = True) -> VerifyResult:
    """Run the description at ``netx_path`` in Lava and in the emulator on ``x``."""
    net = netx_hdf5.read(netx_path)
    emu = emulator.run(net, x).spikes
    lava = lava_runner.run(netx_path, x, net.time_steps, net.input_bits, progress=progress)
    names = [layer.name for layer in net.layers]
    layers, first, total = compare(names, emu, lava)
    model.quantized_mode = False
    with torch.no_grad():
        float_out = model(torch.from_numpy(np.asarray(x)), net.time_steps)[-1]
    acc = {"float": float(np.mean(predict(float_out) == y)),
           "emulator": float(np.mean(predict(emu[-1]) == y)),
           "lava": float(np.mean(predict(lava[-1]) == y))}
    return VerifyResult(samples=len(x), bit_exact=total == 0, mismatches=total,
                        first_mismatch=first, accuracy=acc, layers=layers)
