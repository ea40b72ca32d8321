"""Lower a :class:`~snn_export.model_graph.ModelGraph` to the integer
:class:`~snn_export.graph.Network`, spike-only.

Passes, applied per spiking node in graph order:

- neurons (``lif``, ``alif``, ``li``): each input chain folds into one synapse group (a
  recurrent lif's own weights into a Dense from the group to itself)
  (:func:`snn_export.folding.fold`: batch norm, average pooling, input scaling), and the group
  is quantized with :func:`snn_export.fixed_point.quantize_group`, the rule
  quantization-aware training uses;
- joins (``or``, ``and``, ``andnot``) become gate neurons (:func:`gate`): memoryless integer
  LIF neurons fed by unit synapses (weight +-2, the smallest even register value), one step
  of latency like every hop; a mask that broadcasts is expanded by a Sparse;
- ``maxpool`` of spikes becomes a sum-pool (depthwise Conv of ones, with the pooling's
  zero padding) into an OR gate neuron;
- ``const`` becomes a memoryless group without synapses whose bias alone makes it spike at
  every step (:func:`const`);
- an ``add`` of spikes (SEW's ADD join, deployed only where the user allows
  ``spike-only/graded-join``) is distributed into its consumers: every synapse group that
  reads it is emitted once per spike term (``W @ (a + b) = W @ a + W @ b``), so the chip
  still carries binary spikes only, at the cost of one copy of those synapses per term;
- delays: a chain's ``delay`` nodes add their steps to its synapses' delay, which carry
  them like an alignment delay (below);
- delay alignment: a shallower branch into a node is delayed to meet the deeper ones. Dense
  and Sparse synapse groups (every gate input, every mask, every shortcut into a join, every
  Dense layer) carry the delay themselves (Lava's ``DelayDense`` / ``DelaySparse``, up to
  :data:`~snn_export.graph.MAX_DELAY` steps; a gate input is a ``Sparse`` when delayed).
  A Conv has no per-synapse delays: a delayed source it reads (and any excess beyond
  ``MAX_DELAY``) goes through a chain of relay neurons (:meth:`_Lowering.relay`: identity
  synapse, OR gate of one input), one per step, shared by all nodes that need the same
  source delayed by the same amount;
- biases (folded batch norm, linear and conv biases): a layer group has no Loihi bias (it
  would act from step 1, before the input arrives); its bias is a synapse group from the
  always-on group ``bias_source`` (one neuron, shape (1, 1, 1), spiking at every step), with
  the bias's own exponent (:func:`snn_export.fixed_point.quantize_bias`) and a delay that
  makes it start at step ``depth + 1``, when the group's first input arrives (delays beyond
  :data:`~snn_export.graph.MAX_DELAY` go through always-on relays of ``bias_source``,
  ``bias_source_delay<d>``, every ``MAX_DELAY + 1`` steps).

Timing: the trained model runs the standard timing (a node's spikes at step ``t`` from its
inputs at step ``t``); on the chip each hop takes a step. Every group emits the trained
node's spikes delayed by its depth ``L`` (:func:`~snn_export.model_graph.latencies`): its
state stays at rest until step ``L`` (nothing reaches it earlier: no bias, no spikes) and
every term of its input, bias included, starts at step ``L + 1``. The network runs the
trained step count plus the readout's depth; the readout's spike count over the run is its
count over its window (steps ``L + 1 .. L + T``). Why this is exact: the project's timing
note.

Neuron groups keep their node's name; relays are ``<source>_delay<d>``; the synapse groups
into a group are ``<group>.<input node>`` (``<group>.<input node>.<k>_<term>`` for the terms
of an add) and ``<group>.bias``.

Every group records its :class:`~snn_export.graph.Role`: ``layer`` (lif, alif),
``integrator`` (li: a LIF at the largest threshold whose voltage is read), ``gate``
with its logic (joins, max-pooling), ``relay`` with its source and delay, ``always_on``
(const, ``bias_source``); the second input of an AND or AND NOT gate (behind its relays) is
marked ``mask``.
"""
from __future__ import annotations

import dataclasses

import numpy as np
import torch

from snn_export import fixed_point as fp
from snn_export.errors import SnnExportError
from snn_export.folding import fold
from snn_export.gates import GATES
from snn_export.graph import INPUT, MAX_DELAY, Conv, Dense, Network, Neurons, Role, Sparse
from snn_export.model_graph import (GRADED, JOINS, SYNAPTIC, ModelGraph, alignment_delays,
                                    check_time_steps, latencies, op_entry, pair,
                                    refuse_graded, require_spike_inputs, shapes, spike_terms)

UNIT = fp.WEIGHT_STEP  # integer weight of one spike into a gate neuron
BIAS_SOURCE = "bias_source"  # the always-on group that carries the biases
BIAS_SHAPE = (1, 1, 1)  # one neuron, as a map: NIR writes its synapses into maps as Conv2d
# Gate thresholds in synaptic units (a neuron spikes when its input exceeds vth):
GATE_VTH = {op: g.vth for op, g in GATES.items()}
BLOCK = 1 << 16  # weights quantized at a time: their float64 temporaries stay in cache
NEURON_ROLES = {"lif": "layer", "alif": "layer", "li": "integrator"}  # op -> Role kind


def gate(name: str, shape: tuple, op: str, role: Role | None = None) -> Neurons:
    """A memoryless integer neuron group: ``u`` and ``v`` forget everything every step
    (``du = 4095``, ``dv = 4096``), so it spikes iff this step's input exceeds ``vth``.
    role: the group's role (default: a gate of logic ``op``)."""
    params = fp.LIFParams(vth=GATE_VTH[op], du=fp.DECAY_UNITY - 1, dv=fp.DECAY_UNITY)
    return Neurons(name, tuple(shape), params, np.zeros(int(np.prod(shape)), dtype=np.int64),
                   role=role or Role("gate", logic=op))


def const(name: str, shape: tuple) -> Neurons:
    """A group that spikes at every step from step 1: a relay gate whose bias, the input of
    one spike (:data:`UNIT`), stands in for an input."""
    bias = np.full(int(np.prod(shape)), UNIT, dtype=np.int64)
    role = Role("always_on")
    return Neurons(name, tuple(shape), gate(name, shape, "relay", role).params, bias, role=role)


def identity(name: str, source: str, target: str, src_shape: tuple, dst_shape: tuple,
             weight: int, delay: int = 0):
    """One-to-one synapses of integer ``weight`` and ``delay`` steps, broadcasting the source
    to the target's shape: a depthwise 1x1 Conv when the shapes are equal (C, H, W) and
    there is no delay, else a Sparse with one synapse per target neuron."""
    if src_shape == dst_shape and len(dst_shape) == 3 and not delay:
        c = dst_shape[0]
        return Conv(name, source, target, np.full((c, 1, 1, 1), weight, dtype=np.int64),
                    groups=c)
    n_src, n_dst = int(np.prod(src_shape)), int(np.prod(dst_shape))
    cols = torch.arange(n_src).reshape(src_shape).expand(dst_shape).flatten().numpy()
    return Sparse(name, source, target, np.arange(n_dst), cols,
                  np.full(n_dst, weight, dtype=np.int64), (n_dst, n_src),
                  delays=np.full(n_dst, delay) if delay else None)


def distinct(w: torch.Tensor) -> torch.Tensor:
    """``w`` with its broadcast dimensions (stride 0, as
    :func:`~snn_export.folding.fold_avgpool_into_conv` leaves a global pool's window) cut
    to size 1: each distinct weight once (a view)."""
    return w.detach()[tuple(slice(None) if step else slice(1) for step in w.stride())]


def integer_weights(w: torch.Tensor, exp: int) -> torch.Tensor:
    """:func:`snn_export.fixed_point.quantize_weight` of float weights ``w`` as int64,
    :data:`BLOCK` weights at a time."""
    flat = w.detach().reshape(-1)
    q = torch.empty(flat.shape, dtype=torch.int64)
    for i in range(0, flat.numel(), BLOCK):
        q[i:i + BLOCK] = fp.quantize_weight(flat[i:i + BLOCK], exp)
    return q.reshape(w.shape)


class _Lowering:
    def __init__(self, graph: ModelGraph, tensors: dict):
        self.graph, self.tensors = graph, tensors
        self.shapes = shapes(graph)
        self.depth = latencies(graph)
        self.delays = alignment_delays(graph, self.depth)
        self.neurons: list[Neurons] = []
        self.synapses: list = []

    def relay(self, source: str, delay: int, reader: str) -> str:
        """``source`` delayed by ``delay`` steps for the group ``reader`` (through relay
        neurons: spikes only, so the graph input only where its levels are 1-bit)."""
        if delay == 0:
            return source
        if source == INPUT and self.graph.input_bits > 1:
            raise SnnExportError(f"node {reader!r}: reads the graph input ({self.graph.input_bits}"
                                 f"-bit levels) {delay} steps late (a path shorter than "
                                 "another, or a delay node); a Conv carries no delay and relay "
                                 "neurons carry only spikes: give that path a spiking layer, or "
                                 "present binary input (input bits 1)")
        names = {n.name for n in self.neurons}
        prev, shape = source, self.shapes[source]
        for d in range(1, delay + 1):
            name = f"{source}_delay{d}"
            if name not in names:
                self.neurons.append(gate(name, shape, "relay", Role("relay", source=source,
                                                                    delay=d)))
                self.synapses.append(identity(f"{name}.{prev}", prev, name, shape, shape,
                                              UNIT))
            prev = name
        return prev

    def always_on(self, depth: int) -> str:
        """The always-on group whose spikes start at step ``depth + 1`` (``depth`` a multiple
        of ``MAX_DELAY + 1``): :data:`BIAS_SOURCE`, or a relay of it."""
        if depth == 0:
            if BIAS_SOURCE in self.shapes:
                raise SnnExportError(f"node {BIAS_SOURCE!r}: the name is reserved for the "
                                     "always-on group that carries the biases; rename the node")
            if not any(n.name == BIAS_SOURCE for n in self.neurons):
                self.neurons.append(const(BIAS_SOURCE, BIAS_SHAPE))
            return BIAS_SOURCE
        name = f"{BIAS_SOURCE}_delay{depth}"
        if not any(n.name == name for n in self.neurons):
            prev = self.always_on(depth - MAX_DELAY - 1)
            self.neurons.append(gate(name, BIAS_SHAPE, "relay", Role("relay", source=BIAS_SOURCE,
                                                                 delay=depth)))
            self.synapses.append(Dense(f"{name}.{prev}", prev, name,
                                       np.array([[UNIT]]), delays=np.array([[MAX_DELAY]])))
        return name

    def bias(self, node, bias: torch.Tensor, bias_exp: int) -> None:
        """The synapses that carry ``node``'s bias (units of ``a``, one per neuron) from step
        ``depth + 1`` on; none for a zero bias."""
        bias = bias.detach().numpy().astype(np.int64)
        if not bias.any():
            return
        late = self.depth[node.name] - 1  # the spike of step 1 must arrive at depth + 1
        src = self.always_on(late - late % (MAX_DELAY + 1))
        delay = late % (MAX_DELAY + 1)
        weight = (bias >> bias_exp)[:, None]  # 2 * int8 mantissas
        self.synapses.append(Dense(f"{node.name}.bias", src, node.name, weight, bias_exp,
                                   sign_mode="mixed",
                                   delays=np.full(weight.shape, delay) if delay else None))

    def source(self, node, src: str, conv: bool, late: int = 0) -> tuple[str, int]:
        """The group ``node``'s synapses from ``src`` read and the delay they carry: a Dense or
        Sparse carries up to ``MAX_DELAY`` steps of the alignment delay plus the chain's own
        ``late`` steps (its ``delay`` nodes), a Conv none (relays carry the rest)."""
        delay = self.delays[node.name][src] + late
        carried = 0 if conv else min(delay, MAX_DELAY)
        return self.relay(src, delay - carried, node.name), carried

    def neuron_group(self, node) -> None:
        syns = [fold(self.graph, e, self.tensors, self.shapes) for e in node.inputs]
        recurrent = [self.tensors[f"{node.name}.weight"]] if node.get("recurrent") else []
        if not all(torch.isfinite(t).all() for t in
                   [*recurrent, *(t for s in syns for t in (s.weight, s.bias))]):
            raise SnnExportError(f"node {node.name!r}: its weights or bias overflow float64 "
                                 "once input scale, batch norm, pooling and gains are folded "
                                 "in; bring the parameters into a usable range")
        q = fp.quantize_group([distinct(s.weight) for s in syns] + recurrent,
                              sum(s.bias.detach().double() for s in syns),
                              {"op": node.op, **node.attrs}, integer_weights)
        if recurrent:  # its own spikes, a step later (a Dense from the group to itself)
            self.synapses.append(Dense(f"{node.name}.{node.name}", node.name, node.name,
                                       q.weights[-1].numpy(), float_exp=q.exp))
        shape = self.shapes[node.name]
        size = int(np.prod(shape))
        self.neurons.append(Neurons(node.name, shape, q.neuron, np.zeros(size, dtype=np.int64),
                                    role=Role(NEURON_ROLES[node.op])))
        self.bias(node, q.bias.reshape(-1, *[1] * (len(shape) - 1)).expand(shape).flatten(),
                  q.bias_exp)
        for e, s, w in zip(node.inputs, syns, q.weights):
            w = w.expand(s.weight.shape).contiguous().numpy()  # broadcast dimensions in full
            terms = spike_terms(self.graph, s.source)
            named = [(f"{node.name}.{e}", s.source)] if terms is None else \
                [(f"{node.name}.{e}.{k}_{t}", t) for k, t in enumerate(terms)]
            for name, term in named:
                src, delay = self.source(node, term, conv=s.kind == "conv", late=s.delay)
                if s.kind == "conv":
                    g = s.geometry
                    self.synapses.append(Conv(name, src, node.name, w, g["stride"],
                                              g["padding"], g["dilation"], g["groups"],
                                              float_exp=q.exp))
                else:
                    self.synapses.append(Dense(name, src, node.name, w, float_exp=q.exp,
                                               delays=np.full(w.shape, delay) if delay
                                               else None))

    def gate_group(self, node) -> tuple:
        """The gate neuron group of a join or maxpool (its synapses: :meth:`join_synapses`,
        :meth:`pool_synapses`); returns its shape."""
        require_spike_inputs(self.graph, node)
        shape = self.shapes[node.name]
        self.neurons.append(gate(node.name, shape, node.op))
        return shape

    def join_synapses(self, node) -> None:
        shape = self.gate_group(node)
        weights = op_entry(GATES, node, "lowering (gates)").weights
        for k, (src, weight) in enumerate(zip(node.inputs, weights, strict=True)):
            group, delay = self.source(node, src, conv=False)
            self.synapses.append(identity(f"{node.name}.in{k}", group, node.name,
                                          self.shapes[src], shape, weight, delay))
        if node.op in ("and", "andnot") and node.inputs[1] != INPUT:
            mask = next(n for n in self.neurons if n.name == node.inputs[1])
            mask.role = dataclasses.replace(mask.role, mask=True)

    def pool_synapses(self, node) -> None:
        shape = self.gate_group(node)
        (weight,) = op_entry(GATES, node, "lowering (gates)").weights
        src = node.inputs[0]
        c = shape[0]
        kh, kw = pair(node.get("kernel"))
        self.synapses.append(Conv(f"{node.name}.{src}", self.source(node, src, conv=True)[0],
                                  node.name,
                                  np.full((c, 1, kh, kw), weight, dtype=np.int64),
                                  stride=pair(node.get("stride", node.get("kernel"))),
                                  padding=pair(node.get("padding", 0)), groups=c))

    def const_group(self, node) -> None:
        self.neurons.append(const(node.name, self.shapes[node.name]))

    def folded(self, node) -> None:
        """A synaptic node: folded into the synapses of the neurons that read it."""

    def graded(self, node) -> None:
        """A graded node: refused, except an add of spikes, which is distributed into its
        consumers' synapses (one copy per term, :meth:`neuron_group`)."""
        refuse_graded(self.graph, node, " and cannot be deployed spike-only; run "
                      "`snn-export --check`")


# op -> (lowering, node) -> None: appends the node's neuron and synapse groups
_LOWER = {**{op: _Lowering.neuron_group for op in ("lif", "alif", "li")},
          **{op: _Lowering.join_synapses for op in JOINS},
          "maxpool": _Lowering.pool_synapses, "const": _Lowering.const_group,
          **{op: _Lowering.folded for op in SYNAPTIC},
          **{op: _Lowering.graded for op in GRADED}}


def lower_graph(graph: ModelGraph, tensors: dict, time_steps: int,
                metadata: dict | None = None) -> Network:
    """The deployable network. tensors: ``"<node>.weight"`` etc. (float; see
    :func:`snn_export.folding.fold`). time_steps: the trained step count T; the network runs
    T plus the readout's depth (its ``time_steps``; T is its ``window``). Raises
    :class:`SnnExportError` for a graph with graded nodes other than adds of spikes, and for
    weights or biases that overflow float64 once folded; whether graded adds are acceptable
    is the compliance check's decision (:mod:`snn_export.deploy.compliance`, rule
    ``spike-only/graded-join``), made before lowering."""
    check_time_steps(graph, time_steps)
    low = _Lowering(graph, tensors)
    for node in graph.nodes:
        op_entry(_LOWER, node, "lowering")(low, node)
    depths = {n.name: low.depth[n.name] for n in low.neurons if n.name in low.depth} \
        if any(n.op == "delay" for n in graph.nodes) else {}  # (see Network.depths)
    net = Network(tuple(graph.input_shape), graph.input_bits,
                  time_steps + low.depth[graph.readout], low.neurons, low.synapses,
                  {**(metadata or {}), "readout": graph.readout,
                   **({"depths": depths} if depths else {})})
    net.validate()
    return net

