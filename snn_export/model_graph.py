"""The trained network as a graph of named operations (float parameters).

This is what the export stage reads out of a ``model.pt`` (architecture ``"graph"``), what
the compliance check inspects and what the deploy stage lowers to the integer
:class:`~snn_export.graph.Network`. Training (:mod:`snn_export.train.graph_model`) runs the
same graph with the same timing.

Operations (``Node.op``), by what they emit:

- spikes:
  ``lif`` (inputs: one or more synaptic nodes, summed; attrs ``tau_mem``, ``tau_syn``
  (steps, ``None``: no current memory), ``threshold`` (float), ``recurrent`` (bool, default
  false: if true, its own spikes of step ``t - 1`` reach it at step ``t`` through all-to-all
  weights ``"<node>.weight"`` (neurons, neurons) on the flattened group, snnTorch's
  ``RLeaky``; flat (n,) groups only; deployed as a Dense from the group to itself));
  ``alif`` (adaptive
  threshold, Lava's ATRLIF: also ``theta_step`` (float threshold increase per spike),
  ``tau_theta`` and ``tau_r`` (steps)); the binary joins ``or``, ``and``, ``andnot``
  (``a AND NOT b``; SEW's IAND ``(1 - x) * y`` is ``andnot(y, x)``), whose second input may
  broadcast to the first (an attention mask); ``maxpool`` (``kernel``, ``stride``, default the
  kernel; ``padding``, default 0, at most half the kernel: padded taps are silent) of spikes;
  ``const`` (no inputs; ``shape``): fires at every step, like the input presented at every
  step (depth 0). A synapse from it is a bias that drives the neuron's synaptic current
  (NIR imports use it).
- a voltage: ``li`` (inputs and attrs as ``lif``'s but no threshold): a leaky integrator
  that never spikes (norse's ``LICell``, NIR's ``LI`` and ``CubaLI``); its output is its
  membrane voltage. Only the readout may be one, and nothing reads it: the class is the
  largest voltage after the last step (:mod:`snn_export.readout`).
- synaptic values (linear in their input, no latency of their own): ``conv``
  (``out_channels``, ``kernel``, ``stride``, ``padding``, ``dilation``, ``groups``,
  ``bias``), ``linear`` (``out_features``, ``bias``), ``batchnorm`` (``eps``) after a conv or
  linear, ``avgpool`` (``kernel``, stride = kernel) and ``flatten`` in front of one;
  ``delay`` (``steps``): the chain's input (in front of it) or output (at its end) is that
  many steps late: the neuron reads the source's spikes of step ``t - steps`` (zeros
  before), NIR's ``Delay``; on the chip it adds to the synapses' delay.
- graded values that no spiking chip carries (described so that the compliance check can
  name them): ``add``, ``mul``, ``sigmoid``, ``relu``, ``minmax`` (per channel, within
  each step: ``(x - min) / (max - min)`` over height and width, BIASNN's normalisation),
  ``invert`` (``1 - x``), ``time_mean`` (the mean over all time steps, not causal),
  ``time_linear`` (``steps``: a learned linear map over the time axis, ``out[t] =
  sum_s W[t, s] x[s] + b[t]`` for every feature, SynA-T's temporal attention; not causal),
  ``attention`` (inputs q, k, v of one (C, H, W) shape, tokens the H*W positions:
  ``(q k^T) v / (H W)`` within each step, spike-driven self-attention without softmax).
  One of them is deployable when the user allows it: an ``add`` of spikes (SEW's ADD
  join), whose spike counts feed only synaptic nodes, is linear in its spike terms
  (:func:`spike_terms`), so each consumer synapse runs once per term.

The graph input (node name :data:`INPUT`) is the encoding layer: unsigned integer levels of
``input_bits`` bits, level ``x`` meaning the float ``x * input_scale``, presented at every step.

Timing: the standard one of PyTorch SNN libraries: a spiking node's output at step ``t``
depends on its sources' spikes at step ``t`` (and its own state). On the chip every synaptic
hop takes a step: :func:`latencies` gives each spiking node's depth there, and where the
branches into a node have different depths the shallower ones are delayed to match
(:func:`alignment_delays`), so that each deployed group emits the trained node's spikes
delayed by its depth (:mod:`snn_export.deploy.lower_graph`).
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from .errors import SnnExportError
from .graph import INPUT, conv_output_size

SPIKING = ("lif", "alif", "or", "and", "andnot", "maxpool", "const")
VOLTAGE = ("li",)  # neurons whose output is their voltage (readouts only)
GROUPS = SPIKING + VOLTAGE  # ops deployed as neuron groups: each has a depth on the chip
JOINS = ("or", "and", "andnot")
SYNAPTIC = ("conv", "linear", "batchnorm", "avgpool", "flatten", "delay")
GRADED = ("add", "mul", "sigmoid", "relu", "minmax", "invert", "time_mean", "time_linear",
          "attention")
OPS = GROUPS + SYNAPTIC + GRADED
PASS_THROUGH = ("batchnorm", "avgpool", "flatten", "delay")  # synaptic: they pass values on
ARITY = {"const": 0, "or": 2, "and": 2, "andnot": 2, "maxpool": 1, "conv": 1, "linear": 1,
         "delay": 1,
         "batchnorm": 1, "avgpool": 1, "flatten": 1, "add": 2, "mul": 2, "sigmoid": 1, "relu": 1,
         "minmax": 1, "invert": 1, "time_mean": 1, "time_linear": 1,
         "attention": 3}  # lif and alif: one or more
REQUIRED = {"lif": ("tau_mem", "threshold"), "li": ("tau_mem",),
            "alif": ("tau_mem", "threshold", "theta_step", "tau_theta", "tau_r"),
            "conv": ("out_channels", "kernel"), "linear": ("out_features",),
            "maxpool": ("kernel",), "avgpool": ("kernel",), "time_linear": ("steps",),
            "delay": ("steps",),
            "const": ("shape",)}
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def _int(low: int, high: float = math.inf):
    return lambda v: isinstance(v, int) and not isinstance(v, bool) and low <= v <= high


def _real(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _sizes(low: int):
    """An int, or a (height, width) pair of them, each at least ``low``."""
    ok = _int(low, 2**16)
    return lambda v: ok(v) or (isinstance(v, (list, tuple)) and len(v) == 2 and all(map(ok, v)))


TAU_MIN = 1.0  # steps: a decay of 1/tau per step may not take away more than everything


def valid_tau(v) -> bool:
    """A time constant in steps: :data:`TAU_MIN` or more, ``inf`` for no decay."""
    return isinstance(v, (int, float)) and not isinstance(v, bool) and v >= TAU_MIN


_TAU = f"a time constant of {TAU_MIN:g} step or more (inf: no decay)"
# attribute -> (test, what is valid), for every node that has it: checked before any use
ATTRS = {
    "tau_mem": (valid_tau, _TAU),
    "tau_syn": (lambda v: v is None or valid_tau(v), _TAU + ", or null (no current memory)"),
    "tau_theta": (valid_tau, _TAU),
    "tau_r": (valid_tau, _TAU),
    "threshold": (lambda v: _real(v) and v > 0, "a finite threshold above 0"),
    "theta_step": (lambda v: _real(v) and v >= 0, "a finite increase of 0 or more"),
    "out_channels": (_int(1, 2**20), "1 or more channels"),
    "out_features": (_int(1, 2**24), "1 or more features"),
    "kernel": (_sizes(1), "1 to 65536, or a pair of them"),
    "stride": (_sizes(1), "1 to 65536, or a pair of them"),
    "padding": (_sizes(0), "0 to 65536, or a pair of them"),
    "dilation": (_sizes(1), "1 to 65536, or a pair of them"),
    "groups": (_int(1, 2**20), "1 or more"),
    "bias": (lambda v: isinstance(v, bool), "true or false"),
    "recurrent": (lambda v: isinstance(v, bool), "true or false"),
    "eps": (lambda v: _real(v) and v > 0, "a finite epsilon above 0"),
    "steps": (_int(1), "1 or more"),
}


@dataclass
class Node:
    """One operation. inputs: names of earlier nodes (or :data:`INPUT`); attrs: the
    operation's plain-data settings (see the module docstring)."""

    name: str
    op: str
    inputs: tuple
    attrs: dict = field(default_factory=dict)

    def get(self, key, default=None):
        return self.attrs.get(key, default)


@dataclass
class ModelGraph:
    """input_shape: ``(n,)`` or ``(C, H, W)``; nodes in topological order; readout: the
    spiking node whose spike counts are the output, or the ``li`` node whose voltage is
    (default: the last node)."""

    input_shape: tuple
    input_bits: int
    input_scale: float
    nodes: list[Node]
    readout: str = ""

    def __post_init__(self):
        self.readout = self.readout or (self.nodes[-1].name if self.nodes else "")
        self._by_name = {n.name: n for n in self.nodes}

    def node(self, name: str) -> Node:
        return self._by_name[name]

    def consumers(self, name: str) -> list[Node]:
        return [n for n in self.nodes if name in n.inputs]

    def kind(self, name: str) -> str:
        """``"input"``, ``"spikes"``, ``"voltage"``, ``"synaptic"`` or ``"graded"``."""
        if name == INPUT:
            return "input"
        op = self.node(name).op
        return "spikes" if op in SPIKING else "voltage" if op in VOLTAGE else \
            "synaptic" if op in SYNAPTIC else "graded"

    def to_dict(self) -> dict:
        """The checkpoint's ``architecture`` field (plain data)."""
        return {"name": "graph", "input": {"shape": list(self.input_shape),
                                           "bits": self.input_bits, "scale": self.input_scale},
                "nodes": [{"name": n.name, "op": n.op, "inputs": list(n.inputs), **n.attrs}
                          for n in self.nodes],
                "readout": self.readout}

    @classmethod
    def from_dict(cls, data: dict, where: str = "architecture") -> "ModelGraph":
        """Parse and validate; errors name ``where`` and the node and field at fault."""
        def fail(msg):
            raise SnnExportError(f"{where}: {msg}")
        if not isinstance(data, dict) or not isinstance(data.get("nodes"), list):
            fail("expected {'name': 'graph', 'input': {...}, 'nodes': [...]}")
        inp = data.get("input")
        if not isinstance(inp, dict) or not {"shape", "bits", "scale"} <= set(inp):
            fail("field 'input' needs 'shape', 'bits' and 'scale'")
        nodes = []
        for k, raw in enumerate(data["nodes"]):
            if not isinstance(raw, dict) or not {"name", "op", "inputs"} <= set(raw):
                fail(f"nodes[{k}] needs 'name', 'op' and 'inputs'")
            attrs = {key: v for key, v in raw.items() if key not in ("name", "op", "inputs")}
            nodes.append(Node(str(raw["name"]), str(raw["op"]), tuple(raw["inputs"]), attrs))
        shape, bits, scale = inp["shape"], inp["bits"], inp["scale"]
        if not (isinstance(shape, (list, tuple)) and all(_int(1, 2**24)(n) for n in shape)):
            fail(f"input.shape {shape!r}: (n,) or (C, H, W) of positive integers")
        if not _int(1, 8)(bits):
            fail(f"input.bits {bits!r}: 1 to 8 bits per input level")
        if not (_real(scale) and scale > 0):
            fail(f"input.scale {scale!r}: a finite scale above 0")
        graph = cls(tuple(shape), bits, float(scale), nodes, str(data.get("readout") or ""))
        graph.validate(where)
        return graph

    def validate(self, where: str = "graph") -> None:
        """Structure and shapes; raises :class:`SnnExportError` naming the node."""
        shapes(self, where)


def _fail(where: str, node: Node, msg: str):
    raise SnnExportError(f"{where}: node {node.name!r} ({node.op}): {msg}")


def pair(v) -> tuple:
    return (int(v), int(v)) if isinstance(v, (int, float)) else tuple(int(x) for x in v)


def conv_geometry(node: Node) -> dict:
    """Kernel, stride, padding, dilation as (height, width) pairs, and groups."""
    return {"kernel": pair(node.get("kernel")), "stride": pair(node.get("stride", 1)),
            "padding": pair(node.get("padding", 0)), "dilation": pair(node.get("dilation", 1)),
            "groups": int(node.get("groups", 1))}


def broadcasts(mask: tuple, to: tuple) -> bool:
    """True if a mask of shape ``mask`` broadcasts to ``to`` (PyTorch rules, same rank)."""
    return len(mask) == len(to) and all(m in (1, t) for m, t in zip(mask, to))


def shapes(graph: ModelGraph, where: str = "graph") -> dict[str, tuple]:
    """Every node's output shape (one frame, no batch or time axis); validates on the way."""
    if len(graph.input_shape) not in (1, 3) or min(graph.input_shape, default=0) < 1:
        raise SnnExportError(f"{where}: input shape {graph.input_shape} is not (n,) or (C, H, W)")
    if not _int(1, 8)(graph.input_bits) or not (_real(graph.input_scale)
                                                and graph.input_scale > 0):
        raise SnnExportError(f"{where}: input bits {graph.input_bits!r} and scale "
                             f"{graph.input_scale!r}: bits must be 1..8, the scale finite "
                             "and above 0")
    if not graph.nodes:
        raise SnnExportError(f"{where}: the graph has no nodes")
    out = {INPUT: tuple(graph.input_shape)}
    for node in graph.nodes:
        if not NAME.match(node.name) or node.name in out:
            _fail(where, node, "names must be unique identifiers (letters, digits, _), "
                  f"not {INPUT!r}")
        if node.op not in OPS:
            _fail(where, node, f"unknown op; known: {', '.join(OPS)}")
        for src in node.inputs:
            if src not in out:
                _fail(where, node, f"input {src!r} is not defined before this node")
        n_in = len(node.inputs)
        if (node.op in ARITY and n_in != ARITY[node.op]) or (node.op not in ARITY and n_in < 1):
            _fail(where, node, f"takes {ARITY.get(node.op, 'one or more')} inputs, got {n_in}")
        missing = [k for k in REQUIRED.get(node.op, ()) if k not in node.attrs]
        if missing:
            _fail(where, node, f"missing field(s) {', '.join(missing)}")
        for key, value in node.attrs.items():
            valid, what = ATTRS.get(key, (lambda v: True, ""))
            if not valid(value):
                _fail(where, node, f"{key} {value!r}: {what}")
        ins = [out[s] for s in node.inputs]
        kinds = [graph.kind(s) for s in node.inputs]
        if "voltage" in kinds:
            _fail(where, node, f"reads {node.inputs[kinds.index('voltage')]!r}, a leaky "
                  "integrator (li): it emits no spikes, so only the readout may be one")
        out[node.name] = _shape(where, node, ins, kinds)
    if graph.readout not in out or graph.kind(graph.readout) not in ("spikes", "voltage"):
        raise SnnExportError(f"{where}: readout {graph.readout!r} is not a spiking node or "
                             "a leaky integrator (li)")
    for node in graph.nodes:
        if node.op in VOLTAGE and node.name != graph.readout:
            _fail(where, node, f"a leaky integrator (li) is a readout, but the readout is "
                  f"{graph.readout!r}")
    return out


def op_entry(table: dict, node: Node, stage: str):
    """``table[node.op]``: what ``stage`` does with ``node``. Every stage that gives ops their
    meaning dispatches through such a table, one entry per op in :data:`OPS` (a handler, or a
    refusal by name); an op the table lacks raises :class:`SnnExportError` naming the node
    and the op, never a silent default."""
    try:
        return table[node.op]
    except (KeyError, TypeError):
        raise SnnExportError(f"node {node.name!r} ({node.op}): the {stage} stage has no rule "
                             f"for op {node.op!r}; it knows: {', '.join(table)}") from None


def _shape(where: str, node: Node, ins: list, kinds: list) -> tuple:
    return op_entry(_SHAPES, node, "shape")(where, node, ins, kinds)


def _shape_const(where: str, node: Node, ins: list, kinds: list) -> tuple:
    shape = node.get("shape")
    if not isinstance(shape, (list, tuple)) or len(shape) not in (1, 3) or \
            not all(isinstance(n, int) and n >= 1 for n in shape):
        _fail(where, node, f"shape {shape!r} is not (n,) or (C, H, W) of positive integers")
    return tuple(shape)


def _shape_neuron(where: str, node: Node, ins: list, kinds: list) -> tuple:
    x = ins[0]
    if node.get("recurrent") and (node.op != "lif" or len(x) != 1):
        _fail(where, node, f"only a flat lif may be recurrent (this is {node.op} {x})")
    if any(k not in ("synaptic", "graded") for k in kinds):
        _fail(where, node, "a neuron's inputs are synaptic nodes (conv, linear, batchnorm); "
              "put a conv or linear between it and spikes")
    if any(s != x for s in ins):
        _fail(where, node, f"inputs have different shapes {ins}")
    return x


def _shape_binary(where: str, node: Node, ins: list, kinds: list) -> tuple:
    """Joins, add and mul: the second input equals the first (or) or broadcasts to it."""
    op, x = node.op, ins[0]
    if op == "or" and ins[1] != x or not broadcasts(ins[1], x):
        _fail(where, node, f"input shapes {ins[0]} and {ins[1]} do not match"
              + ("" if op == "or" else " (the second may broadcast to the first)"))
    return x


def _needs_chw(where: str, node: Node, x: tuple) -> None:
    if len(x) != 3:
        _fail(where, node, f"needs a (C, H, W) input, got {x}")


def _shape_conv(where: str, node: Node, ins: list, kinds: list) -> tuple:
    x = ins[0]
    _needs_chw(where, node, x)
    g = conv_geometry(node)
    out_c = int(node.get("out_channels"))
    if x[0] % g["groups"] or out_c % g["groups"]:
        _fail(where, node, f"groups={g['groups']} does not divide {x[0]} input and "
              f"{out_c} output channels")
    hw = conv_output_size(x[1:], g["kernel"], g["stride"], g["padding"], g["dilation"])
    if min(hw) < 1:
        _fail(where, node, f"the kernel does not fit the {x[1:]} input")
    return (out_c, *hw)


def _shape_maxpool(where: str, node: Node, ins: list, kinds: list) -> tuple:
    x = ins[0]
    _needs_chw(where, node, x)
    k, p = pair(node.get("kernel")), pair(node.get("padding", 0))
    if any(2 * pi > ki or pi < 0 for pi, ki in zip(p, k)):
        _fail(where, node, f"padding {p} must be 0 to half the kernel {k}")
    hw = conv_output_size(x[1:], k, pair(node.get("stride", node.get("kernel"))), p)
    if min(hw) < 1:
        _fail(where, node, f"the kernel does not fit the {x[1:]} input")
    return (x[0], *hw)


def _shape_avgpool(where: str, node: Node, ins: list, kinds: list) -> tuple:
    x = ins[0]
    _needs_chw(where, node, x)
    k = pair(node.get("kernel"))
    if x[1] % k[0] or x[2] % k[1]:
        _fail(where, node, f"kernel {k} must divide the input's height and width {x[1:]}")
    return (x[0], x[1] // k[0], x[2] // k[1])


def _shape_linear(where: str, node: Node, ins: list, kinds: list) -> tuple:
    x = ins[0]
    if len(x) != 1:
        _fail(where, node, f"needs a flat input, got {x}: add a flatten node")
    return (int(node.get("out_features")),)


def _shape_flatten(where: str, node: Node, ins: list, kinds: list) -> tuple:
    return (math.prod(ins[0]),)


def _shape_same(where: str, node: Node, ins: list, kinds: list) -> tuple:
    """batchnorm and the graded activations keep the shape."""
    return ins[0]


def _shape_minmax(where: str, node: Node, ins: list, kinds: list) -> tuple:
    _needs_chw(where, node, ins[0])
    return ins[0]


def _shape_attention(where: str, node: Node, ins: list, kinds: list) -> tuple:
    x = ins[0]
    _needs_chw(where, node, x)
    if any(s != x for s in ins):
        _fail(where, node, f"q, k and v have different shapes {ins}")
    return x


# op -> shape rule (where, node, input shapes, input kinds) -> output shape; validates
_SHAPES = {"const": _shape_const, **{op: _shape_neuron for op in ("lif", "alif", "li")},
           **{op: _shape_binary for op in (*JOINS, "add", "mul")},
           "maxpool": _shape_maxpool, "conv": _shape_conv, "linear": _shape_linear,
           "batchnorm": _shape_same, "avgpool": _shape_avgpool, "flatten": _shape_flatten,
           "delay": _shape_same,
           "sigmoid": _shape_same, "relu": _shape_same, "minmax": _shape_minmax,
           "invert": _shape_same, "time_mean": _shape_same, "time_linear": _shape_same,
           "attention": _shape_attention}


def origin(graph: ModelGraph, name: str) -> str:
    """The node (or :data:`INPUT`) whose values reach ``name``'s output through the
    pass-through synaptic nodes (:data:`PASS_THROUGH`): ``name`` unless it is one."""
    while name != INPUT and graph.node(name).op in PASS_THROUGH:
        name = graph.node(name).inputs[0]
    return name


def spike_sources(graph: ModelGraph, name: str) -> list[str]:
    """The spiking nodes (or :data:`INPUT`) whose spikes reach ``name`` through synaptic
    nodes only, in order of appearance."""
    found = []
    for src in graph.node(name).inputs:
        if graph.kind(src) in ("spikes", "input"):
            found.append(src)
        else:
            found += [s for s in spike_sources(graph, src) if s not in found]
    return list(dict.fromkeys(found))


def spike_terms(graph: ModelGraph, name: str) -> list[str] | None:
    """For an ``add`` of spikes (its inputs spiking nodes or such adds): the spiking nodes
    summed, with multiplicity, so that ``W @ add = sum(W @ term)``. None for any other node."""
    node = graph.node(name) if name != INPUT else None
    if node is None or node.op != "add":
        return None
    terms = []
    for src in node.inputs:
        if graph.kind(src) == "spikes":
            terms.append(src)
        elif (sub := spike_terms(graph, src)) is not None:
            terms += sub
        else:
            return None
    return terms


def require_spike_inputs(graph: ModelGraph, node: Node) -> None:
    """Refuse a join or max-pooling node with an input that is not spikes (the graph input
    or a synaptic or graded node): raises :class:`SnnExportError` naming it."""
    for src in node.inputs:
        if graph.kind(src) != "spikes":
            raise SnnExportError(f"node {node.name!r} ({node.op}): input {src!r} is not "
                                 "spikes; joins and max-pooling act on binary spikes")


def refuse_graded(graph: ModelGraph, node: Node, context: str) -> None:
    """Refuse a node that passes graded values (any graded node but an add of spikes):
    raises :class:`SnnExportError` naming it, ``context`` (what cannot run it) appended."""
    if graph.kind(node.name) == "graded" and spike_terms(graph, node.name) is None:
        raise SnnExportError(f"node {node.name!r} ({node.op}) passes graded values{context}")


def latencies(graph: ModelGraph) -> dict[str, int]:
    """Each neuron node's (:data:`GROUPS`) depth on the chip: steps from the input to it, one
    per synaptic hop, the deepest branch counting where branches meet. The input and
    ``const`` nodes have depth 0."""
    lat = {INPUT: 0}
    for node in graph.nodes:
        if node.op == "const":
            lat[node.name] = 0
        elif node.op in GROUPS:
            lat[node.name] = 1 + max(lat[s] for s in spike_sources(graph, node.name))
    return lat


def alignment_delays(graph: ModelGraph, lat: dict | None = None) -> dict[str, dict[str, int]]:
    """For each neuron node (:data:`GROUPS`), the extra delay (steps) of each spike source, so
    that all its inputs left the graph input at the same step."""
    lat = lat or latencies(graph)
    return {node.name: {s: lat[node.name] - 1 - lat[s] for s in spike_sources(graph, node.name)}
            for node in graph.nodes if node.op in GROUPS}


def dense_chain(sizes: list[int], input_bits: int, input_scale: float, neuron: dict) -> ModelGraph:
    """A chain of Dense + LIF layers (``snn-train --arch dense``): ``sizes`` = [inputs,
    hidden..., outputs]; layer ``k`` (from 1) is a ``linear`` node ``fc<k>`` into a ``lif``
    node ``layer<k>`` with the settings ``neuron`` (``tau_mem``, ``tau_syn``, ``threshold``).
    The linear nodes have no bias, so that lowered it is a chain that netx HDF5 holds (a
    deployed bias is a synapse group from an always-on source, which netx cannot express)."""
    if len(sizes) < 2:
        raise SnnExportError(f"a dense chain needs at least an input and an output size, got "
                             f"{list(sizes)}")
    nodes, src = [], INPUT
    for k, n in enumerate(sizes[1:], 1):
        nodes += [Node(f"fc{k}", "linear", (src,), {"out_features": int(n), "bias": False}),
                  Node(f"layer{k}", "lif", (f"fc{k}",), dict(neuron))]
        src = f"layer{k}"
    return ModelGraph((int(sizes[0]),), int(input_bits), float(input_scale), nodes)


TIME_STEPS_MAX = 2**16  # steps per sample: far beyond any seed network (a typo's guard)


def check_time_steps(graph: ModelGraph, time_steps: int) -> None:
    """Refuse a step count below 1, or one that differs from the one a ``time_linear`` node
    was built for. (Any count deploys: the chip runs ``time_steps`` plus the readout's
    depth.)"""
    if not 1 <= time_steps <= TIME_STEPS_MAX:
        raise SnnExportError(f"time_steps={time_steps}: use 1 to {TIME_STEPS_MAX} steps")
    for node in graph.nodes:
        if node.op == "time_linear" and int(node.get("steps")) != time_steps:
            raise SnnExportError(f"time_steps={time_steps}, but node {node.name!r} (time_linear) "
                                 f"maps {node.get('steps')} steps: use {node.get('steps')}")
