"""Run a network in Lava's CPU simulator (``Loihi2SimCfg(select_tag="fixed_pt")``).

Two ways in, one run loop:
- :func:`run_netx`: a netx HDF5 file, loaded by stock ``lava.lib.dl.netx`` (what a user of
  the exported chain does);
- :func:`run`: any :class:`~snn_export.graph.Network`, built from real Lava processes
  (``Dense``, ``DelayDense``, ``Conv``, ``LIF``, ``LIFReset``, ``ATRLIF``).

All samples go through one Lava run: a ``RingBuffer`` source holds every sample's input and
one ``RingBuffer`` sink per neuron group records spikes. After each sample the runner pauses,
reads the neuron states, and resets every neuron state and synapse buffer, so each sample
starts from the same state as a fresh run. (netx's ``reset_interval`` resets neurons but not
synapse buffers: spikes of one sample would leak into the next.)

Lava lays out (C, H, W) groups as (W, H, C); the runner converts at the boundary, so results
use the graph's (C, H, W) order.
"""
from __future__ import annotations

import multiprocessing
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from snn_export import fixed_point as fp
from snn_export.errors import SnnExportError
from snn_export.graph import INPUT, Conv, Network

from .result import STATE_NAMES, SimResult


def _import_lava():
    # Lava's import calls multiprocessing.set_start_method("fork") without force, which
    # raises if anything (tqdm's lock, for one) already fixed the default context. Clearing
    # the choice first lets Lava make it; Lava needs fork anyway.
    if "lava.magma.runtime.message_infrastructure.multiprocessing" not in sys.modules \
            and multiprocessing.get_start_method(allow_none=True) is not None:
        multiprocessing.set_start_method(None, force=True)
    try:
        import lava.proc.conv.utils as conv_utils
        import lava.proc.lif.process  # noqa: F401  (imports Lava, or fails clearly)
    except ImportError as exc:
        raise SnnExportError(
            f"Lava is not available ({exc}). Install the extra on Python 3.10: "
            "pip install 'snn-export[lava]' (or run `make test` / `make demo`, which set up "
            ".venv)") from None
    # lava-dl's own tests do this: torch inside Lava's forked processes is unreliable.
    conv_utils.TORCH_IS_AVAILABLE = False


def _lava_shape(shape: tuple) -> tuple:
    return tuple(shape[::-1])  # (C, H, W) -> (W, H, C); (n,) unchanged


def _to_ours(data: np.ndarray, shape: tuple) -> np.ndarray:
    """Lava (*lava_shape, ...) -> (..., size) in (C, H, W) row-major order."""
    nd = len(shape)
    data = data.transpose(*range(nd)[::-1], *range(nd, data.ndim))  # (*shape, ...)
    data = data.reshape(int(np.prod(shape)), *data.shape[nd:])
    return np.moveaxis(data, 0, -1)


@dataclass
class _Group:
    name: str
    shape: tuple  # ours
    kind: str
    neuron: object  # the Lava process
    theta_0: int = 0


@dataclass
class _Built:
    """Lava processes of one network, and what the run loop needs to know about them."""

    inputs: list  # (Lava InPort, reads flat (C, H, W) order?) fed by the input source
    groups: list[_Group]
    buffers: list = field(default_factory=list)  # synapse buffer Vars, zeroed per sample


def run_netx(path: str | Path, x: np.ndarray, time_steps: int, input_bits: int,
             names: list[str] | None = None, progress: bool = True) -> SimResult:
    """Load a netx HDF5 chain with stock netx and run ``x`` (samples, inputs) in Lava."""
    _import_lava()
    from lava.lib.dl import netx

    net = netx.hdf5.Network(net_config=str(path), input_message_bits=input_bits)
    names = names or [f"layer{k + 1}" for k in range(len(net.layers))]
    groups = [_Group(name, (int(np.prod(layer.neuron.shape)),), "lif", layer.neuron)
              for name, layer in zip(names, net.layers)]
    built = _Built([(net.inp, False)], groups, [layer.synapse.a_buff for layer in net.layers])
    return _run(built, x, time_steps, progress)


def build(net: Network) -> _Built:
    """Instantiate ``net`` from stock Lava processes, connected."""
    _import_lava()
    from lava.proc.atrlif.process import ATRLIF
    from lava.proc.conv.process import Conv as LavaConv
    from lava.proc.dense.process import DelayDense, Dense
    from lava.proc.lif.process import LIF, LIFReset
    from lava.utils.weightutils import SignMode

    groups, procs = [], {}
    for g in net.neurons:
        shape = _lava_shape(g.shape)
        bias = _to_lava(g.bias, g.shape)
        p = g.params
        if g.kind == "lif":
            kwargs = dict(shape=shape, du=p.du, dv=p.dv, vth=p.vth, bias_mant=bias,
                          bias_exp=fp.BIAS_EXP, name=g.name)
            proc = LIFReset(reset_interval=g.reset_interval, reset_offset=g.reset_offset,
                            **kwargs) if g.reset_interval else LIF(**kwargs)
            groups.append(_Group(g.name, tuple(g.shape), "lif", proc))
        else:
            scale = float(fp.DECAY_UNITY)
            proc = ATRLIF(shape=shape, delta_i=p.d_i / scale, delta_v=p.d_v / scale,
                          delta_theta=p.d_theta / scale, delta_r=p.d_r / scale,
                          theta_0=p.theta_0, theta_step=p.theta_step, theta=p.theta_0,
                          bias_mant=bias, bias_exp=fp.BIAS_EXP, name=g.name)
            groups.append(_Group(g.name, tuple(g.shape), "atrlif", proc, p.theta_0))
        procs[g.name] = proc
    inputs, buffers = [], []
    for s in net.synapses:
        graded = net.input_bits if s.source == INPUT else 0
        src_shape, dst_shape = net.shape_of(s.source), net.shape_of(s.target)
        if isinstance(s, Conv):
            # Lava's Conv: (out, kernel x, kernel y, in) and a true convolution: flip
            weight = s.weight.transpose(0, 3, 2, 1)[:, ::-1, ::-1, :].astype(np.int32)
            syn = LavaConv(weight=np.ascontiguousarray(weight), input_shape=_lava_shape(src_shape),
                           padding=s.padding[::-1], stride=s.stride[::-1],
                           dilation=s.dilation[::-1], groups=s.groups, num_message_bits=graded,
                           name=s.name)
            buffers.append(syn.a_buf)
        else:
            kwargs = dict(weights=s.weight.astype(np.int32), weight_exp=s.weight_exp,
                          num_weight_bits=s.num_weight_bits, num_message_bits=graded, name=s.name)
            if s.sign_mode:
                kwargs["sign_mode"] = SignMode[s.sign_mode.upper()]
            syn = Dense(**kwargs) if s.delays is None else \
                DelayDense(delays=s.delays.astype(int), **kwargs)
            buffers.append(syn.a_buff)
        to_dense = not isinstance(s, Conv)
        if s.source == INPUT:
            inputs.append((syn.s_in, to_dense))
        else:
            _connect(procs[s.source].s_out, syn.s_in, src_shape, to_dense)
        out = syn.a_out
        if to_dense and len(dst_shape) == 3:  # flat (C, H, W) order -> Lava's (W, H, C)
            out = out.reshape(tuple(dst_shape)).transpose([2, 1, 0])
        out.connect(procs[s.target].a_in)
    return _Built(inputs, groups, buffers)


def _to_lava(values: np.ndarray, shape: tuple) -> np.ndarray:
    """(size,) in (C, H, W) row-major order -> an array of Lava's shape."""
    return np.asarray(values).reshape(shape).transpose(*range(len(shape))[::-1])


def run(net: Network, x: np.ndarray, progress: bool = True) -> SimResult:
    """Run ``net`` in Lava on integer input levels ``x`` (samples, *input_shape) or
    (samples, time_steps, *input_shape)."""
    net.validate()
    for g in net.neurons:
        if g.reset_interval and net.time_steps % g.reset_interval:
            raise SnnExportError(f"neurons {g.name}: reset_interval={g.reset_interval} must "
                                 f"divide time_steps={net.time_steps} to run samples back to back")
    return _run(build(net), x, net.time_steps, progress, input_shape=tuple(net.input_shape))


def _connect(out_port, in_port, src_shape: tuple, to_dense: bool) -> None:
    """Connect, flattening a (W, H, C) Lava output in (C, H, W) order for a Dense."""
    if to_dense and len(src_shape) == 3:
        out_port = out_port.transpose([2, 1, 0]).flatten()
    out_port.connect(in_port)


def _run(built: _Built, x: np.ndarray, time_steps: int, progress: bool,
         input_shape: tuple | None = None) -> SimResult:
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi2SimCfg
    from lava.proc.io.sink import RingBuffer as Sink
    from lava.proc.io.source import RingBuffer as Source

    x = np.asarray(x, dtype=np.int64)
    samples = len(x)
    input_shape = input_shape or x.shape[1:]
    if x.shape[1:] == tuple(input_shape):  # the same frame at every step
        x = np.repeat(x[:, None], time_steps, axis=1)
    frames = x.reshape(samples * time_steps, *input_shape)  # (samples * T, *shape)
    data = frames.transpose(*range(1, frames.ndim)[::-1], 0)  # (*lava_shape, samples * T)
    source = Source(data=np.ascontiguousarray(data))
    for port, to_dense in built.inputs:
        _connect(source.s_out, port, tuple(input_shape), to_dense)
    sinks = []
    for g in built.groups:
        sink = Sink(shape=g.neuron.s_out.shape, buffer=samples * time_steps)
        g.neuron.s_out.connect(sink.a_in)
        sinks.append(sink)
    cfg = Loihi2SimCfg(select_tag="fixed_pt")
    states = {g.name: {k: [] for k in _state_vars(g)} for g in built.groups}
    try:
        for k in tqdm(range(samples), desc="lava", unit="sample", disable=not progress):
            source.run(condition=RunSteps(num_steps=time_steps), run_cfg=cfg)
            for g in built.groups:
                for name, var in _state_vars(g).items():
                    states[g.name][name].append(_to_ours(var.get(), g.shape))
            if k + 1 < samples:
                _reset(built)
        recorded = [sink.data.get() for sink in sinks]
    finally:
        source.stop()
    spikes = {g.name: _to_ours(r, g.shape).reshape(samples, time_steps, -1).astype(np.uint8)
              for g, r in zip(built.groups, recorded)}
    return SimResult(spikes, {g: {k: np.stack(v).astype(np.int64) for k, v in st.items()}
                              for g, st in states.items()})


def _state_vars(g: _Group) -> dict:
    return {name: getattr(g.neuron, name) for name in STATE_NAMES[g.kind]}


def _reset(built: _Built) -> None:
    """Every neuron state and synapse buffer back to its initial value."""
    for g in built.groups:
        for name, var in _state_vars(g).items():
            init = (g.theta_0 << fp.ACT_SHIFT) if name == "theta" else 0
            var.set(np.full(var.shape, init))
    for var in built.buffers:
        var.set(np.zeros(var.shape))
