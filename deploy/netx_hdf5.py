"""Write and read chain networks as lava-dl netx HDF5 files.

Layout (what stock ``lava.lib.dl.netx.hdf5.Network`` reads):
``layer/0``: ``type=input``, ``shape=[inputs]`` (sets the input shape only);
``layer/1..``: ``type=dense``, ``shape=[out]``, ``weight`` (out, in) integers, ``bias``
(13-bit mantissas; netx applies ``bias_exp = 6``), ``neuron/{type=CUBA, iDecay=du+1,
vDecay=dv, vThMant=vth, refDelay=1, gradedSpike=0}``.

Load it with ``netx.hdf5.Network(net_config=path, input_message_bits=B)`` where ``B`` is
the stored ``snn_export/input_bits`` (the encoding layer reads graded input).
netx ignores the extra group ``snn_export`` (attributes: ``format_version``,
``input_bits``, ``time_steps``, and per layer ``weight_exp`` and ``name``).
"""
from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np

from snn_export import fixed_point as fp
from snn_export.atomic import atomic_path
from snn_export.errors import SnnExportError
from snn_export.graph import DenseLayer, Network

FORMAT_VERSION = 1


def _string(value: str) -> np.ndarray:
    return np.array([value.encode("ascii")], dtype="S10")


def write(net: Network, path: str | Path) -> None:
    """Write atomically (temporary file in the same folder, then rename)."""
    net.validate()
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        layers = f.create_group("layer")
        first = layers.create_group("0")
        first.create_dataset("type", data=_string("input"))
        first.create_dataset("shape", data=np.array([net.input_size]))
        meta = f.create_group("snn_export")
        meta.attrs.update(format_version=FORMAT_VERSION, input_bits=net.input_bits,
                          time_steps=net.time_steps)
        for k, layer in enumerate(net.layers, start=1):
            g = layers.create_group(str(k))
            g.create_dataset("type", data=_string("dense"))
            g.create_dataset("shape", data=np.array([layer.n_out]))
            g.create_dataset("weight", data=layer.weight.astype(np.int32))
            g.create_dataset("bias", data=layer.bias.astype(np.int32))
            n = g.create_group("neuron")
            n.create_dataset("type", data=_string("CUBA"))
            n.create_dataset("iDecay", data=layer.neuron.du + 1)
            n.create_dataset("vDecay", data=layer.neuron.dv)
            n.create_dataset("vThMant", data=layer.neuron.vth)
            n.create_dataset("refDelay", data=1)
            n.create_dataset("gradedSpike", data=0)
            lm = meta.create_group(str(k))
            lm.attrs.update(name=layer.name, weight_exp=layer.weight_exp)


def read(path: str | Path) -> Network:
    """Read a file written by :func:`write` back into a :class:`Network`."""
    path = Path(path)
    try:
        with h5py.File(path, "r") as f:
            meta = f["snn_export"]
            layers = f["layer"]
            input_size = int(layers["0"]["shape"][0])
            input_bits = int(meta.attrs["input_bits"])
            out = []
            for k in range(1, len(layers)):
                g, lm = layers[str(k)], meta[str(k)]
                n = g["neuron"]
                out.append(DenseLayer(
                    name=str(lm.attrs["name"]), weight=g["weight"][()].astype(np.int64),
                    weight_exp=int(lm.attrs["weight_exp"]), bias=g["bias"][()].astype(np.int64),
                    neuron=fp.LIFParams(vth=int(n["vThMant"][()]), du=int(n["iDecay"][()]) - 1,
                                        dv=int(n["vDecay"][()])),
                    input_bits=input_bits if k == 1 else 0))
            net = Network(layers=out, input_size=input_size,
                          time_steps=int(meta.attrs["time_steps"]), input_bits=input_bits)
    except (OSError, KeyError) as exc:
        raise SnnExportError(f"{path}: not an snn-export netx file ({exc})") from None
    net.validate()
    return net
