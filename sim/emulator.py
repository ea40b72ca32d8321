"""Exact integer emulator of a deployed :class:`~snn_export.graph.Network`, batched over samples.

The project's definition of what the deployed network computes. It runs the neuron steps of
:mod:`snn_export.fixed_point` on float64 tensors holding integers, the same code on CPU and
CUDA (torch has no integer matmul on CUDA). Float64 sums of integers are exact below 2**53;
:func:`run` checks that bound for every synapse group before it starts. Convolutions are
computed as unfold + matmul, so no convolution algorithm (FFT, Winograd) can round.

Timing is Lava's (see :mod:`snn_export.graph`): at step ``t`` every synapse group delivers
what it computed at ``t - 1`` (its buffer starts at zero), every neuron group steps, and
then every synapse group reads its source's output of step ``t``.
"""
from __future__ import annotations

from collections import deque

import numpy as np
import torch
import torch.nn.functional as F

from snn_export import fixed_point as fp
from snn_export.graph import INPUT, Conv, Dense, Network, Neurons, Sparse

from .result import SimResult, state_names

EXACT_BOUND = 2.0**53


def check_exact(net: Network) -> None:
    """Raise ``ValueError`` unless every partial sum of every synapse group is an exact
    float64 integer."""
    for syn in net.synapses:
        in_max = float(2**net.input_bits - 1) if syn.source == INPUT else 1.0
        w = syn.weight if isinstance(syn, Conv) else syn.effective_weight()
        bound = float(np.abs(w).max(initial=0)) * in_max * syn.fan_in()
        if not isinstance(syn, Conv):
            bound *= 2.0 ** max(syn.weight_exp, 0)
        if bound >= EXACT_BOUND:
            raise ValueError(f"synapses {syn.name}: accumulations up to {bound:.3g} are not "
                             "exact in float64")


class _DelayOp:
    """Lava's ``Dense`` family: ``(W @ s) << weight_exp`` split into delay slots, output
    (batch, slots, n_out), slot ``k`` holding the synapses of delay ``lag + k`` (one slot
    without delays; the shift applies per slot, as in ``DelayDense`` and ``DelaySparse``).
    A delay shared by every synapse is ``lag`` instead: the op reads its source as it was
    ``lag`` steps earlier (:func:`_run_batch`), which stores ``lag`` source frames rather
    than ``lag`` target frames (a bias synapse: one neuron against a whole layer)."""

    def __init__(self, syn: Dense | Sparse, n_out: int):
        self.exp, self.n_out = syn.weight_exp, n_out
        delays = syn.delays if syn.delays is not None and syn.delays.size else np.zeros(1, int)
        self.lag = int(delays.min())
        self.slot = delays - self.lag  # each synapse's slot
        self.slots = int(self.slot.max()) + 1

    def _split(self, acc: torch.Tensor) -> torch.Tensor:
        """(batch, slots * n_out) sums, slot-major -> shifted (batch, slots, n_out)."""
        return fp.shift_exp(acc, self.exp).view(acc.shape[0], self.slots, self.n_out)


class _DenseOp(_DelayOp):
    """Lava ``Dense`` / ``DelayDense``."""

    def __init__(self, syn: Dense, device):
        w = torch.as_tensor(syn.effective_weight(), dtype=torch.float64, device=device)
        super().__init__(syn, w.shape[0])
        slot = torch.as_tensor(self.slot, device=device)
        # rows k * n_out ... (k + 1) * n_out - 1 hold the synapses of slot k
        self.w_t = torch.cat([torch.where(slot == k, w, 0.0) for k in range(self.slots)]).T

    def __call__(self, inp: torch.Tensor) -> torch.Tensor:
        """(batch, n_in) -> (batch, slots, n_out)."""
        return self._split(inp.flatten(1) @ self.w_t)


class _SparseOp(_DelayOp):
    """Lava ``Sparse`` / ``DelaySparse``: the listed synapses only."""

    def __init__(self, syn: Sparse, device):
        super().__init__(syn, int(syn.shape[0]))
        # synapse k adds into its slot of target rows[k]
        self.index = torch.as_tensor(self.slot * self.n_out + syn.rows, device=device)
        self.cols = torch.as_tensor(syn.cols, device=device)
        self.w = torch.as_tensor(syn.effective_weight(), dtype=torch.float64, device=device)

    def __call__(self, inp: torch.Tensor) -> torch.Tensor:
        """(batch, n_in) -> (batch, slots, n_out)."""
        inp = inp.flatten(1)
        acc = inp.new_zeros(inp.shape[0], self.slots * self.n_out)
        return self._split(acc.index_add_(1, self.index, inp[:, self.cols] * self.w))


class _ConvOp:
    """Lava ``Conv``: integer cross-correlation, wrapped to 24 bits."""

    def __init__(self, syn: Conv, in_shape: tuple, device):
        w = torch.as_tensor(syn.weight, dtype=torch.float64, device=device)
        self.groups = syn.groups
        self.w = w.reshape(syn.groups, w.shape[0] // syn.groups, -1)  # (g, out/g, in/g*kh*kw)
        self.kw = dict(kernel_size=tuple(w.shape[2:]), dilation=tuple(syn.dilation),
                       padding=tuple(syn.padding), stride=tuple(syn.stride))
        self.in_shape = in_shape
        self.slots, self.lag = 1, 0

    def __call__(self, inp: torch.Tensor) -> torch.Tensor:
        batch = inp.shape[0]
        cols = F.unfold(inp.reshape(batch, *self.in_shape), **self.kw)  # (B, C*kh*kw, L)
        cols = cols.view(batch, self.groups, -1, cols.shape[-1])
        out = torch.matmul(self.w, cols)  # (B, g, out/g, L)
        return fp.wrap24(out.reshape(batch, 1, -1))


def _neuron_step(group: Neurons, state: dict, a: torch.Tensor, bias: torch.Tensor, t: int):
    """One step (``t`` 1-based) of a group: updates ``state``, returns its spikes."""
    p = group.params
    if group.kind == "lif":
        if group.reset_interval and t % group.reset_interval == \
                group.reset_offset % group.reset_interval:
            state["u"], state["v"] = state["u"] * 0, state["v"] * 0
        state["u"], state["v"], s = fp.lif_step(state["u"], state["v"], a, bias, p)
    else:
        *new, s = fp.atrlif_step(state["i"], state["v"], state["theta"], state["r"], a, bias, p)
        state.update(zip(("i", "v", "theta", "r"), new))
    return s


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
        raise ValueError(f"input of shape {x.shape}; expected (samples, {', '.join(map(str, shape))}) "
                         f"or (samples, {net.time_steps}, {', '.join(map(str, shape))})")
    top = 2**net.input_bits - 1
    if x.size and (not np.issubdtype(x.dtype, np.integer) or x.min() < 0 or x.max() > top):
        raise ValueError(f"input levels must be integers within 0..{top}")
    x = torch.as_tensor(x.astype(np.float64))
    return x.reshape(len(x), -1) if static else x.reshape(len(x), net.time_steps, -1), static


def run(net: Network, x, device: str | torch.device = "cpu", batch_size: int = 1024) -> SimResult:
    """Run integer input levels ``x`` through ``net``: shape (samples, *input_shape) to
    present the same frame at every step, or (samples, time_steps, *input_shape)."""
    net.validate()
    check_exact(net)
    x, static = _as_input(net, x)
    ops = {}
    for syn in net.synapses:
        if isinstance(syn, Conv):
            ops[syn.name] = _ConvOp(syn, net.shape_of(syn.source), device)
        elif isinstance(syn, Sparse):
            ops[syn.name] = _SparseOp(syn, device)
        else:
            ops[syn.name] = _DenseOp(syn, device)
    biases = {g.name: torch.as_tensor(g.bias, dtype=torch.float64, device=device)
              for g in net.neurons}
    chunks = [_run_batch(net, x[i:i + batch_size].to(device), static, ops, biases)
              for i in range(0, max(len(x), 1), batch_size)]
    spikes = {g.name: np.concatenate([c[0][g.name] for c in chunks]) for g in net.neurons}
    states = {g.name: {k: np.concatenate([c[1][g.name][k] for c in chunks])
                       for k in state_names(g)} for g in net.neurons}
    return SimResult(spikes, states)


def _run_batch(net: Network, x: torch.Tensor, static: bool, ops: dict, biases: dict):
    batch = x.shape[0]
    state = {g.name: fp.initial_state(g.params, x.new_zeros(batch, g.size)) for g in net.neurons}
    buffers = {s.name: x.new_zeros(batch, ops[s.name].slots, net.group(s.target).size)
               for s in net.synapses}
    from_input = [s for s in net.synapses if s.source == INPUT]
    fixed = {s.name: ops[s.name](x) for s in from_input} if static else {}
    spikes = {g.name: [] for g in net.neurons}
    silent = {g.name: x.new_zeros(batch, g.size) for g in net.neurons if not net.incoming(g.name)}
    earlier = {s.name: deque() for s in net.synapses if ops[s.name].lag}  # source frames
    for t in range(1, net.time_steps + 1):
        a = dict(silent)
        for s in net.synapses:
            head = buffers[s.name][:, 0]
            a[s.target] = a[s.target] + head if s.target in a else head
        out = {INPUT: None if static else x[:, t - 1]}
        for g in net.neurons:
            out[g.name] = _neuron_step(g, state[g.name], a[g.name], biases[g.name], t)
            spikes[g.name].append(out[g.name].to(torch.uint8))
        for s in net.synapses:
            op, source = ops[s.name], out[s.source]
            if op.lag:  # the source as it was lag steps ago (silent before step 1)
                earlier[s.name].append(source)
                if len(earlier[s.name]) <= op.lag:
                    buffers[s.name] = torch.zeros_like(buffers[s.name])
                    continue
                source = earlier[s.name].popleft()
            new = fixed[s.name] if s.name in fixed else op(source)
            buf = buffers[s.name]
            if buf.shape[1] > 1:  # delay line: advance one slot
                buf = torch.cat([buf[:, 1:], torch.zeros_like(buf[:, :1])], 1)
                buffers[s.name] = buf + new
            else:
                buffers[s.name] = new
    to_np = lambda t: t.cpu().numpy().astype(np.int64)
    return ({k: torch.stack(v, 1).cpu().numpy() for k, v in spikes.items()},
            {g.name: {k: to_np(state[g.name][k]) for k in state_names(g)} for g in net.neurons})
