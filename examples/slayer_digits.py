"""Train a CUBA network in lava-dl's slayer on scikit-learn's digits and export it as netx
HDF5 (``network.net``), for ``snn-export network.net --time-steps 16 --target lava``.

The network: Conv(1 -> 8, 3x3) -> Flatten -> Dense(512 -> 64, axonal delays) -> Dense(64 ->
10), slayer's CUBA blocks, trained on the readout's spike counts. Input: each pixel's level
(0..16) presented at every step; the exported network reads them as 5-bit graded input (its
first layer is an ``input`` layer without neurons, so netx feeds the levels to the first
synapses).

    python examples/slayer_digits.py -o network.net
    snn-export network.net --time-steps 16 --target lava --dataset digits --evaluate 360 \\
        --verify 20

``--input-neurons``: the network starts with slayer's ``Input`` block, CUBA neurons of its
own behind a learned input weight and bias (the first layer of lava-dl's PilotNet). slayer
holds its input to its 8-bit grid (below 4), so the levels are 2-bit here (``level // 5``:
0..3); the test samples in that encoding are written beside the network (``x_test.npy``,
``y_test.npy``) for snn-export's ``--input``:

    python examples/slayer_digits.py --input-neurons -o network.net
    snn-export network.net --time-steps 16 --target lava --input-bits 2 --input x_test.npy \\
        --labels y_test.npy --evaluate 360 --verify 20
"""
from __future__ import annotations

import argparse
import contextlib
import io
from pathlib import Path

import h5py
import numpy as np
import torch
from tqdm import tqdm

from snn_export.train import datasets

with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
    import lava.lib.dl.slayer as slayer  # (its notes on optional packages)

NEURON = {"threshold": 1.25, "current_decay": 0.25, "voltage_decay": 0.03,
          "tau_grad": 0.03, "scale_grad": 3, "requires_grad": False}


def network(channels: int, hidden: int, input_neurons: bool) -> torch.nn.ModuleList:
    cuba = slayer.block.cuba
    first = [cuba.Input(NEURON, weight=1.0, bias=0.0)] if input_neurons else []
    return torch.nn.ModuleList([
        *first,
        cuba.Conv(NEURON, 1, channels, 3, padding=1, weight_scale=2, weight_norm=False),
        cuba.Flatten(),
        cuba.Dense(NEURON, channels * 64, hidden, weight_scale=2, weight_norm=False,
                   delay=True),
        cuba.Dense(NEURON, hidden, 10, weight_scale=2, weight_norm=False)])


def run(blocks, x: torch.Tensor) -> torch.Tensor:
    """Spikes of the readout, (batch, 10, steps), for inputs (batch, 1, 8, 8, steps)."""
    for block in blocks:
        x = block(x)
    return x


def export(blocks, path: Path, input_neurons: bool) -> None:
    """netx HDF5: each block's own export, behind an input layer of shape (1, 8, 8) without
    neurons (with ``input_neurons``, slayer's ``Input`` block exports layer 0 itself)."""
    with h5py.File(path, "w") as f:
        layers = f.create_group("layer")
        if not input_neurons:
            first = layers.create_group("0")
            first.create_dataset("type", (1,), "S10", [b"input"])
            first.create_dataset("shape", data=np.array([1, 8, 8]))
        for k, block in enumerate(blocks, start=int(not input_neurons)):
            block.export_hdf5(layers.create_group(str(k)))


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-o", "--output", default="network.net", help="netx file to write")
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--time-steps", type=int, default=16)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--input-neurons", action="store_true",
                   help="start with slayer's Input block (2-bit levels; writes x_test.npy and "
                        "y_test.npy beside the network)")
    args = p.parse_args(argv)
    torch.manual_seed(args.seed)
    data = datasets.load("digits")
    levels = (lambda a: a // 5) if args.input_neurons else (lambda a: a)
    frames = lambda a: torch.as_tensor(levels(a), dtype=torch.float32) \
        .reshape(len(a), 1, 8, 8, 1).expand(-1, -1, -1, -1, args.time_steps)
    x, y = frames(data.x_train), torch.as_tensor(data.y_train)
    blocks = network(8, 64, args.input_neurons)
    opt = torch.optim.Adam(blocks.parameters(), lr=1e-3)
    for _ in tqdm(range(args.epochs), desc="slayer training", unit="epoch"):
        for batch in torch.randperm(len(x)).split(64):
            counts = run(blocks, x[batch]).sum(-1)
            loss = torch.nn.functional.cross_entropy(counts, y[batch])
            opt.zero_grad()
            loss.backward()
            opt.step()
    with torch.no_grad():
        hits = run(blocks, frames(data.x_test)).sum(-1).argmax(1) == torch.as_tensor(data.y_test)
    print(f"slayer test accuracy ({len(hits)} samples, {args.time_steps} steps): "
          f"{hits.float().mean():.4f}")
    out = Path(args.output)
    export(blocks, out, args.input_neurons)
    print(f"wrote {out}")
    if args.input_neurons:
        np.save(out.with_name("x_test.npy"), levels(data.x_test).reshape(-1, 1, 8, 8))
        np.save(out.with_name("y_test.npy"), data.y_test)
        print(f"wrote {out.with_name('x_test.npy')}, {out.with_name('y_test.npy')}")


if __name__ == "__main__":
    main()
