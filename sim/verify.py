"""Verification: the exported description in real Lava against the integer emulator,
spike by spike on every layer at every step, plus float / emulator / Lava accuracy."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from snn_export.deploy import formats
from snn_export.deploy.netx_import import netx_groups
from snn_export import readout
from snn_export.readout import predict

from . import emulator, lava_runner
from .result import SimResult


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
    differing_states: int = 0  # final neuron state values that differ (see VerifyResult)


@dataclass
class VerifyResult:
    samples: int
    bit_exact: bool
    mismatches: int
    first_mismatch: Mismatch | None
    accuracy: dict  # float (None without a model), emulator, lava (None without labels)
    layers: list[LayerComparison] = field(default_factory=list)
    model_differing: int = 0  # trained model's quantized spikes that differ from the emulator's
    back_to_back: bool = False  # Lava ran the samples back to back (states: the last sample's)

    def lava_run(self) -> str:
        """How Lava gave each sample a clean start (:mod:`~snn_export.sim.lava_runner`)."""
        if self.back_to_back:
            return ("Lava ran the samples back to back, each group reset at the first step of "
                    "its window (spikes compared from each group's depth on, states after the "
                    "last sample)")
        return ("Lava paused after each sample to read and reset every state (states compared "
                "after each sample)")

    def to_json(self) -> dict:
        return asdict(self)

    def summary(self) -> str:
        acc = {k: "-" if a is None else f"{a:.4f}" for k, a in self.accuracy.items()}
        lines = [f"verified {self.samples} samples",
                 f"accuracy: float {acc['float']}  emulator {acc['emulator']}  "
                 f"lava {acc['lava']}", self.lava_run()]
        lines += [f"  {c.layer}: {c.spikes_emulator} spikes (emulator), {c.spikes_lava} (lava), "
                  f"{c.differing} differing, {c.differing_states} differing states"
                  for c in self.layers]
        if self.model_differing:
            lines.append(f"MISMATCH: the trained model's quantized forward differs from the "
                         f"emulator on {self.model_differing} spikes")
        if self.bit_exact:
            lines.append("bit-exact: Lava and the emulator agree on every spike of every layer "
                         "and every final neuron state")
        else:
            m = self.first_mismatch
            where = "" if m is None else (
                f"; first spike at layer {m.layer}, sample {m.sample}, neuron {m.neuron}, "
                f"step {m.step}: emulator {m.emulator}, lava {m.lava}")
            lines.append(f"MISMATCH: {self.mismatches} differing spikes and states{where}")
        return "\n".join(lines)


def compare(emu: SimResult, lava: SimResult):
    """Per-group counts of differing spikes and final states, and the first differing spike
    in (step, group order, sample, neuron) order. Returns (layers, first, total)."""
    layers, first, total = [], None, 0
    k = lava.state_sample
    final = slice(None) if k is None else slice(k, k + 1)  # the samples whose states Lava read
    for name, e in emu.spikes.items():
        l = lava.spikes[name]
        diff = e != l
        states = sum(int((emu.states[name][r][final] != lava.states[name][r]).sum())
                     for r in emu.states[name])
        total += int(diff.sum()) + states
        layers.append(LayerComparison(name, int(e.sum()), int(l.sum()), int(diff.sum()), states))
        idx = np.argwhere(diff)  # (sample, step, neuron)
        if len(idx):
            s, t, n = idx[np.lexsort((idx[:, 2], idx[:, 0], idx[:, 1]))][0]
            cand = Mismatch(name, int(s), int(n), int(t) + 1, int(e[s, t, n]), int(l[s, t, n]))
            if first is None or cand.step < first.step:
                first = cand
    return layers, first, total


def differing_from_model(net, emu: SimResult, trained: dict) -> int:
    """Spikes of the trained model's nodes (standard timing, ``net.window`` steps) that
    differ from their groups' in the emulator, delayed by the group's depth: the group
    must be silent before its depth, then emit the node's spikes. For an integrator
    readout, also its final voltage ``v`` (the model's at the window's last step) where it
    differs."""
    depths, total = net.depths(), 0
    for name, spikes in trained.items():
        if net.group(name).role.kind == "integrator":
            final = spikes[:, -1].flatten(1).numpy()
            total += int((final != emu.states[name]["v"]).sum())
            continue
        deployed, d = emu.spikes[name], depths[name]
        model = spikes.flatten(2).numpy()[:, :max(deployed.shape[1] - d, 0)]
        total += int(deployed[:, :d].sum()) + \
            int((deployed[:, d:d + model.shape[1]] != model).sum())
    return total


def _accuracy(predicted, y: np.ndarray | None) -> float | None:
    """The share of ``predicted`` classes equal to the labels ``y`` (None: no labels)."""
    return None if y is None else float(np.mean(np.asarray(predicted) == y))


def verify(path: str | Path, model, x: np.ndarray, y: np.ndarray | None,
           progress: bool = True,
           stall_limit: float | None = lava_runner.STALL_LIMIT,
           network=None) -> VerifyResult:
    """Run the description at ``path`` in Lava and in the emulator on ``x`` (flattened
    samples or event frames: :func:`~snn_export.sim.emulator.as_frames`). Any format of
    :mod:`snn_export.deploy.formats`: a netx file runs through stock netx loading, the
    others are built from Lava processes by the project's builder.
    ``model`` (the trained ``GraphSNN``, or None) gives the float accuracy and its quantized
    spikes over the network's window, which must equal the emulator's delayed by each group's
    depth (``model_differing``, :func:`differing_from_model`). ``network``: the network of
    the file at ``path`` where its format's reader cannot read it (a netx file another tool
    wrote, :mod:`snn_export.deploy.netx_import`)."""
    path = Path(path)
    fmt = formats.of(path)
    net = network if network is not None else fmt.read(path)
    x = emulator.as_frames(net, x)
    emu = emulator.run(net, x)
    if fmt.stock_netx:
        depths = net.depths()  # (netx resets layer k at step k + 1 of each sample)
        netx_layers = netx_groups(net.neurons)
        emu = SimResult({g.name: emu.spikes[g.name] for g in netx_layers},
                        {g.name: emu.states[g.name] for g in netx_layers})
        lava = lava_runner.run_netx(path, x, net.time_steps, net.input_bits,
                                    names=[g.name for g in netx_layers], progress=progress,
                                    shapes=[tuple(g.shape) for g in netx_layers],
                                    input_shape=tuple(net.input_shape),
                                    back_to_back=lava_runner.back_to_back(net) is not None
                                    and all(depths[g.name] == k + 1
                                            for k, g in enumerate(netx_layers)),
                                    stall_limit=stall_limit)
    else:
        lava = lava_runner.run(net, x, progress=progress, stall_limit=stall_limit)
    layers, first, total = compare(emu, lava)
    float_acc, model_differing = None, 0
    if model is not None:
        inputs = emulator.window_frames(net, x)
        with torch.no_grad():
            model.quantized_mode = False
            float_acc = _accuracy(predict(model.output(inputs, net.window),
                                          model.voltage_readout), y)
            model.quantized_mode = True  # its deployed forward, layer by layer
            trained = model(inputs, net.window)
        model_differing = differing_from_model(net, emu, trained)
    acc = {"float": float_acc, "emulator": _accuracy(readout.deployed(net, emu), y),
           "lava": _accuracy(readout.deployed(net, lava), y)}
    return VerifyResult(samples=len(x), bit_exact=total == 0 and model_differing == 0,
                        mismatches=total, first_mismatch=first, accuracy=acc, layers=layers,
                        model_differing=model_differing,
                        back_to_back=lava.state_sample is not None)
