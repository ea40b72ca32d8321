"""Run a network in Lava's CPU simulator (``Loihi2SimCfg(select_tag="fixed_pt")``).

Two ways in, one run loop:
- :func:`run_netx`: a netx HDF5 file, loaded by stock ``lava.lib.dl.netx`` (what a user of
  the exported chain does);
- :func:`run`: any :class:`~snn_export.graph.Network`, built from real Lava processes
  (``Dense``, ``DelayDense``, ``Sparse``, ``DelaySparse``, ``Conv``, ``LIF``, ``LIFReset``,
  ``ATRLIF``).

All samples go through one Lava run: a ``RingBuffer`` source holds every sample's input and
one ``RingBuffer`` sink per neuron group records spikes. After each sample the runner pauses,
reads the neuron states, and resets every neuron state and synapse buffer, so each sample
starts from the same state as a fresh run. (netx's ``reset_interval`` resets neurons but not
synapse buffers: spikes of one sample would leak into the next.)

Lava lays out (C, H, W) groups as (W, H, C) (see :mod:`.lava_builder`); results are converted
back to the graph's (C, H, W) order.
"""
from __future__ import annotations

import contextlib
import sys
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from snn_export import fixed_point as fp
from snn_export.errors import SnnExportError
from snn_export.graph import Network

from .lava_builder import Built, Group, build, connect, import_lava
from .result import STATE_NAMES, SimResult


def _to_ours(data: np.ndarray, shape: tuple) -> np.ndarray:
    """Lava (*lava_shape, ...) -> (..., size) in (C, H, W) row-major order."""
    nd = len(shape)
    data = data.transpose(*range(nd)[::-1], *range(nd, data.ndim))  # (*shape, ...)
    data = data.reshape(int(np.prod(shape)), *data.shape[nd:])
    return np.moveaxis(data, 0, -1)


def run_netx(path: str | Path, x: np.ndarray, time_steps: int, input_bits: int,
             names: list[str] | None = None, progress: bool = True) -> SimResult:
    """Load a netx HDF5 chain with stock netx and run ``x`` (samples, inputs) in Lava."""
    import_lava()
    # lava-dl's slayer prints a note about an optional dataset toolbox on its first import:
    # to stderr, so that stdout stays the report or the --json summary
    with contextlib.redirect_stdout(sys.stderr):
        from lava.lib.dl import netx

    net = netx.hdf5.Network(net_config=str(path), input_message_bits=input_bits)
    names = names or [f"layer{k + 1}" for k in range(len(net.layers))]
    groups = [Group(name, (int(np.prod(layer.neuron.s_out.shape)),), "lif", layer.neuron)
              for name, layer in zip(names, net.layers)]
    built = Built([(net.inp, False)], groups, [layer.synapse.a_buff for layer in net.layers])
    return _run(built, x, time_steps, progress)


def run(net: Network, x: np.ndarray, progress: bool = True) -> SimResult:
    """Run ``net`` in Lava on integer input levels ``x`` (samples, *input_shape) or
    (samples, time_steps, *input_shape)."""
    net.validate()
    for g in net.neurons:
        if g.reset_interval and net.time_steps % g.reset_interval:
            raise SnnExportError(f"neurons {g.name}: reset_interval={g.reset_interval} must "
                                 f"divide time_steps={net.time_steps} to run samples back to back")
    return _run(build(net), x, net.time_steps, progress, input_shape=tuple(net.input_shape))


def _run(built: Built, x: np.ndarray, time_steps: int, progress: bool,
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
        connect(source.s_out, port, tuple(input_shape), to_dense)
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


def _state_vars(g: Group) -> dict:
    return {name: getattr(g.neuron, name) for name in STATE_NAMES[g.kind]}


def _reset(built: Built) -> None:
    """Every neuron state and synapse buffer back to its initial value."""
    for g in built.groups:
        init = fp.initial_state(g.params, torch.zeros(())) if g.params else {}  # netx: zeros
        for name, var in _state_vars(g).items():
            var.set(np.full(var.shape, int(init.get(name, 0))))
    for var in built.buffers:
        var.set(np.zeros(var.shape))
