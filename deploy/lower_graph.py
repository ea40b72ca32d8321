"""Lower a :class:`~snn_export.model_graph.ModelGraph` to the integer
:class:`~snn_export.graph.Network`, spike-only.

Passes, applied per spiking node in graph order:

- neurons (``lif``, ``alif``): each input chain folds into one synapse group
  (:func:`snn_export.folding.fold`: batch norm, average pooling, input scaling), and the group
  is quantized with :func:`snn_export.fixed_point.quantize_group`, the rule
  quantization-aware training uses;
- joins (``or``, ``and``, ``andnot``) become gate neurons (:func:`gate`): memoryless integer
  LIF neurons fed by unit synapses (weight +-2, the smallest even register value), one step
  of latency like every hop; a mask that broadcasts is expanded by a Sparse;
- ``maxpool`` of spikes becomes a sum-pool (depthwise Conv of ones) into an OR gate neuron;
- ``const`` becomes a memoryless group without synapses whose bias alone makes it spike at
  every step (:func:`const`);
- an ``add`` of spikes (SEW's ADD join, deployed only where the user allows
  ``spike-only/graded-join``) is distributed into its consumers: every synapse group that
  reads it is emitted once per spike term (``W @ (a + b) = W @ a + W @ b``), so the chip
  still carries binary spikes only, at the cost of one copy of those synapses per term;
- delay alignment (:func:`relay`): a shallower branch into a node is delayed by a chain of
  relay neurons (identity synapse, OR gate of one input), one per step, shared by all
  nodes that need the same source delayed by the same amount.

Neuron groups keep their node's name; relays are ``<source>_delay<d>``; the synapse groups
into a group are ``<group>.<input node>`` (``<group>.<input node>.<k>_<term>`` for the terms
of an add).
"""
from __future__ import annotations

import re

import numpy as np
import torch

from snn_export import fixed_point as fp
from snn_export.errors import SnnExportError
from snn_export.folding import fold
from snn_export.gates import GATES
from snn_export.graph import INPUT, Conv, Dense, Network, Neurons, Sparse
from snn_export.model_graph import (GRADED, JOINS, SYNAPTIC, ModelGraph, alignment_delays,
                                    check_time_steps, op_entry, pair, shapes, spike_terms)

UNIT = fp.WEIGHT_STEP  # integer weight of one spike into a gate neuron
# Gate thresholds in synaptic units (a neuron spikes when its input exceeds vth):
GATE_VTH = {op: g.vth for op, g in GATES.items()}


def gate(name: str, shape: tuple, op: str) -> Neurons:
    """A memoryless integer neuron group: ``u`` and ``v`` forget everything every step
    (``du = 4095``, ``dv = 4096``), so it spikes iff this step's input exceeds ``vth``."""
    params = fp.LIFParams(vth=GATE_VTH[op], du=fp.DECAY_UNITY - 1, dv=fp.DECAY_UNITY)
    return Neurons(name, tuple(shape), params, np.zeros(int(np.prod(shape)), dtype=np.int64))


def const(name: str, shape: tuple) -> Neurons:
    """A group that spikes at every step from step 1: a relay gate whose bias, the input of
    one spike (:data:`UNIT`), stands in for an input."""
    bias = np.full(int(np.prod(shape)), UNIT, dtype=np.int64)
    return Neurons(name, tuple(shape), gate(name, shape, "relay").params, bias)


def identity(name: str, source: str, target: str, src_shape: tuple, dst_shape: tuple,
             weight: int):
    """One-to-one synapses of integer ``weight``, broadcasting the source to the target's
    shape: a depthwise 1x1 Conv when the shapes are equal (C, H, W), else a Sparse with one
    synapse per target neuron."""
    if src_shape == dst_shape and len(dst_shape) == 3:
        c = dst_shape[0]
        return Conv(name, source, target, np.full((c, 1, 1, 1), weight, dtype=np.int64),
                    groups=c)
    n_src, n_dst = int(np.prod(src_shape)), int(np.prod(dst_shape))
    cols = torch.arange(n_src).reshape(src_shape).expand(dst_shape).flatten().numpy()
    return Sparse(name, source, target, np.arange(n_dst), cols,
                  np.full(n_dst, weight, dtype=np.int64), (n_dst, n_src))


class _Lowering:
    def __init__(self, graph: ModelGraph, tensors: dict):
        self.graph, self.tensors = graph, tensors
        self.shapes = shapes(graph)
        self.delays = alignment_delays(graph)
        self.neurons: list[Neurons] = []
        self.synapses: list = []

    def relay(self, source: str, delay: int) -> str:
        """``source`` delayed by ``delay`` steps (through relay neurons)."""
        if delay == 0:
            return source
        if source == INPUT:
            raise SnnExportError("the graph input (graded levels) reaches a node through a "
                                 f"path {delay} steps shorter than another; relay neurons carry "
                                 "only spikes: give the shorter path a spiking layer")
        name = f"{source}_delay{delay}"
        if not any(n.name == name for n in self.neurons):
            prev = self.relay(source, delay - 1)
            shape = self.shapes[source]
            self.neurons.append(gate(name, shape, "relay"))
            self.synapses.append(identity(f"{name}.{prev}", prev, name, shape, shape, UNIT))
        return name

    def source(self, node, src: str) -> str:
        return self.relay(src, self.delays[node.name][src])

    def neuron_group(self, node) -> None:
        syns = [fold(self.graph, e, self.tensors, self.shapes) for e in node.inputs]
        q = fp.quantize_group([s.weight.detach().double() for s in syns],
                              sum(s.bias.detach().double() for s in syns),
                              {"op": node.op, **node.attrs})
        shape = self.shapes[node.name]
        bias = q.bias.reshape(-1, *[1] * (len(shape) - 1)).expand(shape).flatten()
        self.neurons.append(Neurons(node.name, shape, q.neuron, bias.numpy().astype(np.int64)))
        for e, s, w in zip(node.inputs, syns, q.weights):
            w = w.detach().numpy().astype(np.int64)
            terms = spike_terms(self.graph, s.source)
            named = [(f"{node.name}.{e}", s.source)] if terms is None else \
                [(f"{node.name}.{e}.{k}_{t}", t) for k, t in enumerate(terms)]
            for name, term in named:
                src = self.source(node, term)
                if s.kind == "conv":
                    g = s.geometry
                    self.synapses.append(Conv(name, src, node.name, w, g["stride"],
                                              g["padding"], g["dilation"], g["groups"],
                                              float_exp=q.exp))
                else:
                    self.synapses.append(Dense(name, src, node.name, w, float_exp=q.exp))

    def gate_group(self, node) -> tuple:
        """The gate neuron group of a join or maxpool (its synapses: :meth:`join_synapses`,
        :meth:`pool_synapses`); returns its shape."""
        for src in node.inputs:
            if self.graph.kind(src) != "spikes":
                raise SnnExportError(f"node {node.name!r} ({node.op}): input {src!r} is not "
                                     "spikes; joins and max-pooling act on binary spikes")
        shape = self.shapes[node.name]
        self.neurons.append(gate(node.name, shape, node.op))
        return shape

    def join_synapses(self, node) -> None:
        shape = self.gate_group(node)
        weights = op_entry(GATES, node, "lowering (gates)").weights
        for k, (src, weight) in enumerate(zip(node.inputs, weights, strict=True)):
            self.synapses.append(identity(f"{node.name}.in{k}", self.source(node, src),
                                          node.name, self.shapes[src], shape, weight))

    def pool_synapses(self, node) -> None:
        shape = self.gate_group(node)
        (weight,) = op_entry(GATES, node, "lowering (gates)").weights
        src = node.inputs[0]
        c = shape[0]
        kh, kw = pair(node.get("kernel"))
        self.synapses.append(Conv(f"{node.name}.{src}", self.source(node, src), node.name,
                                  np.full((c, 1, kh, kw), weight, dtype=np.int64),
                                  stride=pair(node.get("stride", node.get("kernel"))),
                                  groups=c))

    def const_group(self, node) -> None:
        self.neurons.append(const(node.name, self.shapes[node.name]))

    def folded(self, node) -> None:
        """A synaptic node: folded into the synapses of the neurons that read it."""

    def spike_add(self, node) -> None:
        """An add of spikes is distributed into its consumers' synapses (one copy per
        term, :meth:`neuron_group`); an add of anything else is refused."""
        if spike_terms(self.graph, node.name) is None:
            self.refuse_graded(node)

    def refuse_graded(self, node) -> None:
        raise SnnExportError(f"node {node.name!r} ({node.op}) passes graded values and "
                             "cannot be deployed spike-only; run `snn-export --check`")


# op -> (lowering, node) -> None: appends the node's neuron and synapse groups
_LOWER = {"lif": _Lowering.neuron_group, "alif": _Lowering.neuron_group,
          **{op: _Lowering.join_synapses for op in JOINS},
          "maxpool": _Lowering.pool_synapses, "const": _Lowering.const_group,
          **{op: _Lowering.folded for op in SYNAPTIC},
          **{op: _Lowering.refuse_graded for op in GRADED}, "add": _Lowering.spike_add}


def lower_graph(graph: ModelGraph, tensors: dict, time_steps: int,
                metadata: dict | None = None) -> Network:
    """The deployable network. tensors: ``"<node>.weight"`` etc. (float; see
    :func:`snn_export.folding.fold`). Raises :class:`SnnExportError` for a graph with graded
    nodes other than adds of spikes; whether those are acceptable is the compliance check's
    decision (:mod:`snn_export.deploy.compliance`, rule ``spike-only/graded-join``), made
    before lowering."""
    check_time_steps(graph, time_steps)
    low = _Lowering(graph, tensors)
    for node in graph.nodes:
        op_entry(_LOWER, node, "lowering")(low, node)
    net = Network(tuple(graph.input_shape), graph.input_bits, time_steps, low.neurons,
                  low.synapses, {**(metadata or {}), "readout": graph.readout})
    net.validate()
    return net


def mask_groups(net: Network) -> list[str]:
    """The neuron groups that gate others as binary masks (SynA's and BIASNN's attention
    masks): the second input (``<gate>.in1``) of an AND or AND NOT gate, through relays."""
    and_params = gate("", (1,), "and").params
    found = []
    for s in net.synapses:
        if s.name != f"{s.target}.in1" or s.source == INPUT:
            continue
        if net.group(s.target).params == and_params or np.any(np.asarray(s.weight) < 0):
            source = re.sub(r"_delay\d+$", "", s.source)
            source = source if any(g.name == source for g in net.neurons) else s.source
            if source not in found:
                found.append(source)
    return found
