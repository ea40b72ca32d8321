"""The seed networks at their published size: lowering, resources and emulator speed.

Issue 18's two networks, untrained (PyTorch's initialisation, batch norm at its initial
statistics), at the papers' widths:

- seed 004's Table IX SynA-ResNet for MNIST (``syna_table9``: c64 stem, 4 plain c64 layers,
  OR-SEW blocks at 128, 256, 512 with spike-only SynA-C; 1x28x28, T = 16);
- a CIFAR-shaped ResNet-18 with SynA-C (``syna_resnet18``: 64-512, 2 blocks per stage;
  3x32x32, T = 4).

Each is built, lowered at its T and checked (``resources/*`` against ``--system``), and the
script prints its depth in hops, the steps the chip runs (T plus the readout's depth; the
trained model runs T), deployed neurons and how many are relays, gates and masks, synapses,
cores and chips, lowering + compliance seconds, emulator samples per second on random input
levels, the trained model's quantized spikes against the emulator's on one sample (each
group delayed by its depth: differing spikes), and the steps it runs when lowered at the
other T (4 or 16). ``--lava`` also runs one sample of the MNIST network in Lava's CPU
simulator and compares it with the emulator (bit-exact verdict and seconds; slow).

Run: ``.venv/bin/python benchmarks/seed_scale.py [--samples N] [--lava] [--system NAME|N]``.
"""
from __future__ import annotations

import argparse
import inspect
import time

import numpy as np
import torch

from snn_export.deploy import compliance
from snn_export.deploy.lower_graph import lower_graph
from snn_export.metrics import footprint
from snn_export.model_graph import latencies
from snn_export.sim import emulator
from snn_export.sim.verify import differing_from_model
from snn_export.train.architectures import ARCHITECTURES
from snn_export.train.graph_model import GraphSNN

# (label, --arch, input shape, --dataset (layout), T)
NETWORKS = [("Table IX SynA-ResNet, MNIST", "syna_table9", (1, 28, 28), "mnist", 16),
            ("ResNet-18 SynA-C, CIFAR", "syna_resnet18", (3, 32, 32), "cifar10", 4)]
INPUT_BITS, INPUT_SCALE = 8, 1 / 255


def build(arch: str, shape: tuple, dataset: str) -> GraphSNN:
    make = ARCHITECTURES[arch]
    extra = {"dataset": dataset} if "dataset" in inspect.signature(make).parameters else {}
    torch.manual_seed(0)
    return GraphSNN(make(shape, 10, INPUT_BITS, INPUT_SCALE, **extra)).eval()


def measure(label: str, arch: str, shape: tuple, dataset: str, time_steps: int, samples: int,
            system: str) -> dict:
    model = build(arch, shape, dataset)
    depth = latencies(model.graph)[model.graph.readout]
    start = time.perf_counter()
    net = lower_graph(model.graph, model.tensors(), time_steps)
    found = compliance.check_network(net, system=system)
    lowering = time.perf_counter() - start
    other = 20 - time_steps  # 4 <-> 16
    other_steps = lower_graph(model.graph, model.tensors(), other).time_steps
    placed = compliance.partition(net)
    kinds = {}
    for g in net.neurons:
        key = "mask" if g.role.mask else g.role.kind
        kinds[key] = kinds.get(key, 0) + g.size
    rng = np.random.default_rng(0)
    x = rng.integers(0, 2**INPUT_BITS, (samples, *shape))
    emulator.run(net, x[:1])  # warm-up
    start = time.perf_counter()
    result = emulator.run(net, x)
    emulated = time.perf_counter() - start
    model.quantized_mode = True
    with torch.no_grad():
        trained = model(torch.from_numpy(x[:1]), time_steps)
    return {"label": label, "arch": arch, "net": net, "x": x, "emu": result, "depth": depth,
            "steps": net.time_steps, "other": (other, other_steps),
            "model_differing": differing_from_model(net, result.first(1), trained),
            "neurons": sum(g.size for g in net.neurons), "kinds": kinds,
            "synapses": sum(footprint(net, s)[0] for s in net.synapses),
            "cores": placed.cores, "chips": placed.chips, "lowering_s": lowering,
            "violations": [v.line() for v in found],
            "emulator_sps": samples / emulated}


def lava_one(row: dict) -> tuple[bool, float]:
    """One sample in Lava against the emulator: (bit-exact, seconds)."""
    from snn_export.sim import lava_runner
    from snn_export.sim.verify import compare

    start = time.perf_counter()
    lava = lava_runner.run(row["net"], row["x"][:1], progress=True)
    seconds = time.perf_counter() - start
    _, _, differing = compare(row["emu"].first(1), lava)
    return differing == 0, seconds


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--samples", type=int, default=4, help="emulator samples (default 4)")
    p.add_argument("--lava", action="store_true", help="also one MNIST sample in Lava (slow)")
    p.add_argument("--system", default="chip", help="the Loihi 2 system to check against")
    args = p.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; untrained weights; "
          f"--system {args.system}")
    rows = []
    for label, arch, shape, dataset, time_steps in NETWORKS:
        row = measure(label, arch, shape, dataset, time_steps, args.samples, args.system)
        rows.append(row)
        k = row["kinds"]
        relays = k.get("relay", 0)
        print(f"\n{label} (--arch {arch}, input {shape})")
        other, other_steps = row["other"]
        print(f"  depth {row['depth']} hops; T = {time_steps}: the chip runs {row['steps']} "
              f"steps (T = {other}: {other_steps})")
        print(f"  neurons {row['neurons']:,}: layers {k.get('layer', 0):,}, masks "
              f"{k.get('mask', 0):,}, gates {k.get('gate', 0):,}, relays {relays:,} "
              f"({100 * relays / row['neurons']:.0f}%), always-on {k.get('always_on', 0):,}")
        print(f"  synapses {row['synapses']:,} (Conv counted as its dense equivalent); "
              f"{row['cores']:,} cores on {row['chips']:,} chip(s)")
        print(f"  lowering + compliance {row['lowering_s']:.1f} s; emulator "
              f"{row['emulator_sps']:.2f} samples/s (CPU, {args.samples} samples)")
        print(f"  trained model (quantized, T = {time_steps}) vs emulator, one sample: "
              f"{row['model_differing']} differing spikes")
        for line in row["violations"]:
            print(f"  violation: {line}")
    if args.lava:
        exact, seconds = lava_one(rows[0])
        print(f"\nLava, one sample of {rows[0]['label']}: "
              f"{'bit-exact' if exact else 'MISMATCH'} with the emulator, {seconds:.0f} s "
              f"with its start-up (emulator {1 / rows[0]['emulator_sps']:.2f} s per sample: "
              f"{seconds * rows[0]['emulator_sps']:,.0f}x)")


if __name__ == "__main__":
    main()
