"""The snn-export graph file: any :class:`~snn_export.graph.Network` in one HDF5 file.

For networks that netx HDF5 cannot hold (several inputs per group, Conv, delays, ATRLIF,
recurrence). Version 4 layout (all integers as stored in the graph, see
:mod:`snn_export.graph` for units and bit widths; versions 1 to 3 are still read: version 3
lacks sparse synapses' delays, versions 1 and 2 also the neuron groups' roles, read as plain
layers, and version 1 sparse synapses):

``/`` attributes: ``format = "snn-export-graph"``, ``format_version = 4``,
``input_shape``, ``input_bits``, ``time_steps``, ``metadata`` (JSON text).

``/neurons/<i>`` (``i`` = 0, 1, ... in the network's order): attributes ``name``, ``kind``
(``lif`` or ``atrlif``), ``shape``, the parameters (LIF: ``vth du dv``; ATRLIF:
``theta_0 theta_step d_i d_v d_theta d_r``), ``reset_interval``, ``reset_offset``, the
role (:class:`~snn_export.graph.Role`): ``role`` (``layer``, ``integrator``, ``gate``, ``relay`` or
``always_on``), ``mask`` (0 or 1), for a gate ``logic`` (``or``, ``and``, ``andnot`` or
``maxpool``), for a relay ``source`` (the group it delays) and ``delay`` (steps);
dataset ``bias``.

``/synapses/<i>``: attributes ``name``, ``kind`` (``dense``, ``sparse`` or ``conv``),
``source``, ``target``, ``float_exp`` (absent when unknown); dense: ``weight_exp``,
``num_weight_bits``, ``sign_mode`` (``""`` = inferred), datasets ``weight`` and optional
``delays``; sparse: the same attributes and ``shape`` (target size, source size), datasets
``weight``, ``rows``, ``cols`` and optional ``delays`` (one entry per synapse); conv:
``stride``, ``padding``, ``dilation``, ``groups``, dataset ``weight``.

Other groups (``/golden`` in the test vectors) are ignored by :func:`read`.
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import h5py
import numpy as np

from snn_export import fixed_point as fp
from snn_export.atomic import atomic_path
from snn_export.errors import SnnExportError
from snn_export.graph import Conv, Dense, Network, Neurons, Role, Sparse

FORMAT = "snn-export-graph"
FORMAT_VERSION = 4  # 4 added sparse delays, which a version 3 reader would silently ignore
_PARAMS = {"lif": fp.LIFParams, "atrlif": fp.ATRLIFParams}


def write(net: Network, path: str | Path, extra=None) -> None:
    """Write atomically. ``extra(f)``, if given, may add groups to the open file."""
    net.validate()
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        f.attrs.update(format=FORMAT, format_version=FORMAT_VERSION,
                       input_shape=np.array(net.input_shape), input_bits=net.input_bits,
                       time_steps=net.time_steps, metadata=json.dumps(net.metadata, default=str))
        for i, g in enumerate(net.neurons):
            h = f.create_group(f"neurons/{i}")
            h.attrs.update(name=g.name, kind=g.kind, shape=np.array(g.shape),
                           reset_interval=g.reset_interval, reset_offset=g.reset_offset,
                           **dataclasses.asdict(g.params), role=g.role.kind,
                           mask=int(g.role.mask))
            if g.role.logic is not None:
                h.attrs["logic"] = g.role.logic
            if g.role.source is not None:
                h.attrs.update(source=g.role.source, delay=g.role.delay)
            h.create_dataset("bias", data=g.bias.astype(np.int32))
        for i, s in enumerate(net.synapses):
            h = f.create_group(f"synapses/{i}")
            h.attrs.update(name=s.name, source=s.source, target=s.target)
            if s.float_exp is not None:
                h.attrs["float_exp"] = s.float_exp
            h.create_dataset("weight", data=s.weight.astype(np.int32), compression="gzip")
            if isinstance(s, Conv):
                h.attrs.update(kind="conv", stride=s.stride, padding=s.padding,
                               dilation=s.dilation, groups=s.groups)
            else:
                h.attrs.update(kind="sparse" if isinstance(s, Sparse) else "dense",
                               weight_exp=s.weight_exp, num_weight_bits=s.num_weight_bits,
                               sign_mode=s.sign_mode or "")
                if isinstance(s, Sparse):
                    h.attrs["shape"] = np.array(s.shape)
                    for key in ("rows", "cols"):
                        h.create_dataset(key, data=getattr(s, key).astype(np.int64),
                                         compression="gzip")
                if s.delays is not None:
                    h.create_dataset("delays", data=s.delays.astype(np.int32),
                                     compression="gzip")
        if extra is not None:
            extra(f)


def read(path: str | Path) -> Network:
    """Read a graph file; errors name the file and the group or field at fault."""
    path = Path(path)
    where = "/"
    try:
        with h5py.File(path, "r") as f:
            if f.attrs.get("format") != FORMAT:
                raise SnnExportError(f"{path}: not an snn-export graph file (attribute "
                                     f"'format' is {f.attrs.get('format')!r})")
            version = int(f.attrs["format_version"])
            if version > FORMAT_VERSION:
                raise SnnExportError(f"{path}: format_version {version} is newer than this "
                                     f"snn-export reads ({FORMAT_VERSION}); upgrade snn-export")
            neurons, synapses = [], []
            for i in range(len(f.get("neurons", {}))):
                where = f"/neurons/{i}"
                a = f[where].attrs
                kind = str(a["kind"])
                params = _PARAMS[kind](**{k.name: int(a[k.name])
                                          for k in dataclasses.fields(_PARAMS[kind])})
                neurons.append(Neurons(str(a["name"]), tuple(int(n) for n in a["shape"]), params,
                                       f[where]["bias"][()].astype(np.int64),
                                       int(a["reset_interval"]), int(a["reset_offset"]),
                                       _role(a) if version >= 3 else Role()))
            for i in range(len(f.get("synapses", {}))):
                where = f"/synapses/{i}"
                h = f[where]
                a = h.attrs
                common = dict(name=str(a["name"]), source=str(a["source"]),
                              target=str(a["target"]), weight=h["weight"][()].astype(np.int64),
                              float_exp=int(a["float_exp"]) if "float_exp" in a else None)
                if a["kind"] == "conv":
                    pair = lambda key: tuple(int(n) for n in a[key])
                    synapses.append(Conv(**common, stride=pair("stride"), padding=pair("padding"),
                                         dilation=pair("dilation"), groups=int(a["groups"])))
                elif a["kind"] in ("dense", "sparse"):
                    common.update(weight_exp=int(a["weight_exp"]),
                                  num_weight_bits=int(a["num_weight_bits"]),
                                  sign_mode=str(a["sign_mode"]) or None,
                                  delays=h["delays"][()].astype(np.int64) if "delays" in h
                                  else None)
                    if a["kind"] == "sparse":
                        synapses.append(Sparse(**common, rows=h["rows"][()].astype(np.int64),
                                               cols=h["cols"][()].astype(np.int64),
                                               shape=tuple(int(n) for n in a["shape"])))
                    else:
                        synapses.append(Dense(**common))
                else:
                    raise KeyError(f"kind {a['kind']!r}")
            where = "/"
            net = Network(input_shape=tuple(int(n) for n in f.attrs["input_shape"]),
                          input_bits=int(f.attrs["input_bits"]),
                          time_steps=int(f.attrs["time_steps"]), neurons=neurons,
                          synapses=synapses, metadata=json.loads(f.attrs["metadata"]))
    except (OSError, KeyError, ValueError, TypeError) as exc:
        raise SnnExportError(f"{path}: {where}: unreadable or missing field ({exc})") from None
    return net.validated(source=path)


def _role(a) -> Role:
    """A neuron group's role from its attributes (version 3)."""
    return Role(str(a["role"]), str(a["logic"]) if "logic" in a else None,
                str(a["source"]) if "source" in a else None,
                int(a["delay"]) if "delay" in a else 0, bool(a["mask"]))
