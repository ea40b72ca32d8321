"""Golden vectors: a network, its input and Lava's outputs, in one graph file.

The network is stored in the snn-export graph format (:mod:`snn_export.deploy.graph_hdf5`);
the group ``/golden`` adds ``input`` (integer levels), and per neuron group ``i`` (the
graph's order) ``spikes/<i>`` (samples, steps, neurons; bit-packed along neurons) and
``states/<i>/<register>`` (samples, neurons), plus the attribute ``lava`` (the lava-nc
version that produced them). ``tests/make_golden.py`` writes them.
"""
from __future__ import annotations

from importlib import metadata
from pathlib import Path

import h5py
import numpy as np

from snn_export.deploy import graph_hdf5
from snn_export.graph import Network
from snn_export.sim.result import SimResult

FOLDER = Path(__file__).parent / "golden"


def save(path: Path, net: Network, x: np.ndarray, lava: SimResult) -> None:
    def extra(f: h5py.File) -> None:
        g = f.create_group("golden")
        g.attrs["lava"] = metadata.version("lava-nc")
        g.create_dataset("input", data=np.asarray(x, dtype=np.int16), compression="gzip")
        for i, group in enumerate(net.neurons):
            spikes = lava.spikes[group.name]
            g.create_dataset(f"spikes/{i}", data=np.packbits(spikes, axis=-1), compression="gzip")
            g[f"spikes/{i}"].attrs["neurons"] = spikes.shape[-1]
            for name, values in lava.states[group.name].items():
                g.create_dataset(f"states/{i}/{name}", data=values.astype(np.int32),
                                 compression="gzip")

    graph_hdf5.write(net, path, extra=extra)


def load(path: Path) -> tuple[Network, np.ndarray, SimResult]:
    net = graph_hdf5.read(path)
    with h5py.File(path, "r") as f:
        g = f["golden"]
        x = g["input"][()].astype(np.int64)
        spikes, states = {}, {}
        for i, group in enumerate(net.neurons):
            packed = g[f"spikes/{i}"]
            spikes[group.name] = np.unpackbits(packed[()], axis=-1,
                                               count=int(packed.attrs["neurons"]))
            states[group.name] = {k: v[()].astype(np.int64) for k, v in g[f"states/{i}"].items()}
    return net, x, SimResult(spikes, states)


def files() -> list[Path]:
    return sorted(FOLDER.glob("*.h5"))
