"""Run a network in Lava's CPU simulator (``Loihi2SimCfg(select_tag="fixed_pt")``).

Two ways in, one run loop:
- :func:`run_netx`: a netx HDF5 file, loaded by stock ``lava.lib.dl.netx`` (what a user of
  the exported chain does);
- :func:`run`: any :class:`~snn_export.graph.Network`, built from real Lava processes
  (``Dense``, ``DelayDense``, ``Sparse``, ``DelaySparse``, ``Conv``, ``LIF``, ``LIFReset``,
  ``ATRLIF``).

All samples go through one Lava run: a ``RingBuffer`` source holds every sample's input and
one ``Extractor`` per neuron group hands its spikes over step by step. Two ways to give each
sample a clean start:

- back to back (:func:`back_to_back`), where the network allows it: every group is a
  ``LIFReset`` that zeroes its state at the first step of its window in each sample (step
  depth + 1 of every ``time_steps``-step period). With every path delay-aligned, what reaches
  a group before that reset is the previous sample's tail, and from it on, this sample's
  input exactly: the run never pauses. Steps before a group's depth are not observed (the
  previous sample's tail is there; a clean run is silent then) and states are read after
  the last sample only;
- otherwise, after each sample the runner pauses, reads the neuron states, and resets every
  neuron state and synapse buffer (netx's ``reset_interval`` alone resets neurons but not
  synapse buffers).

Lava lays out (C, H, W) groups as (W, H, C) (see :mod:`.lava_builder`); results are converted
back to the graph's (C, H, W) order.
"""
from __future__ import annotations

import contextlib
import io
import multiprocessing
import signal
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from snn_export import fixed_point as fp
from snn_export.errors import SnnExportError
from snn_export.graph import Network
from snn_export.interrupts import check, deferred

from .lava_builder import Built, Group, build, connect, import_lava
from .result import STATE_NAMES, SimResult

EXTRACTOR_BUFFER = 256  # steps of spikes Lava may run ahead of the reader
STALL_LIMIT = 300.0  # seconds Lava may take to make one step before it is given up
START_FACTOR = 10  # its start (compiling, forking a process per group) may take this much longer
STOP_GRACE = 30.0  # seconds Lava gets to stop before its processes are killed


@contextlib.contextmanager
def _watchdog(limit: float | None):
    """Within the block, once ``feed(doing)`` (yielded) has been called, call it at least
    every ``limit`` seconds (:data:`START_FACTOR` times that after ``feed("starting")``), or
    ``SnnExportError`` is raised in the main thread, naming what the last call said Lava was
    doing (SIGALRM; None or 0: no limit). Where Python swallows an exception raised in a
    signal handler (a finaliser was running), the next ``feed()`` raises it."""
    if not limit:
        yield lambda doing: None
        return
    expired, phase = [], ["starting", limit]
    message = lambda: (f"Lava made no progress for {phase[1]:g} s while {phase[0]}; stopped "
                       "(--lava-timeout SECONDS gives it longer)")

    def alarm(signum, frame):
        expired.append(True)
        raise SnnExportError(message())

    def feed(doing: str):
        if expired:
            raise SnnExportError(message())
        phase[:] = doing, limit * (START_FACTOR if doing == "starting" else 1)
        signal.setitimer(signal.ITIMER_REAL, phase[1])
    previous = signal.signal(signal.SIGALRM, alarm)
    try:
        yield feed
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _stop(source, limit: float | None) -> None:
    """Stop Lava; if that itself stalls (for ``limit``, at least :data:`STOP_GRACE`
    seconds), kill its processes (the run is lost anyway)."""
    try:
        with _watchdog(limit and max(limit, STOP_GRACE)) as feed:
            feed("stopping")
            source.stop()
    except SnnExportError:
        for child in multiprocessing.active_children():
            child.kill()
        raise


def _to_ours(data: np.ndarray, shape: tuple) -> np.ndarray:
    """Lava (*lava_shape, ...) -> (..., size) in (C, H, W) row-major order."""
    nd = len(shape)
    data = data.transpose(*range(nd)[::-1], *range(nd, data.ndim))  # (*shape, ...)
    data = data.reshape(int(np.prod(shape)), *data.shape[nd:])
    return np.moveaxis(data, 0, -1)


def back_to_back(net: Network) -> Network | None:
    """``net`` with every neuron group reset at the first step of its window in each sample
    (``LIFReset``, period ``time_steps``, at step depth + 1), or None where samples run back
    to back would not each be a clean run: ATRLIF groups (no reset in Lava), groups with a
    reset of their own or as deep as a sample is long, a bias on a group that has synapses
    in (it would act before the group's depth), and synapses whose delays do not align their
    source with their target's depth (then input arrives before the reset); or where each
    sample's final state is the output (an ``integrator`` readout's voltage)."""
    depths, period = net.depths(), net.time_steps
    for s in net.synapses:
        delays = getattr(s, "delays", None)
        delays = np.zeros(1, int) if delays is None or not delays.size else delays
        if (delays != depths[s.target] - depths[s.source] - 1).any():
            return None
    for g in net.neurons:
        if g.kind != "lif" or g.reset_interval or depths[g.name] >= period or \
                (net.incoming(g.name) and np.any(g.bias)) or g.role.kind == "integrator":
            return None
    return replace(net, neurons=[replace(g, reset_interval=period,
                                         reset_offset=(depths[g.name] + 1) % period)
                                 for g in net.neurons])


def _import_netx():
    """``lava.lib.dl.netx``, imported without the notes lava-dl prints on its first import
    (an optional Prophesee toolbox missing, no CUDA runtime): shown only if it fails."""
    import_lava()
    said = io.StringIO()
    try:
        with contextlib.redirect_stdout(said), contextlib.redirect_stderr(said):
            from lava.lib.dl import netx
    except Exception as exc:  # noqa: BLE001  (whatever lava-dl raises, with what it said)
        raise SnnExportError(f"lava-dl's netx cannot be imported ({exc}); it said: "
                             f"{' '.join(said.getvalue().split())}") from None
    return netx


def run_netx(path: str | Path, x: np.ndarray, time_steps: int, input_bits: int,
             names: list[str] | None = None, progress: bool = True,
             back_to_back: bool = False, stall_limit: float | None = STALL_LIMIT,
             shapes: list[tuple] | None = None, input_shape: tuple | None = None) -> SimResult:
    """Load a netx HDF5 chain with stock netx and run ``x`` (samples, [steps,] *input_shape)
    in Lava; ``names`` and ``shapes``: each layer's group name and (C, H, W) or (n,) shape
    (default ``layer1``, ``layer2``, ... counting netx's blocks, flat); an input layer with
    neurons of its own gets in its current what netx leaves to the user to send
    (:func:`_input_currents`);
    ``back_to_back``: with netx's own resets (layer ``k`` at step ``k + 1`` of each period;
    only where :func:`back_to_back` allows it); ``stall_limit``: seconds Lava may take to
    make one step (to start: :data:`START_FACTOR` times that) before the run is given up
    (``SnnExportError``; None: wait for ever)."""
    netx = _import_netx()

    resets = dict(reset_interval=time_steps, reset_offset=1) if back_to_back else {}
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # (netx prints its weight clipping)
            net = netx.hdf5.Network(net_config=str(path), input_message_bits=input_bits,
                                    **resets)
    except Exception as exc:  # noqa: BLE001  (whatever netx raises, it is named)
        raise SnnExportError(f"{path}: stock netx cannot load it ({type(exc).__name__}: "
                             f"{exc})") from None
    names = names or [f"layer{k + 1}" for k in range(len(net.layers))]
    shapes = shapes or [(int(np.prod(layer.neuron.s_out.shape)),) for layer in net.layers]
    groups = [Group(name, tuple(shape), "lif", layer.neuron)
              for name, shape, layer in zip(names, shapes, net.layers)]
    buffers = [getattr(layer.synapse, "a_buff", None) or layer.synapse.a_buf  # (Conv: a_buf)
               for layer in net.layers if hasattr(layer, "synapse")]
    buffers += [layer.synapse_rec.a_buff for layer in net.layers  # (netx's dense_rec)
                if hasattr(layer, "synapse_rec")]
    if isinstance(net.in_layer, netx.blocks.process.Input):  # neurons fed as netx leaves it
        input_shape = tuple(input_shape or net.in_layer.shape[::-1])  # (netx: W, H, C)
        x = _input_currents(_per_step(x, time_steps, input_shape), net.in_layer.transform)
        built = Built([(net.in_layer.neuron.a_in, False)], groups, buffers)
    else:  # a first dense layer reads the input flattened (C, H, W), as netx connects it
        built = Built([(net.inp, len(net.inp.shape) == 1)], groups, buffers)
    depths = {g.name: k + 1 for k, g in enumerate(groups)} if back_to_back else None
    return _run(built, x, time_steps, progress, input_shape=input_shape, depths=depths,
                stall_limit=stall_limit)


def _per_step(x: np.ndarray, time_steps: int, input_shape: tuple) -> np.ndarray:
    """Input levels ``x`` (samples, [steps,] *input_shape) as (samples, steps,
    *input_shape) int64: a static frame repeated at every step."""
    x = np.asarray(x, dtype=np.int64)
    return np.repeat(x[:, None], time_steps, axis=1) if x.shape[1:] == input_shape else x


def _input_currents(x: np.ndarray, transform: dict) -> np.ndarray:
    """What a netx input layer's neurons receive in their current (``a_in``) at each step
    for input levels ``x`` (samples, steps, *input_shape): ``weight * x + bias`` (netx's
    ``in_layer.transform``), a step late, as a synapse would bring it."""
    current = transform["weight"] * x + transform["bias"]
    return np.concatenate([np.zeros_like(current[:, :1]), current[:, :-1]], axis=1)


def run(net: Network, x: np.ndarray, progress: bool = True,
        stall_limit: float | None = STALL_LIMIT) -> SimResult:
    """Run ``net`` in Lava on integer input levels ``x`` (samples, *input_shape) or
    (samples, time_steps, *input_shape): back to back where :func:`back_to_back` allows;
    ``stall_limit``: as for :func:`run_netx`."""
    net.validate()
    for g in net.neurons:
        if g.reset_interval and net.time_steps % g.reset_interval:
            raise SnnExportError(f"neurons {g.name}: reset_interval={g.reset_interval} must "
                                 f"divide time_steps={net.time_steps} to run samples back to back")
    resetting = back_to_back(net)
    depths = None if resetting is None else net.depths()
    return _run(build(resetting or net), x, net.time_steps, progress,
                input_shape=tuple(net.input_shape), depths=depths, stall_limit=stall_limit)


def _run(built: Built, x: np.ndarray, time_steps: int, progress: bool,
         input_shape: tuple | None = None, depths: dict | None = None,
         stall_limit: float | None = STALL_LIMIT) -> SimResult:
    """Every sample in one Lava run; ``depths`` (per group): back to back, else pausing to
    read and reset states after each sample. Spikes leave through one ``Extractor`` per
    group, step by step while Lava runs (a sink's recorded spikes would come back one
    number per message)."""
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi2SimCfg
    from lava.proc.io.extractor import Extractor, PyLoihiExtractorModel
    from lava.proc.io.source import RingBuffer as Source

    input_shape = tuple(input_shape or np.shape(x)[1:])
    x = _per_step(x, time_steps, input_shape)
    samples = len(x)
    frames = x.reshape(samples * time_steps, *input_shape)  # (samples * T, *shape)
    data = frames.transpose(*range(1, frames.ndim)[::-1], 0)  # (*lava_shape, samples * T)
    source = Source(data=np.ascontiguousarray(data))
    for port, to_dense in built.inputs:
        connect(source.s_out, port, tuple(input_shape), to_dense)
    extractors = []
    for g in built.groups:
        extractors.append(Extractor(shape=g.neuron.s_out.shape, buffer_size=EXTRACTOR_BUFFER))
        g.neuron.s_out.connect(extractors[-1].in_port)
    cfg = Loihi2SimCfg(select_tag="fixed_pt",  # the extractor has no fixed_pt model
                       exception_proc_model_map={Extractor: PyLoihiExtractorModel})
    states = {g.name: {k: [] for k in _state_vars(g)} for g in built.groups}
    recorded = [[] for _ in built.groups]  # per group, per step: (*lava_shape,)
    runs = [samples] if depths is not None else [1] * samples
    try:
        with tqdm(total=samples, desc="lava", unit="sample", disable=not progress) as bar, \
                _watchdog(stall_limit) as feed:
            for k, n in enumerate(runs):
                feed("starting" if k == 0 else "running")
                with deferred() if k == 0 else contextlib.nullcontext():  # forks Lava's
                    source.run(condition=RunSteps(num_steps=time_steps * n, blocking=False),
                               run_cfg=cfg)
                feed("running")
                for step in range(1, time_steps * n + 1):
                    for frames, extractor in zip(recorded, extractors):
                        frames.append(extractor.receive())
                    feed("running")
                    check()
                    bar.update(step % time_steps == 0)
                source.wait()
                if depths is None or k + 1 == len(runs):
                    for g in built.groups:
                        for name, var in _state_vars(g).items():
                            states[g.name][name].append(_to_ours(var.get(), g.shape))
                if k + 1 < len(runs):
                    _reset(built)
    finally:
        _stop(source, stall_limit)
    check()  # (a signal whose exception Lava swallowed while it waited or stopped)
    spikes = {g.name: _to_ours(np.stack(r, -1), g.shape).reshape(samples, time_steps, -1)
              .astype(np.uint8) for g, r in zip(built.groups, recorded)}
    if depths is not None:  # before its depth a group shows the previous sample's tail
        for name, s in spikes.items():
            s[1:, :depths[name]] = 0
    return SimResult(spikes, {g: {k: np.stack(v).astype(np.int64) for k, v in st.items()}
                              for g, st in states.items()},
                     None if depths is None else samples - 1)


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
