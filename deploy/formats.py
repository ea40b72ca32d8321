"""The deployed network's files: one table of formats, by target and by suffix.

| format | file | holds | read by |
|---|---|---|---|
| ``netx`` | ``network.net`` | chains of Dense + CUBA LIF layers (:mod:`.netx_hdf5`) | stock lava-dl netx |
| ``graph`` | ``network.h5`` | any :class:`~snn_export.graph.Network` (:mod:`.graph_hdf5`) | the project's Lava builder |
| ``nir`` | ``network.nir`` | any network, registers exact in metadata (:mod:`.to_nir`) | NIR tools; read back bit for bit |

``--target lava`` writes netx when the lowered network is a chain that netx holds (decided
by the network's shape, not by how it was trained) and the graph file otherwise;
``--target nir`` writes NIR. :func:`read` picks the reader by suffix. A netx file another tool
wrote (lava-dl's slayer) is a source, not one of these outputs: :mod:`.netx_import` reads it.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from snn_export.errors import SnnExportError
from snn_export.graph import Network

from . import from_nir, graph_hdf5, netx_hdf5, to_nir


def _quiet(write) -> Callable[[Network, Path], list[str]]:
    def wrapped(net: Network, path: Path) -> list[str]:
        write(net, path)
        return []
    return wrapped


@dataclass(frozen=True)
class Format:
    """One file format. write: ``(network, path) -> warnings`` (atomic); read: ``path ->
    Network`` (errors name the file); load: how to load it, for the report (``{name}``: the
    file's name, ``{bits}``: the input bit width); stock_netx: the file is loaded by
    lava-dl's own ``netx.hdf5.Network`` (else the project's Lava builder runs it)."""

    name: str
    filename: str
    write: Callable[[Network, Path], list[str]]
    read: Callable[[Path], Network]
    load: str
    stock_netx: bool = False

    @property
    def suffix(self) -> str:
        return Path(self.filename).suffix


NETX = Format("netx", "network.net", _quiet(netx_hdf5.write), netx_hdf5.read,
              "lava-dl netx HDF5; load with `netx.hdf5.Network(net_config='{name}', "
              "input_message_bits={bits})`", stock_netx=True)
GRAPH = Format("graph", "network.h5", _quiet(graph_hdf5.write), graph_hdf5.read,
               "snn-export graph file; run it with `snn_export.sim.lava_runner.run("
               "snn_export.deploy.graph_hdf5.read(path), x)`")
NIR = Format("nir", "network.nir", to_nir.write, from_nir.read,
             "NIR graph; `snn_export.deploy.from_nir.read(path)` rebuilds the network")
FORMATS = {f.suffix: f for f in (NETX, GRAPH, NIR)}
TARGETS = ("lava", "nir")  # targets that write a deployed network


def for_target(net: Network, target: str) -> Format:
    """The format ``target`` writes ``net`` in."""
    if target == "nir":
        return NIR
    if target == "lava":
        return NETX if netx_hdf5.is_chain(net) else GRAPH
    raise SnnExportError(f"unknown target {target!r} for a deployed network; available: "
                         f"{', '.join(TARGETS)}")


def of(path: str | Path) -> Format:
    """The format of the file at ``path``, by its suffix."""
    path = Path(path)
    if path.suffix not in FORMATS:
        raise SnnExportError(f"{path}: unknown suffix {path.suffix!r} for a deployed network; "
                             f"known: {', '.join(FORMATS)}")
    return FORMATS[path.suffix]


def read(path: str | Path) -> Network:
    """The network in the file at ``path`` (any format in :data:`FORMATS`)."""
    return of(path).read(Path(path))
