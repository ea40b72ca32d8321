"""Read a NIR file that snn-export wrote back into the exact deployable
:class:`~snn_export.graph.Network` (from the register values kept in node metadata; see
:mod:`snn_export.deploy.to_nir`)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from snn_export import fixed_point as fp
from snn_export.errors import SnnExportError
from snn_export.graph import INPUT, Conv, Dense, Network, Neurons, Role, Sparse

from snn_export.export.nir_import import read_graph

from .to_nir import FORMAT_VERSION


def written_by_snn_export(graph) -> bool:
    return isinstance(graph.metadata, dict) and bool(graph.metadata.get("snn_export"))


def read(path: str | Path) -> Network:
    """The network of an snn-export NIR file; errors name the file and the node."""
    return network(read_graph(path), path)


def network(graph, path: str | Path) -> Network:
    """The network of an snn-export NIR graph read from ``path``."""
    path = Path(path)
    if not written_by_snn_export(graph):
        raise SnnExportError(f"{path}: not written by snn-export (no metadata 'snn_export')")
    meta = graph.metadata["snn_export"]
    if not 1 <= int(meta.get("format_version", -1)) <= FORMAT_VERSION:
        raise SnnExportError(f"{path}: metadata snn_export.format_version is "
                             f"{meta.get('format_version')!r}; this snn-export reads "
                             f"1..{FORMAT_VERSION}")
    try:
        neurons = [_neurons(name, graph.nodes[name]) for name in _names(meta["neuron_order"])]
        synapses = [_synapses(name, graph.nodes[name]) for name in _names(meta["synapse_order"])]
        net = Network(input_shape=tuple(int(n) for n in graph.nodes[INPUT].input_type["input"]),
                      input_bits=int(meta["input_bits"]), time_steps=int(meta["time_steps"]),
                      neurons=neurons, synapses=synapses,
                      metadata={"readout": str(meta["readout"]), "source": str(path),
                                **({"depths": {str(k): int(v) for k, v in
                                               meta["depths"].items()}}
                                   if "depths" in meta else {})})
    except KeyError as exc:
        raise SnnExportError(f"{path}: node or metadata field {exc} is missing") from None
    except (TypeError, ValueError) as exc:
        raise SnnExportError(f"{path}: invalid snn-export metadata: {exc}") from None
    return net.validated(path)


def _names(value) -> list[str]:
    return [v.decode() if isinstance(v, bytes) else str(v) for v in np.atleast_1d(value)]


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _neurons(name: str, node) -> Neurons:
    m = node.metadata["snn_export"]
    keys = ("vth", "du", "dv") if _text(m["kind"]) == "lif" else \
        ("theta_0", "theta_step", "d_i", "d_v", "d_theta", "d_r")
    params = (fp.LIFParams if _text(m["kind"]) == "lif" else fp.ATRLIFParams)(
        **{k: int(m[k]) for k in keys})
    return Neurons(name=name, shape=tuple(int(n) for n in np.atleast_1d(m["shape"])),
                   params=params, bias=np.asarray(m["bias_mant"], dtype=np.int64),
                   reset_interval=int(m["reset_interval"]),
                   reset_offset=int(m["reset_offset"]), role=_role(m))


def _role(m) -> Role:
    """A neuron group's role from its node's metadata (a plain layer where absent)."""
    if "role" not in m:
        return Role()
    return Role(_text(m["role"]), _text(m["logic"]) if "logic" in m else None,
                _text(m["source"]) if "source" in m else None,
                int(m["delay"]) if "delay" in m else 0, bool(int(m["mask"])))


def _synapses(name: str, node):
    m = node.metadata["snn_export"]
    kind = _text(m["kind"])
    common = dict(name=name, source=_text(m["source"]), target=_text(m["target"]),
                  weight=np.asarray(m["weight"], dtype=np.int64),
                  float_exp=int(m["float_exp"]) if "float_exp" in m else None)
    if kind == "conv":
        return Conv(stride=tuple(int(s) for s in node.stride),
                    padding=tuple(int(p) for p in node.padding),
                    dilation=tuple(int(d) for d in node.dilation), groups=int(m["groups"]),
                    **common)
    registers = dict(weight_exp=int(m["weight_exp"]), num_weight_bits=int(m["num_weight_bits"]),
                     sign_mode=None if _text(m["sign_mode"]) == "inferred"
                     else _text(m["sign_mode"]),
                     delays=np.asarray(m["delays"], dtype=np.int64) if "delays" in m else None)
    if kind == "sparse":
        return Sparse(rows=np.asarray(m["rows"], dtype=np.int64),
                      cols=np.asarray(m["cols"], dtype=np.int64),
                      shape=tuple(int(n) for n in m["shape"]), **registers, **common)
    if kind != "dense":
        raise ValueError(f"node {name}: unknown synapse kind {kind!r}")
    return Dense(**registers, **common)
