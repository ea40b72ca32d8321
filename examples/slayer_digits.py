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
"""
from __future__ import annotations

import argparse
import contextlib
import io

import h5py
import numpy as np
import torch
from tqdm import tqdm

from snn_export.train import datasets

with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
    import lava.lib.dl.slayer as slayer  # (its notes on optional packages)

NEURON = {"threshold": 1.25, "current_decay": 0.25, "voltage_decay": 0.03,
          "tau_grad": 0.03, "scale_grad": 3, "requires_grad": False}


def network(channels: int, hidden: int) -> torch.nn.ModuleList:
    cuba = slayer.block.cuba
    return torch.nn.ModuleList([
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


def export(blocks, path: str) -> None:
    """netx HDF5: an input layer of shape (1, 8, 8), then each block's own export."""
    with h5py.File(path, "w") as f:
        layers = f.create_group("layer")
        first = layers.create_group("0")
        first.create_dataset("type", (1,), "S10", [b"input"])
        first.create_dataset("shape", data=np.array([1, 8, 8]))
        for k, block in enumerate(blocks, start=1):
            block.export_hdf5(layers.create_group(str(k)))


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-o", "--output", default="network.net", help="netx file to write")
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--time-steps", type=int, default=16)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    torch.manual_seed(args.seed)
    data = datasets.load("digits")
    frames = lambda a: torch.as_tensor(a, dtype=torch.float32).reshape(len(a), 1, 8, 8, 1) \
        .expand(-1, -1, -1, -1, args.time_steps)
    x, y = frames(data.x_train), torch.as_tensor(data.y_train)
    blocks = network(8, 64)
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
    export(blocks, args.output)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
