"""Write and read chain networks as lava-dl netx HDF5 files.

netx expresses chains only: Dense synapses (8-bit weights, netx picks ``weight_exp``
itself) each feeding a CUBA LIF group, the first reading the graded input. :func:`write`
refuses anything else with an error that says what netx cannot express.

Layout (what stock ``lava.lib.dl.netx.hdf5.Network`` reads):
``layer/0``: ``type=input``, ``shape=[inputs]`` (sets the input shape only);
``layer/1..``: ``type=dense``, ``shape=[out]``, ``weight`` (out, in) integers, ``bias``
(13-bit mantissas; netx applies ``bias_exp = 6``), ``neuron/{type=CUBA, iDecay=du+1,
vDecay=dv, vThMant=vth, refDelay=1, gradedSpike=0}``.

Load it with ``netx.hdf5.Network(net_config=path, input_message_bits=B)`` where ``B`` is
the stored ``snn_export/input_bits`` (the encoding layer reads graded input).
netx ignores the extra group ``snn_export`` (attributes: ``format_version``,
``input_bits``, ``time_steps``, and per layer ``name``, ``synapse`` (the Dense's name) and
``weight_exp`` (the float exponent, reported)).
"""
from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np

from snn_export import fixed_point as fp
from snn_export.atomic import atomic_path
from snn_export.errors import SnnExportError
from snn_export.graph import INPUT, Dense, Network, Neurons

FORMAT_VERSION = 1


def _string(value: str) -> np.ndarray:
    return np.array([value.encode("ascii")], dtype="S10")


def chain(net: Network) -> list[tuple[Dense, Neurons]]:
    """The (synapse, neuron group) pairs of a netx-expressible chain, in order; raises
    :class:`SnnExportError` naming the first part netx cannot express."""
    def refuse(what):
        raise SnnExportError(f"{what}: netx HDF5 holds only chains of plain Dense + CUBA LIF "
                             "layers; use the snn-export graph format for this network")

    if len(net.input_shape) != 1:
        refuse(f"input shape {tuple(net.input_shape)}")
    pairs, source = [], INPUT
    for group in net.neurons:
        incoming = net.incoming(group.name)
        if len(incoming) != 1 or incoming[0].source != source:
            refuse(f"neurons {group.name} (inputs: {[s.name for s in incoming]})")
        syn = incoming[0]
        if not isinstance(syn, Dense) or syn.delays is not None or syn.weight_exp \
                or syn.num_weight_bits != fp.WEIGHT_BITS or syn.sign_mode \
                or np.any(syn.weight % fp.WEIGHT_STEP):
            refuse(f"synapses {syn.name}")
        if group.kind != "lif" or group.reset_interval or group.role.kind != "layer":
            refuse(f"neurons {group.name} ({group.kind} {group.role.kind})")
        pairs.append((syn, group))
        source = group.name
    if len(net.synapses) != len(pairs):
        refuse("recurrent or extra synapses")
    return pairs


def is_chain(net: Network) -> bool:
    """Whether netx HDF5 can hold ``net`` (:func:`chain` would not refuse it)."""
    try:
        chain(net)
    except SnnExportError:
        return False
    return True


def write(net: Network, path: str | Path) -> None:
    """Write atomically (temporary file in the same folder, then rename)."""
    net.validate()
    pairs = chain(net)
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        layers = f.create_group("layer")
        first = layers.create_group("0")
        first.create_dataset("type", data=_string("input"))
        first.create_dataset("shape", data=np.array([net.input_size]))
        meta = f.create_group("snn_export")
        meta.attrs.update(format_version=FORMAT_VERSION, input_bits=net.input_bits,
                          time_steps=net.time_steps)
        for k, (syn, group) in enumerate(pairs, start=1):
            g = layers.create_group(str(k))
            g.create_dataset("type", data=_string("dense"))
            g.create_dataset("shape", data=np.array([group.size]))
            g.create_dataset("weight", data=syn.weight.astype(np.int32))
            g.create_dataset("bias", data=group.bias.astype(np.int32))
            n = g.create_group("neuron")
            n.create_dataset("type", data=_string("CUBA"))
            n.create_dataset("iDecay", data=group.params.du + 1)
            n.create_dataset("vDecay", data=group.params.dv)
            n.create_dataset("vThMant", data=group.params.vth)
            n.create_dataset("refDelay", data=1)
            n.create_dataset("gradedSpike", data=0)
            lm = meta.create_group(str(k))
            lm.attrs.update(name=group.name, synapse=syn.name,
                            weight_exp=syn.float_exp if syn.float_exp is not None else 0)


def read(path: str | Path) -> Network:
    """Read a file written by :func:`write` back into a :class:`Network`."""
    path = Path(path)
    try:
        with h5py.File(path, "r") as f:
            meta = f["snn_export"]
            layers = f["layer"]
            input_size = int(layers["0"]["shape"][0])
            neurons, synapses, source = [], [], INPUT
            for k in range(1, len(layers)):
                g, lm = layers[str(k)], meta[str(k)]
                n = g["neuron"]
                name = str(lm.attrs["name"])
                params = fp.LIFParams(vth=int(n["vThMant"][()]), du=int(n["iDecay"][()]) - 1,
                                      dv=int(n["vDecay"][()]))
                neurons.append(Neurons(name, (int(g["shape"][0]),), params,
                                       g["bias"][()].astype(np.int64)))
                synapses.append(Dense(str(lm.attrs["synapse"]), source, name,
                                      g["weight"][()].astype(np.int64),
                                      float_exp=int(lm.attrs["weight_exp"])))
                source = name
            net = Network(input_shape=(input_size,), input_bits=int(meta.attrs["input_bits"]),
                          time_steps=int(meta.attrs["time_steps"]), neurons=neurons,
                          synapses=synapses)
    except (OSError, KeyError) as exc:
        raise SnnExportError(f"{path}: not an snn-export netx file ({exc})") from None
    return net.validated(source=path)
