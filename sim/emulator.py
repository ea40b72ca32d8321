"""Exact integer emulator of a deployed :class:`~snn_export.graph.Network`, batched over samples.

The project's definition of what the deployed network computes. It runs the neuron steps of
:mod:`snn_export.fixed_point` on float64 tensors holding integers, the same code on CPU and
CUDA (torch has no integer matmul on CUDA). Synapse groups sum integers in float32 where every
partial sum provably stays below 2**24 (:func:`sum_bounds`,
:func:`~snn_export.fixed_point.exact_dtype`), else in float64 (exact below 2**53, which
:class:`Emulator` checks for every synapse group before it starts), with float32 matmul
precision at "highest" (no TF32, no bfloat16). Convolutions are computed as unfold + matmul,
so no convolution algorithm (FFT, Winograd) can round.

Timing is Lava's (see :mod:`snn_export.graph`): a synapse group with delay ``d`` delivers at
step ``t`` what its source sent at step ``t - 1 - d`` (nothing before step 1). Since no group
reads another's spikes of the same step, the network runs component by component in
topological order (:func:`components`): a group outside any cycle of synapses receives all of
its input currents at once (one batched matmul or convolution over samples x steps, sent
frames only), then scans its neuron steps; only the groups of a cycle (recurrence) pass
their spikes on step by step. A group whose state and input are still at rest skips to its
first input (a neuron at rest stays at rest: :func:`_rests`).
"""
from __future__ import annotations

import math

import networkx as nx
import numpy as np
import torch
import torch.nn.functional as F

from snn_export import fixed_point as fp
from snn_export.graph import INPUT, Conv, Dense, Network, Neurons, Sparse
from snn_export.interrupts import check

from .result import SimResult, state_names

EXACT_BOUND = 2.0**53  # float64 integers
OP_BYTES = 2**28  # working memory of one synapse group's call (frames are split to fit)
BATCH_BYTES = 2**31  # currents and spikes of one batch of samples
SCAN_ELEMENTS = 2**16  # neuron states stepped by one call, per thread (kept in cache)
NARROW = 8  # source neurons below which a Dense sums in the currents' type (float64 too)


def partial_sum_bound(net: Network, syn) -> float:
    """The largest magnitude a partial sum of ``syn`` can reach, before ``weight_exp``."""
    in_max = float(2**net.input_bits - 1) if syn.source == INPUT else 1.0
    w = syn.weight if isinstance(syn, Conv) else syn.effective_weight()
    largest = max(int(w.max()), -int(w.min())) if w.size else 0
    return float(largest) * in_max * syn.fan_in()


def sum_bounds(net: Network) -> dict[str, float]:
    """Per synapse group, :func:`partial_sum_bound`; ``ValueError`` where a sum shifted by
    ``weight_exp`` would not be an exact float64 integer."""
    bounds = {}
    for syn in net.synapses:
        bounds[syn.name] = bound = partial_sum_bound(net, syn)
        if not isinstance(syn, Conv):
            bound *= 2.0 ** max(syn.weight_exp, 0)
        if bound >= EXACT_BOUND:
            raise ValueError(f"synapses {syn.name}: accumulations up to {bound:.3g} are not "
                             "exact in float64")
    return bounds


class _DelayOp:
    """Lava's ``Dense`` family: ``(W @ s) << weight_exp`` split into delay slots, output
    (frames, slots, n_out), slot ``k`` holding the synapses of delay ``lag + k`` (one slot
    without delays, or when every synapse has the same delay ``lag``; the shift applies per
    slot, as in ``DelayDense`` and ``DelaySparse``)."""

    def __init__(self, syn: Dense | Sparse, n_out: int, dtype: torch.dtype,
                 out_dtype: torch.dtype):
        self.exp, self.n_out, self.dtype, self.out_dtype = syn.weight_exp, n_out, dtype, out_dtype
        delays = syn.delays if syn.delays is not None and syn.delays.size else np.zeros(1, int)
        self.lag = int(delays.min())
        self.slot = delays - self.lag  # each synapse's slot
        self.slots = int(self.slot.max()) + 1

    def _split(self, acc: torch.Tensor) -> torch.Tensor:
        """(frames, slots * n_out) sums, slot-major -> shifted (frames, slots, n_out), in
        ``out_dtype``."""
        out = fp.shift_exp(acc.to(torch.promote_types(acc.dtype, self.out_dtype)), self.exp)
        return out.to(self.out_dtype).view(acc.shape[0], self.slots, self.n_out)


class _DenseOp(_DelayOp):
    """Lava ``Dense`` / ``DelayDense``."""

    def __init__(self, syn: Dense, dtype: torch.dtype, out_dtype: torch.dtype, device):
        w = torch.as_tensor(syn.effective_weight(), dtype=dtype, device=device)
        super().__init__(syn, w.shape[0], dtype, out_dtype)
        slot = torch.as_tensor(self.slot, device=device)
        # rows k * n_out ... (k + 1) * n_out - 1 hold the synapses of slot k
        self.w_t = torch.cat([torch.where(slot == k, w, 0.0) for k in range(self.slots)]).T
        self.frame_bytes = 16 * (w.shape[1] + self.slots * self.n_out)
        # one slot, a shift left folded into the weights, summed in the currents' type (as
        # exact as the currents; a narrow matmul, as from the always-on bias source, costs
        # less in float64 than a float32 product converted and added): the matmul writes or
        # adds into the currents
        self.adds = self.slots == 1 and self.exp >= 0 and (dtype == out_dtype or
                                                             w.shape[1] <= NARROW)
        if self.adds:
            self.w_currents = (self.w_t * float(1 << self.exp)).to(out_dtype)

    def __call__(self, frames: torch.Tensor) -> torch.Tensor:
        """(frames, n_in) -> (frames, slots, n_out)."""
        return self._split(frames.to(self.dtype) @ self.w_t)

    def add_to(self, currents: torch.Tensor, frames: torch.Tensor, write: bool) -> None:
        """``currents += self(frames)[:, 0]`` in one matmul (``write``: ``=``; only where
        :attr:`adds`)."""
        frames = frames.to(self.w_currents.dtype)
        if write:
            torch.mm(frames, self.w_currents, out=currents)
        else:
            currents.addmm_(frames, self.w_currents)


class _SparseOp(_DelayOp):
    """Lava ``Sparse`` / ``DelaySparse``: the listed synapses only."""

    def __init__(self, syn: Sparse, dtype: torch.dtype, out_dtype: torch.dtype, device):
        super().__init__(syn, int(syn.shape[0]), dtype, out_dtype)
        # synapse k adds into its slot of target rows[k]
        self.index = torch.as_tensor(self.slot * self.n_out + syn.rows, device=device)
        self.cols = torch.as_tensor(syn.cols, device=device)
        self.w = torch.as_tensor(syn.effective_weight(), dtype=dtype, device=device)
        self.frame_bytes = 16 * (len(self.w) + self.slots * self.n_out)

    def __call__(self, frames: torch.Tensor) -> torch.Tensor:
        """(frames, n_in) -> (frames, slots, n_out)."""
        terms = frames[:, self.cols].to(self.dtype) * self.w
        acc = terms.new_zeros(len(frames), self.slots * self.n_out)
        return self._split(acc.index_add_(1, self.index, terms))


class _ConvOp:
    """Lava ``Conv``: integer cross-correlation, wrapped to 24 bits (where sums can reach
    that far). Computed as a matmul over the unfolded input (a strided view, one copy)."""

    def __init__(self, syn: Conv, in_shape: tuple, out_shape: tuple, bound: float,
                 dtype: torch.dtype, out_dtype: torch.dtype, device):
        w = torch.as_tensor(syn.weight, dtype=dtype, device=device)
        self.groups, self.dtype, self.out_dtype = syn.groups, dtype, out_dtype
        self.wraps = bound >= fp.STATE_MAX
        self.w = w.reshape(syn.groups, w.shape[0] // syn.groups, -1)  # (g, out/g, in/g*kh*kw)
        self.kernel, self.stride = tuple(w.shape[2:]), tuple(syn.stride)
        self.padding, self.dilation = tuple(syn.padding), tuple(syn.dilation)
        self.in_shape, self.out_hw = in_shape, tuple(out_shape[1:])
        self.slots, self.lag = 1, 0
        out_size = int(np.prod(out_shape))
        columns = w[0].numel() * out_size // w.shape[0]  # unfolded values per frame
        self.frame_bytes = 8 * (int(np.prod(in_shape)) + columns * syn.groups + 2 * out_size)

    def _unfold(self, x: torch.Tensor) -> torch.Tensor:
        """(n, C, H, W) -> (n, C * kh * kw, Ho * Wo), as ``F.unfold``."""
        (ph, pw), (sh, sw), (dh, dw) = self.padding, self.stride, self.dilation
        x = F.pad(x, (pw, pw, ph, ph))
        n, c, _, _ = x.shape
        s_n, s_c, s_h, s_w = x.stride()
        view = x.as_strided((n, c, *self.kernel, *self.out_hw),
                            (s_n, s_c, dh * s_h, dw * s_w, sh * s_h, sw * s_w))
        return view.reshape(n, c * self.kernel[0] * self.kernel[1], -1)

    def __call__(self, frames: torch.Tensor) -> torch.Tensor:
        """(frames, n_in) -> (frames, 1, n_out)."""
        n = frames.shape[0]
        cols = self._unfold(frames.to(self.dtype).view(n, *self.in_shape))
        out = torch.matmul(self.w, cols.view(n, self.groups, self.w.shape[2], cols.shape[2]))
        out = out.reshape(n, 1, -1)
        return (fp.wrap24(out.double()) if self.wraps else out).to(self.out_dtype)


def _op(net: Network, syn, bound: float, out_dtype: torch.dtype, device):
    dtype = fp.exact_dtype(bound)
    if isinstance(syn, Conv):
        return _ConvOp(syn, net.shape_of(syn.source), net.shape_of(syn.target), bound, dtype,
                       out_dtype, device)
    if isinstance(syn, Sparse):
        return _SparseOp(syn, dtype, out_dtype, device)
    return _DenseOp(syn, dtype, out_dtype, device)


def current_dtypes(net: Network, bounds: dict[str, float]) -> dict[str, torch.dtype]:
    """Per neuron group, the type in which the sum of its synaptic input currents is exact
    (:func:`~snn_export.fixed_point.exact_dtype` of every incoming synapse group's largest
    output, after ``weight_exp``, summed; a wrapping Conv's stays below 2**23)."""
    total = {g.name: 0.0 for g in net.neurons}
    for syn in net.synapses:
        bound = bounds[syn.name]
        if isinstance(syn, Conv):
            total[syn.target] += min(bound, fp.STATE_MAX)
        else:
            total[syn.target] += bound * 2.0 ** max(syn.weight_exp, 0)
    return {name: fp.exact_dtype(b) for name, b in total.items()}


def _neuron_step(group: Neurons, state: dict, a: torch.Tensor, bias: torch.Tensor, t: int,
                 bounds: tuple = (math.inf, math.inf), spikes: torch.Tensor | None = None):
    """One step (``t`` 1-based) of a group: updates ``state``, returns its spikes
    (``bounds``: the current's and the voltage's, :func:`_bounds`; ``spikes``: see
    :func:`~snn_export.fixed_point.lif_step`)."""
    p = group.params
    if group.kind == "lif":
        if group.reset_interval and t % group.reset_interval == \
                group.reset_offset % group.reset_interval:
            state["u"], state["v"] = state["u"] * 0, state["v"] * 0
        state["u"], state["v"], s = fp.lif_step(state["u"], state["v"], a, bias, p,
                                                current_bound=bounds[0], inplace=True,
                                                spikes=spikes, voltage_bound=bounds[1])
    else:
        *new, s = fp.atrlif_step(state["i"], state["v"], state["theta"], state["r"], a, bias, p)
        state.update(zip(("i", "v", "theta", "r"), new))
    return s


def _rests(group: Neurons, bias: torch.Tensor) -> bool:
    """Whether a neuron at its initial state with no input stays there without spiking (then
    every step before its first input can be skipped)."""
    state = fp.initial_state(group.params, bias.new_zeros(1, group.size))
    first = {k: v.clone() for k, v in state.items()}
    s = _neuron_step(group, state, torch.zeros_like(bias)[None], bias[None], 1)
    return not s.any() and all(torch.equal(state[k], first[k]) for k in first)


def components(net: Network) -> list[list[Neurons]]:
    """The neuron groups in topological order of their strongly connected components (a
    group alone unless synapses form a cycle through it), each in network order."""
    graph = nx.DiGraph()
    graph.add_nodes_from(g.name for g in net.neurons)
    graph.add_edges_from((s.source, s.target) for s in net.synapses if s.source != INPUT)
    dag = nx.condensation(graph)
    rank = {g.name: k for k, g in enumerate(net.neurons)}
    return [[net.neurons[rank[m]] for m in sorted(dag.nodes[c]["members"], key=rank.get)]
            for c in nx.topological_sort(dag)]


def as_frames(net: Network, x) -> np.ndarray:
    """Flattened samples (samples, features) as (samples, *input_shape), and flattened event
    frames (samples, T, features) as (samples, T, *input_shape); frames for the network's
    :attr:`~snn_export.graph.Network.window` are followed by silent ones up to its
    ``time_steps``."""
    x = np.asarray(x)
    x = x.reshape(*x.shape[:2 if x.ndim == 3 else 1], *net.input_shape)
    late = net.time_steps - x.shape[1]
    if x.ndim == len(net.input_shape) + 2 and x.shape[1] == net.window and late > 0:
        x = np.concatenate([x, np.zeros((len(x), late, *x.shape[2:]), dtype=x.dtype)], 1)
    return x


def window_frames(net: Network, x: np.ndarray) -> torch.Tensor:
    """What the trained model reads of :func:`as_frames` output: a static frame as it is,
    event frames over the network's window only."""
    return torch.from_numpy(x[:, :net.window] if x.ndim == len(net.input_shape) + 2 else x)


def _as_input(net: Network, x) -> tuple[torch.Tensor, bool]:
    """Validate ``x``; returns it as float64 (samples, [T,] size) and whether it varies in time."""
    x = np.asarray(x)
    shape = tuple(net.input_shape)
    if x.shape[1:] == shape:
        static = True
    elif x.shape[1:] == (net.time_steps, *shape):
        static = False
    else:
        dims = ", ".join(map(str, shape))
        raise ValueError(f"input of shape {x.shape}; expected (samples, {dims}) "
                         f"or (samples, {net.time_steps}, {dims})")
    top = 2**net.input_bits - 1
    if x.size and (not np.issubdtype(x.dtype, np.integer) or x.min() < 0 or x.max() > top):
        raise ValueError(f"input levels must be integers within 0..{top}")
    x = torch.as_tensor(x.astype(np.float64))
    return x.reshape(len(x), -1) if static else x.reshape(len(x), net.time_steps, -1), static


def _batch_limit(net: Network, order: list) -> int:
    """Samples per batch whose spikes and largest component's currents fit ``BATCH_BYTES``."""
    largest = max(sum(g.size for g in c) for c in order)
    per_sample = net.time_steps * (sum(g.size for g in net.neurons) + 16 * largest)
    return max(1, BATCH_BYTES // per_sample)


class Emulator:
    """``net`` made ready to run on ``device`` (checked, its synapse groups as torch
    operations); :meth:`run` it on as many inputs as needed."""

    def __init__(self, net: Network, device: str | torch.device = "cpu"):
        net.validate()
        bounds = sum_bounds(net)
        self.net, self.device = net, device
        self.dtypes = current_dtypes(net, bounds)
        self.ops = {s.name: _op(net, s, bounds[s.name], self.dtypes[s.target], device)
                    for s in net.synapses}
        self.biases = {g.name: torch.as_tensor(g.bias, dtype=torch.float64, device=device)
                       for g in net.neurons}
        self.order = components(net)
        self.rests = {g.name: _rests(g, self.biases[g.name]) for g in net.neurons}
        self.batch_limit = _batch_limit(net, self.order)

    def run(self, x, batch_size: int = 1024) -> SimResult:
        """Run integer input levels ``x``: shape (samples, *input_shape) to present the same
        frame at every step, or (samples, time_steps, *input_shape). Batches hold at most
        ``batch_size`` samples, fewer where a large network needs the memory."""
        net = self.net
        x, static = _as_input(net, x)
        batch = min(batch_size, self.batch_limit)
        precision = torch.get_float32_matmul_precision()
        torch.set_float32_matmul_precision("highest")
        memory = _Memory(self.device)
        try:
            chunks = []
            for i in range(0, max(len(x), 1), batch):
                check()  # (a Ctrl-C whose first raise was dropped)
                chunks.append(_run_batch(net, x[i:i + batch].to(self.device), static, self.ops,
                                         self.biases, self.order, self.rests, self.dtypes,
                                         memory))
        finally:
            torch.set_float32_matmul_precision(precision)
        spikes = {g.name: np.concatenate([c[0][g.name] for c in chunks]) for g in net.neurons}
        states = {g.name: {k: np.concatenate([c[1][g.name][k] for c in chunks])
                           for k in state_names(g)} for g in net.neurons}
        return SimResult(spikes, states)


def run(net: Network, x, device: str | torch.device = "cpu", batch_size: int = 1024) -> SimResult:
    """:meth:`Emulator.run` once."""
    return Emulator(net, device).run(x, batch_size)


class _Sent:
    """What a source sent in one batch: ``frames`` (steps * batch, size), row ``t * batch + b``
    holding sample ``b``'s frame of 0-based step ``t``, and ``rows``, the rows with a spike
    (or input level) in them, in order."""

    def __init__(self, frames: torch.Tensor):
        self.frames = frames
        self.rows = frames.any(1).nonzero().squeeze(1)


def _deliver(op, sent: _Sent, currents: torch.Tensor, origin: int, fresh: bool = False) -> bool:
    """Add into ``currents`` (steps, batch, n_out), whose first step is the 0-based step
    ``origin``, what ``op`` makes of the frames ``sent``; a frame sent at step ``t`` arrives
    at ``t + 1 + delay`` (``origin`` is never later than the first arrival). ``fresh``:
    ``currents`` holds no values yet (it is written, or zeroed first); returns whether it
    still holds none."""
    steps, batch = currents.shape[:2]
    flat = currents.view(steps * batch, currents.shape[2])
    shift = (1 + op.lag - origin) * batch
    rows = sent.rows[sent.rows + shift < steps * batch]
    if not len(rows):
        return fresh
    for chunk in rows.split(max(1, OP_BYTES // op.frame_bytes)):
        first, n = int(chunk[0]), len(chunk)
        together = int(chunk[-1]) - first + 1 == n  # consecutive rows: slices, not indices
        adds = together and getattr(op, "adds", False)  # (rows + shift all within currents)
        whole = fresh and adds and first + shift == 0 and n == steps * batch
        if fresh and not whole:
            currents.zero_()
        fresh = False
        if adds:
            at = first + shift
            op.add_to(flat[at:at + n], sent.frames[first:first + n], write=whole)
            continue
        out = op(sent.frames[first:first + n] if together else sent.frames[chunk])
        for k in range(op.slots):
            at = first + shift + k * batch
            if together:
                flat[at:at + n] += out[:max(min(n, steps * batch - at), 0), k]
            else:
                at = chunk + (shift + k * batch)
                keep = at < steps * batch
                flat.index_add_(0, at[keep], out[keep, k])
    return fresh


def _first_arrival(net: Network, group: Neurons, inside: set, ops: dict, sent: dict,
                   static: bool, batch: int) -> int:
    """The 0-based step at which the first input from outside ``inside`` reaches ``group``
    (``time_steps`` if none does)."""
    first = net.time_steps
    for s in net.incoming(group.name):
        if s.source == INPUT and static:
            first = min(first, 1 + ops[s.name].lag)
        elif s.source not in inside and len(sent[s.source].rows):
            first = min(first, int(sent[s.source].rows[0]) // batch + 1 + ops[s.name].lag)
    return first


def _currents(net: Network, group: Neurons, inside: set, ops: dict, x: torch.Tensor,
              static: bool, sent: dict, origin: int, a: torch.Tensor) -> torch.Tensor:
    """``a`` (time_steps - origin, batch, size; its values are replaced) set to what the
    synapses from outside ``inside`` deliver at 0-based steps ``origin``, ``origin + 1``, ...
    (the first delivery that covers every step writes instead of adding to zeros)."""
    fresh = True
    for s in net.incoming(group.name):
        op = ops[s.name]
        if s.source == INPUT and static:  # the same frame at every step
            out = op(x)
            for k in range(op.slots):
                first = max(1 + op.lag + k - origin, 0)
                if fresh and first == 0:
                    a.copy_(out[:, k].expand_as(a))
                else:
                    if fresh:
                        a.zero_()
                    a[first:] += out[:, k]
                fresh = False
        elif s.source not in inside:
            fresh = _deliver(op, sent[s.source], a, origin, fresh)
    if fresh:
        a.zero_()
    return a


def _bounds(group: Neurons, a: torch.Tensor, bias) -> tuple[float, float]:
    """Bounds on a LIF group's ``|u|`` and ``|v|`` from all the currents ``a`` it receives
    and its bias (a state reset only lowers them)."""
    if group.kind != "lif" or not a.numel():
        return math.inf, math.inf
    lo, hi = torch.aminmax(a)
    steps, p = len(a), group.params
    u_max = fp.lif_current_bound(p, max(-float(lo), float(hi)), steps)
    bias_max = float(bias.abs().max()) if isinstance(bias, torch.Tensor) else abs(bias)
    return u_max, fp.lif_voltage_bound(p, u_max, bias_max, steps)


def _scan(members: list, inner: list, ops: dict, biases: dict, a: dict, start: int,
          spikes: dict) -> dict:
    """Step the groups ``members`` from 0-based step ``start`` to the end on currents ``a``
    (per group, (steps - start, batch, size)), writing ``spikes`` (per group, (steps, batch,
    size)); ``inner`` synapses deliver step by step. Without them the batch is stepped in
    slices of about ``SCAN_ELEMENTS`` neurons per thread (states stay in cache). Returns the
    states."""
    total, batch = next(iter(spikes.values())).shape[:2]
    size = max(g.size for g in members)
    width = batch if inner else max(1, SCAN_ELEMENTS * torch.get_num_threads() // size)
    parts = {g.name: [] for g in members}
    biases = {g.name: biases[g.name] if biases[g.name].any() else 0.0  # (0.0: not added)
              for g in members}
    bounds = {g.name: _bounds(g, a[g.name], biases[g.name]) if not inner else
              (math.inf, math.inf) for g in members}
    for lo in range(0, batch, width):
        hi = min(lo + width, batch)
        like = {g.name: a[g.name].new_zeros(hi - lo, g.size, dtype=torch.float64)
                for g in members}  # (and each LIF step's scratch space)
        state = {g.name: fp.initial_state(g.params, like[g.name]) for g in members}
        for t in range(start, total):
            for g in members:
                now = a[g.name][t - start, lo:hi]
                spikes[g.name][t, lo:hi] = _neuron_step(g, state[g.name], now, biases[g.name],
                                                        t + 1, bounds[g.name], like[g.name])
            for s in inner:
                _deliver(ops[s.name], _Sent(spikes[s.source][t]), a[s.target], start - t)
        for g in members:
            parts[g.name].append(state[g.name])
    return {g: {k: torch.cat([p[k] for p in ps]) for k in ps[0]} for g, ps in parts.items()}


class _Memory:
    """Reused memory for the currents of one component's groups at a time (as large as the
    largest component needs): reusing it across components and batches is cheaper than
    fresh pages."""

    def __init__(self, device):
        self.buffer = torch.empty(0, dtype=torch.uint8, device=device)

    def currents(self, shapes: list, dtypes: list) -> list[torch.Tensor]:
        """Uninitialized tensors of these shapes and types, one after the other."""
        sizes = [-(-math.prod(s) * d.itemsize // 8) * 8 for s, d in zip(shapes, dtypes)]
        if self.buffer.numel() < sum(sizes):
            self.buffer = torch.empty(sum(sizes), dtype=torch.uint8, device=self.buffer.device)
        starts = np.cumsum([0, *sizes])
        return [self.buffer[a:a + math.prod(s) * d.itemsize].view(d).view(s)
                for a, s, d in zip(starts, shapes, dtypes)]


def _run_batch(net: Network, x: torch.Tensor, static: bool, ops: dict, biases: dict,
               order: list, rests: dict, dtypes: dict, memory: _Memory):
    batch, total = x.shape[0], net.time_steps
    spikes, states = {}, {}  # spikes: (T, batch, size) uint8
    sent = {} if static else {
        INPUT: _Sent(x.transpose(0, 1).reshape(total * batch, net.input_size))}
    for members in order:
        inside = {g.name for g in members}
        start = 0
        if all(rests[g.name] for g in members):  # skip the steps before the first input
            start = min(_first_arrival(net, g, inside, ops, sent, static, batch)
                        for g in members)
        room = memory.currents([(total - start, batch, g.size) for g in members],
                               [dtypes[g.name] for g in members])
        a = {g.name: _currents(net, g, inside, ops, x, static, sent, start, r)
             for g, r in zip(members, room)}
        inner = [s for s in net.synapses if s.target in inside and s.source in inside]
        mine = {g.name: torch.zeros(total, batch, g.size, dtype=torch.uint8, device=x.device)
                for g in members}
        states.update(_scan(members, inner, ops, biases, a, start, mine))
        spikes.update(mine)
        for g in members:
            sent[g.name] = _Sent(spikes[g.name].view(total * batch, g.size))
    to_np = lambda t: t.cpu().numpy().astype(np.int64)
    return ({k: v.transpose(0, 1).cpu().numpy() for k, v in spikes.items()},
            {g.name: {k: to_np(states[g.name][k]) for k in state_names(g)} for g in net.neurons})
