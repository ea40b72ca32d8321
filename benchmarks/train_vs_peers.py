"""Training speed against snnTorch and norse: the same network, step for step, in one run.

The network of issue 19: conv 16 (3x3, stride 2) + batch norm + LIF, conv 32 (3x3, stride 2)
+ batch norm + LIF, linear 10 + LIF (tau_mem 2 steps, threshold 1, hard reset to 0, arctan
surrogate), on 1x28x28 input levels, batch 32, T = 16, Adam, cross-entropy on the readout's
spike counts. A training step is forward over T steps, loss, backward and the optimizer step.

- snnTorch: ``snntorch.Leaky`` (beta 0.5, reset to zero), stepped the way its tutorials do
  (every layer called once per time step);
- norse: ``norse.torch.LIFBoxCell`` (no synaptic current; ``dt * tau_mem_inv`` = 0.5), the
  same loop;
- snn-export: ``GraphSNN`` (what ``snn-train`` trains) in float mode and in its default
  quantization-aware mode (the deployed integer forward, surrogate gradients).

Each is timed in alternating rounds of steps on the same batches; the figures are the
median seconds per step. Run: ``.venv/bin/python benchmarks/train_vs_peers.py [--steps N]
[--rounds N] [--device cuda]``.
"""
from __future__ import annotations

import argparse
import os
import statistics
import time

import norse.torch as norse
import snntorch
import torch
from snntorch import surrogate
from torch import nn

from snn_export.model_graph import ModelGraph, Node
from snn_export.train.graph_model import GraphSNN

BATCH, T, CLASSES, SHAPE = 32, 16, 10, (1, 28, 28)
INPUT_BITS, INPUT_SCALE = 8, 1 / 255


def ours() -> GraphSNN:
    lif = {"tau_mem": 2.0, "tau_syn": None, "threshold": 1.0}
    nodes, src = [], "input"
    for k, (c, stride) in enumerate([(16, 2), (32, 2)], 1):
        nodes += [Node(f"conv{k}", "conv", (src,), {"out_channels": c, "kernel": 3,
                                                    "stride": stride, "padding": 1,
                                                    "bias": False}),
                  Node(f"bn{k}", "batchnorm", (f"conv{k}",), {}),
                  Node(f"lif{k}", "lif", (f"bn{k}",), dict(lif))]
        src = f"lif{k}"
    nodes += [Node("flat", "flatten", (src,), {}),
              Node("fc", "linear", ("flat",), {"out_features": CLASSES}),
              Node("out", "lif", ("fc",), dict(lif))]
    return GraphSNN(ModelGraph(SHAPE, INPUT_BITS, INPUT_SCALE, nodes))


def _layers() -> list[nn.Module]:
    return [nn.Conv2d(1, 16, 3, 2, 1, bias=False), nn.BatchNorm2d(16),
            nn.Conv2d(16, 32, 3, 2, 1, bias=False), nn.BatchNorm2d(32),
            nn.Flatten(), nn.Linear(32 * 7 * 7, CLASSES)]


class Peer(nn.Module):
    """conv-bn-neuron, conv-bn-neuron, flatten-linear-neuron, stepped over time."""

    def __init__(self, neuron):
        super().__init__()
        c1, b1, c2, b2, self.flat, self.fc = _layers()
        self.blocks = nn.ModuleList([nn.Sequential(c1, b1), nn.Sequential(c2, b2)])
        self.neurons = nn.ModuleList([neuron() for _ in range(3)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        states, out = [None] * 3, []
        for _ in range(T):
            h = x
            for k, layer in enumerate([*self.blocks, lambda z: self.fc(self.flat(z))]):
                h, states[k] = self._step(k, layer(h), states[k])
            out.append(h)
        return torch.stack(out, 1)


class SnnTorch(Peer):
    def __init__(self):
        super().__init__(lambda: snntorch.Leaky(beta=0.5, spike_grad=surrogate.atan(),
                                                reset_mechanism="zero"))

    def _step(self, k, cur, mem):
        mem = self.neurons[k].init_leaky() if mem is None else mem
        return self.neurons[k](cur, mem)


class Norse(Peer):
    def __init__(self):
        p = norse.LIFBoxParameters(tau_mem_inv=torch.tensor(500.0), v_th=torch.tensor(1.0),
                                   v_reset=torch.tensor(0.0), method="super")
        super().__init__(lambda: norse.LIFBoxCell(p))

    def _step(self, k, cur, state):
        return self.neurons[k](cur, state)


def trainer(model: nn.Module, run):
    """A function doing one training step on (x, y)."""
    opt = torch.optim.Adam(model.parameters(), 5e-3)

    def step(x, y):
        loss = nn.functional.cross_entropy(run(model, x).sum(1).float(), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return step


def contenders(device: str) -> dict:
    scaled = lambda m, x: m(x.float() * INPUT_SCALE)
    ours_float, ours_quant = ours().to(device), ours().to(device)
    ours_quant.quantized_mode = True
    return {"snnTorch Leaky": trainer(SnnTorch().to(device).train(), scaled),
            "norse LIFBoxCell": trainer(Norse().to(device).train(), scaled),
            "snn-export float": trainer(ours_float.train(), lambda m, x: m.output(x, T)),
            "snn-export quantization-aware": trainer(ours_quant.train(),
                                                     lambda m, x: m.output(x, T))}


def measure(device: str, steps: int, rounds: int) -> dict[str, float]:
    """Median seconds per training step of each contender."""
    gen = torch.Generator().manual_seed(0)
    x = torch.randint(0, 2**INPUT_BITS, (BATCH, *SHAPE), generator=gen).to(device)
    y = torch.randint(0, CLASSES, (BATCH,), generator=gen).to(device)
    runs = contenders(device)
    times = {name: [] for name in runs}
    sync = torch.cuda.synchronize if device.startswith("cuda") else lambda: None
    for step in runs.values():  # warm-up
        step(x, y)
    for _ in range(rounds):
        for name, step in runs.items():
            sync()
            start = time.perf_counter()
            for _ in range(steps):
                step(x, y)
            sync()
            times[name].append((time.perf_counter() - start) / steps)
    return {name: statistics.median(t) for name, t in times.items()}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=5, help="training steps per round")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--device", default="cpu")
    args = p.parse_args()
    where = (torch.cuda.get_device_name(args.device) if args.device.startswith("cuda")
             else f"{os.cpu_count()} CPU cores, {torch.get_num_threads()} threads")
    print(f"training step: conv16s2-conv32s2-fc10, batch {BATCH}, T = {T}, {args.device} "
          f"({where}); torch {torch.__version__}, snntorch {snntorch.__version__}")
    t = measure(args.device, args.steps, args.rounds)
    peer = min(t["snnTorch Leaky"], t["norse LIFBoxCell"])
    print(f"\n{'':32s} {'ms/step':>9s} {'x faster peer':>14s}")
    for name, s in t.items():
        print(f"{name:32s} {1000 * s:9.1f} {s / peer:14.2f}")
    print(f"\nsnn-export float / faster peer: {t['snn-export float'] / peer:.2f} (target <= 0.8)")
    print(f"quantization-aware / float: "
          f"{t['snn-export quantization-aware'] / t['snn-export float']:.2f} (target <= 1.5)")


if __name__ == "__main__":
    main()
