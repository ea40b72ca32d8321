"""The spike-only compliance check: what keeps a trained network off a Loihi 2 chip.

Two passes, each reporting every violation it finds (not only the first):

- :func:`check_graph` on the float :class:`~snn_export.model_graph.ModelGraph`: the
  structural ``spike-only/*`` and ``causal/*`` rules (graded values between synapses, ADD
  joins, float multiplies and activations, pooling over time).
- :func:`check_network` on the lowered integer :class:`~snn_export.graph.Network`: the
  ``bits/*`` rules (every register within its bit width) and the ``resources/*`` rules
  against :class:`Loihi2Limits` and the target system (:data:`SYSTEMS`): the network is
  partitioned over cores and chips (:func:`partition`).

Every rule has an id and a one-line rationale in :data:`RULES`. Violations come in a
deterministic order (graph order) and render as text (:func:`to_text`), plain data
(:func:`to_json`) or JUnit XML (:func:`to_junit`) for CI test reporters.
"""
from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Iterable

import numpy as np

from snn_export import fixed_point as fp
from snn_export.errors import SnnExportError
from snn_export.graph import INPUT, MAX_DELAY, Conv, Dense, Network, Neurons, Sparse
from snn_export.metrics import footprint
from snn_export.model_graph import JOINS, ModelGraph, Node, op_entry, origin

GRAPH_RULES = {
    "spike-only/graded-input": "Loihi synapses carry spikes: only the encoding layer (the "
                               "graph input) may feed graded values to a synapse.",
    "spike-only/graded-join": "An ADD of spikes gives counts 0..n, not binary spikes: on chip "
                              "it needs graded spikes, or one copy of every synapse reading it "
                              "per term (what snn-export deploys when this rule is allowed).",
    "spike-only/graded-shortcut": "A real-valued shortcut (as in MS-ResNet) carries float "
                                  "values between blocks, which no spiking core sends.",
    "spike-only/float-multiply": "Cores multiply only weights by spikes: a product of two "
                                 "signals must be binary gating (an AND neuron).",
    "spike-only/float-activation": "Sigmoid, ReLU, min-max normalisation and 1 - x are float "
                                   "functions: on chip the only nonlinearity between synapses "
                                   "is a spiking neuron.",
    "causal/temporal-pool": "Pooling over time needs all T steps before it can act: a chip "
                            "that runs online cannot wait for them.",
    "spike-only/join-input": "OR, AND, AND-NOT and max-pooling are unit-weight threshold "
                             "neurons: their inputs must be binary spikes.",
}
NETWORK_RULES = {
    "bits/input": "The encoding layer reads unsigned input levels of 1..8 bits.",
    "bits/weight": "Lava's weight register holds 9-bit signed integers, at most 8 weight bits.",
    "bits/weight-exp": "Lava's Dense shifts its accumulated input by weight_exp in -8..7.",
    "bits/threshold": "LIF thresholds are 17-bit, ATRLIF thresholds 12-bit unsigned mantissas.",
    "bits/decay": "Decays are 12-bit (LIF dv: 0..4096, the others 0..4095).",
    "bits/bias": "Bias mantissas are 13-bit signed.",
    "bits/delay": f"Synaptic delays are 6-bit: 0..{MAX_DELAY} steps (netx DelayDense, Lava "
                  "DelaySparse).",
    "resources/fan-in": "All synapses into one neuron live in its core's synaptic memory.",
    "resources/cores": "Each neuron group takes whole cores (enough for its neurons and "
                       "incoming synaptic memory); placed in network order, they must fit the "
                       "chips of the target system (--system; default one chip).",
}
RULES: dict[str, str] = {**GRAPH_RULES, **NETWORK_RULES}  # rule id -> rationale

SUITE = "snn-export compliance"


@dataclass(frozen=True)
class Violation:
    """One broken rule. message: ``"<what is wrong>; <what to change>"`` on one line."""

    rule: str  # an id in RULES
    layer: str  # node, neuron group or synapse name
    message: str

    def line(self) -> str:
        """``"<layer>: <what is wrong> (rule <rule>); <what to change>"``."""
        problem, sep, fix = self.message.partition("; ")
        return f"{self.layer}: {problem} (rule {self.rule}){sep}{fix}"


# --- The float graph ---

def check_graph(graph: ModelGraph, allow: frozenset[str] = frozenset()) -> list[Violation]:
    """The spike-only and causality rules, in graph order. ``allow``: rule ids the user
    accepts (e.g. ``"spike-only/graded-join"`` for a chip with graded spikes); their
    violations are left out. An unknown id raises :class:`SnnExportError`."""
    unknown = sorted(set(allow) - set(GRAPH_RULES))
    if unknown:
        raise SnnExportError(f"unknown rule id(s) to allow: {', '.join(unknown)}; known: "
                             f"{', '.join(GRAPH_RULES)}")
    found = [v for node in graph.nodes
             for v in op_entry(_CHECKS, node, "compliance")(graph, node)]
    return [v for v in found if v.rule not in allow]


def _describe(graph: ModelGraph, name: str) -> str:
    if name == INPUT:
        return "the graph input"
    return f"{name} ({graph.node(name).op}, {graph.kind(name)})"


def _spike_range(graph: ModelGraph, name: str) -> int | None:
    """The largest value of ``name`` if it carries spike counts (1 for binary spikes; an ADD
    or MUL of spike counts: their sum or product), else None."""
    kind = graph.kind(name)
    if kind in ("spikes", "input"):
        return 1 if kind == "spikes" else None
    node = graph.node(name)
    if node.op not in ("add", "mul"):
        return None
    ranges = [_spike_range(graph, s) for s in node.inputs]
    if None in ranges:
        return None
    return sum(ranges) if node.op == "add" else math.prod(ranges)


def _synapse(graph: ModelGraph, node: Node) -> list[Violation]:
    """spike-only/graded-input. Spike counts from an ADD or MUL are reported there, not here."""
    src = origin(graph, node.inputs[0])
    if src == INPUT or _spike_range(graph, src) is not None:
        return []
    return [Violation("spike-only/graded-input", node.name,
                      f"{node.op} reads the {graph.kind(src)} values of "
                      f"{_describe(graph, src)}, not spikes; put a lif or alif neuron "
                      f"between {src} and {node.name}")]


def _add(graph: ModelGraph, node: Node) -> list[Violation]:
    """spike-only/graded-join (all inputs spike counts) or spike-only/graded-shortcut."""
    top = _spike_range(graph, node.name)
    if top is not None:
        return [Violation("spike-only/graded-join", node.name,
                          f"ADD join produces values 0..{top}; use OR or AND, or allow "
                          "graded spikes")]
    inputs = ", ".join(_describe(graph, s) for s in node.inputs)
    return [Violation("spike-only/graded-shortcut", node.name,
                      f"ADD of real values [{inputs}] is a real-valued shortcut; end each "
                      "branch in a lif neuron and join the spikes with OR or AND")]


def _mul(graph: ModelGraph, node: Node) -> list[Violation]:
    """spike-only/float-multiply."""
    a, b = node.inputs
    if graph.kind(a) == graph.kind(b) == "spikes":
        msg = (f"MUL of spikes {a} and {b} is binary gating done as a float product; use an "
               f"and node (and({a}, {b})), or andnot for an inverted mask")
    else:
        msg = (f"MUL scales {_describe(graph, a)} by {_describe(graph, b)} in float; make "
               "the factor a binary mask (a lif or alif neuron in place of its float activation) "
               "and gate with and or andnot")
    return [Violation("spike-only/float-multiply", node.name, msg)]


def _activation(graph: ModelGraph, node: Node) -> list[Violation]:
    """spike-only/float-activation."""
    return [Violation("spike-only/float-activation", node.name,
                      f"{node.op.upper()} of {_describe(graph, node.inputs[0])} is a float "
                      "activation between synapses; replace it with a lif or alif neuron")]


def _invert(graph: ModelGraph, node: Node) -> list[Violation]:
    """spike-only/float-activation: ``1 - x`` (BIASNN's inverted mask)."""
    src = _describe(graph, node.inputs[0])
    fix = ("gate with andnot(x, mask) instead of multiplying by the inverted mask"
           if graph.kind(node.inputs[0]) == "spikes" else
           "fold the sign into the next weights or put a lif or alif neuron in its place")
    return [Violation("spike-only/float-activation", node.name,
                      f"INVERT (1 - x) of {src} is a float operation between synapses; {fix}")]


def _attention(graph: ModelGraph, node: Node) -> list[Violation]:
    """spike-only/float-multiply: self-attention's products of signals."""
    q, k, v = node.inputs
    return [Violation("spike-only/float-multiply", node.name,
                      f"ATTENTION multiplies signals: q k^T of {q} and {k} counts coincidences "
                      f"(integers even on spikes) and scales {v} by them; cores multiply only "
                      "weights by spikes: use a binary mask (a lif or alif neuron) and gate "
                      "with and or andnot")]


def _time_mean(graph: ModelGraph, node: Node) -> list[Violation]:
    """causal/temporal-pool."""
    return [Violation("causal/temporal-pool", node.name,
                      f"TIME_MEAN of {_describe(graph, node.inputs[0])} pools over all time "
                      "steps and needs the whole sample before it can act; pool over space "
                      "or channels instead, or integrate over time in a leaky neuron")]


def _time_linear(graph: ModelGraph, node: Node) -> list[Violation]:
    """causal/temporal-pool: a linear map over the time axis (SynA-T)."""
    return [Violation("causal/temporal-pool", node.name,
                      f"TIME_LINEAR mixes all {node.get('steps')} time steps of "
                      f"{_describe(graph, node.inputs[0])}: each step's output reads later "
                      "steps, so it needs the whole sample before it can act; attend over "
                      "channels or space instead (SynA-C, SynA-S)")]


def _join(graph: ModelGraph, node: Node) -> list[Violation]:
    """spike-only/join-input: every input of a join or maxpool must be binary spikes."""
    bad = [s for s in node.inputs if _spike_range(graph, s) != 1]
    if not bad:
        return []
    inputs = ", ".join(_describe(graph, s) for s in bad)
    return [Violation("spike-only/join-input", node.name,
                      f"{node.op.upper()} input [{inputs}] is not binary spikes; put a lif "
                      "or alif neuron in front of it")]


def _no_rule(graph: ModelGraph, node: Node) -> list[Violation]:
    """No graph rule: neurons and const emit binary spikes (a leaky integrator readout
    emits none: its voltage is read, as a chip reads a state); batchnorm, avgpool, flatten
    and delay are checked where the conv or linear node that reads them is
    (:func:`_synapse`)."""
    return []


# op -> (graph, node) -> its violations; every op in OPS has an entry
_CHECKS = {"lif": _no_rule, "alif": _no_rule, "li": _no_rule, "const": _no_rule,
           "batchnorm": _no_rule, "avgpool": _no_rule, "flatten": _no_rule, "delay": _no_rule,
           "conv": _synapse, "linear": _synapse, "add": _add, "mul": _mul,
           "sigmoid": _activation, "relu": _activation, "minmax": _activation,
           "invert": _invert, "time_mean": _time_mean, "time_linear": _time_linear,
           "attention": _attention,
           "maxpool": _join, **{op: _join for op in JOINS}}


# --- The integer network: bit widths ---

_PARAM_RANGES = {  # field -> (rule, lowest, highest, bit-width description)
    fp.LIFParams: {"vth": ("bits/threshold", 0, fp.VTH_MAX, "17-bit"),
                   "du": ("bits/decay", 0, fp.DECAY_UNITY - 1, "12-bit"),
                   "dv": ("bits/decay", 0, fp.DECAY_UNITY, "12-bit")},
    fp.ATRLIFParams: {name: ("bits/threshold" if name.startswith("theta") else "bits/decay",
                             0, fp.DECAY_UNITY - 1, "12-bit")
                      for name in ("theta_0", "theta_step", "d_i", "d_v", "d_theta", "d_r")},
}
_FIXES = {
    "bits/threshold": "raise the layer's weight exponent so the threshold fits",
    "bits/decay": "use time constants of at least 1 step",
}


def _outside(values: np.ndarray, lo: int, hi: int) -> str | None:
    """``"min..max"`` of ``values`` if any lies outside ``lo..hi``, else None."""
    v = np.asarray(values)
    if v.size == 0 or (v.min() >= lo and v.max() <= hi):
        return None
    return f"{v.min()}..{v.max()}"


def _neuron_bits(group: Neurons) -> list[Violation]:
    found = []
    for name, (rule, lo, hi, width) in _PARAM_RANGES.get(type(group.params), {}).items():
        value = getattr(group.params, name)
        if not lo <= value <= hi:
            found.append(Violation(rule, group.name, f"{name}={value} is outside the "
                                   f"{width} range {lo}..{hi}; {_FIXES[rule]}"))
    span = _outside(group.bias, fp.BIAS_MANT_MIN, fp.BIAS_MANT_MAX)
    if span:
        found.append(Violation("bits/bias", group.name,
                               f"bias mantissas {span} are outside the 13-bit range "
                               f"{fp.BIAS_MANT_MIN}..{fp.BIAS_MANT_MAX}; raise the layer's "
                               "weight exponent or bound the biases in training"))
    return found


def _synapse_bits(s: Dense | Sparse | Conv) -> list[Violation]:
    found = []
    span = _outside(s.weight, -256, 255)
    if span:
        found.append(Violation("bits/weight", s.name, f"weights {span} are outside Lava's "
                               "9-bit range -256..255; requantize to 2 x int8 mantissas"))
    if isinstance(s, Conv):
        return found
    if not 1 <= s.num_weight_bits <= fp.WEIGHT_BITS:
        found.append(Violation("bits/weight", s.name, f"num_weight_bits={s.num_weight_bits} is "
                               f"outside 1..{fp.WEIGHT_BITS}; use at most 8 weight bits"))
    if not -8 <= s.weight_exp <= 7:
        found.append(Violation("bits/weight-exp", s.name, f"weight_exp={s.weight_exp} is "
                               "outside -8..7; fold the excess into the weights and threshold"))
    span = None if s.delays is None else _outside(s.delays, 0, MAX_DELAY)
    if span:
        found.append(Violation("bits/delay", s.name, f"delays {span} steps are outside the "
                               f"6-bit range 0..{MAX_DELAY}; shorten the deepest branch or "
                               "relay the spikes through extra neurons"))
    return found


# --- The integer network: resources ---

@dataclass(frozen=True)
class Loihi2Limits:
    """Published Loihi 2 figures (per chip: 128 neuromorphic cores, 1,048,576 neurons,
    120 million synapses) and the per-core limits that follow.

    Sources: Intel Labs, "Taking Neuromorphic Computing to the Next Level with Loihi 2",
    technology brief (2021), as summarised by WikiChip
    (https://en.wikichip.org/wiki/intel/loihi_2: 128 cores, 1,048,576 neurons, 8,192 per
    core, 120 M synapses) and Open Neuromorphic
    (https://open-neuromorphic.org/neuromorphic-computing/hardware/loihi-2-intel/: 128
    cores, 1 M neurons, 120 M synapses); the 128 KB of flexibly partitioned SRAM per core
    is from press reports of the launch (fbhtechinfo.com, "Intel's new Loihi-2 chip uses
    1 million neurons"), not from an Intel datasheet.

    cores_per_chip: neuromorphic cores on one chip.
    neurons_per_core: 1,048,576 / 128.
    synaptic_memory_bits: synaptic memory per core, bits (128 KiB). The 120 M synapses per
        chip need compressed, low-precision weights; dense 8-bit weights fit 131,072 per core.
    max_fan_in: synapses into one neuron; they share its core's synaptic memory, so at 8-bit
        weights at most ``synaptic_memory_bits / 8`` (derived, not a published figure).
    """

    cores_per_chip: int = 128
    neurons_per_core: int = 8192
    synaptic_memory_bits: int = 128 * 1024 * 8
    max_fan_in: int = 128 * 1024

    def cores(self, neurons: int, memory_bits: int) -> int:
        """Cores one neuron group needs: enough for its neurons and its incoming synapses."""
        return max(1, math.ceil(neurons / self.neurons_per_core),
                   math.ceil(memory_bits / self.synaptic_memory_bits))


_DELAY_BITS = 6  # a stored delay, per synapse


@dataclass(frozen=True)
class LayerResources:
    """Estimated footprint of one neuron group with its incoming synapses.

    synapses: stored synapses; a Sparse counts its listed synapses; a Conv counts as its
        dense equivalent (every target neuron stores its own kernel window,
        ``in_channels / groups * kh * kw``, padding included): an upper bound. How Lava's
        Loihi 2 Conv stores its shared weights is not published: open-source Lava's Conv
        process has CPU models only (``lava.proc.conv.models``: float and fixed point); its
        Loihi 2 NeuroCore model is in Intel's lava-loihi extension, which is not public, and
        lava-dl 0.3.0's release notes (https://github.com/lava-nc/lava-dl/discussions/111)
        say only that it "can leverage Loihi 2's convolutional network compression".
    memory_bits: synapses x 8 weight bits (+ 6 delay bits for a DelayDense or
        DelaySparse); a Sparse's index storage is not published and not counted.
    fan_in: synapses into one neuron. cores: :meth:`Loihi2Limits.cores`.
    """

    layer: str
    neurons: int
    synapses: int
    memory_bits: int
    fan_in: int
    cores: int


def _bits_per_synapse(s: Dense | Sparse | Conv) -> int:
    delays = not isinstance(s, Conv) and s.delays is not None
    return fp.WEIGHT_BITS + _DELAY_BITS * delays


def resources(net: Network, limits: Loihi2Limits = Loihi2Limits()) -> list[LayerResources]:
    """Per neuron group (in network order): neurons, synapses, memory, fan-in and cores."""
    rows = []
    for group in net.neurons:
        incoming = net.incoming(group.name)
        counts = [footprint(net, s) for s in incoming]
        bits = sum(n * _bits_per_synapse(s) for (n, _), s in zip(counts, incoming))
        synapses, fan_in = sum(n for n, _ in counts), sum(f for _, f in counts)
        rows.append(LayerResources(group.name, group.size, synapses, bits, fan_in,
                                   limits.cores(group.size, bits)))
    return rows


@dataclass(frozen=True)
class LoihiSystem:
    """A Loihi 2 system the network is deployed on (``--system``): ``chips`` Loihi 2 chips of
    :attr:`Loihi2Limits.cores_per_chip` cores each; ``name`` is the ``--system`` value and
    ``what`` a few words for messages and the report. The named systems (:data:`SYSTEMS`);
    any positive chip count ``N`` is accepted too:

    - ``chip``: one Loihi 2 chip, as on Intel's single-chip Oheo Gulch board (the launch
      reports below).
    - ``kapoho-point``: Kapoho Point, Intel's board of 8 Loihi 2 chips, announced with
      Loihi 2 in 2021 (press reports of the launch, e.g. fbhtechinfo.com, "Intel's new
      Loihi-2 chip uses 1 million neurons",
      https://fbhtechinfo.com/intels-new-loihi-2-chip-uses-1-million-neurons: Oheo Gulch
      first, then "a version with eight neuromorphic computing processors (Kapoho Point)").
    - ``hala-point``: Hala Point, the system of 1,152 Loihi 2 chips Intel built with Sandia
      National Laboratories (announced April 2024; eeNews Europe, "Intel breaks a billion
      neurons for world's largest neuromorphic computing system",
      https://www.eenewseurope.com/en/intel-breaks-a-billion-neurons-for-worlds-largest-neuromorphic-computing-system/:
      1,152 Loihi 2 processors,
      1.15 billion neurons, 128 billion synapses, 140,544 neuromorphic cores). 140,544 cores
      are 122 per chip, not 128: near Hala Point's capacity the chip count here, which fills
      128 cores per chip, can be optimistic by up to 5%.
    """

    name: str
    chips: int
    what: str

    def describe(self) -> str:
        """``"<what> (--system <name>)"``."""
        return f"{self.what} (--system {self.name})"


SYSTEMS: dict[str, LoihiSystem] = {s.name: s for s in (  # --system name -> system
    LoihiSystem("chip", 1, "one Loihi 2 chip"),
    LoihiSystem("kapoho-point", 8, "Kapoho Point, an 8-chip Loihi 2 board"),
    LoihiSystem("hala-point", 1152, "Hala Point, 1,152 Loihi 2 chips"),
)}


def loihi_system(value: str | int | LoihiSystem) -> LoihiSystem:
    """The system a ``--system`` value names: a key of :data:`SYSTEMS`, or a positive chip
    count (an int, or a string of digits). :class:`SnnExportError` for anything else, with
    the known names."""
    if isinstance(value, LoihiSystem):
        return value
    text = str(value).strip()
    if text in SYSTEMS:
        return SYSTEMS[text]
    known = ", ".join(f"{s.name} ({_chips(s.chips)})" for s in SYSTEMS.values())
    try:
        chips = int(text)
    except ValueError:
        raise SnnExportError(f"unknown Loihi 2 system {text!r}; known: {known}; or a positive "
                             "integer, the number of chips") from None
    if chips < 1:
        raise SnnExportError(f"{chips} chips: a system needs a positive number of chips; or "
                             f"name one of {known}")
    return LoihiSystem(str(chips), chips, f"{chips:,} Loihi 2 chip{'s' * (chips != 1)}")


def _chips(n: int) -> str:
    """``"1 chip"``, ``"1,152 chips"``."""
    return f"{n:,} chip{'s' * (n != 1)}"


@dataclass(frozen=True)
class Placement:
    """Where one neuron group lands: ``cores`` cores starting at core ``first_core`` (counted
    over the whole system, from 0), on ``chips`` (chip numbers, from 1)."""

    layer: str
    cores: int
    first_core: int
    chips: tuple[int, ...]


@dataclass(frozen=True)
class Partition:
    """The network over cores and chips: per group its :class:`Placement` (network order),
    and in total the cores and chips needed, chips of ``cores_per_chip`` cores."""

    groups: tuple[Placement, ...]
    cores: int
    chips: int
    cores_per_chip: int

    def chips_of(self, layer: str) -> str:
        """``"1"`` or ``"1-2"``: the chips a group lands on."""
        chips = next(p.chips for p in self.groups if p.layer == layer)
        return str(chips[0]) if len(chips) == 1 else f"{chips[0]}-{chips[-1]}"


def partition(net: Network, limits: Loihi2Limits = Loihi2Limits(),
              rows: list[LayerResources] | None = None) -> Partition:
    """A greedy placement in network order: each neuron group takes the whole cores
    :meth:`Loihi2Limits.cores` gives it (no two groups share a core), on the next free
    cores; chips are filled one after another, ``cores_per_chip`` cores each, and a group
    whose cores do not fit the rest of a chip continues on the next (spikes cross chips on
    Loihi 2's inter-chip links). No core is split, so the chips needed are
    ``ceil(total cores / cores_per_chip)``. ``rows``: :func:`resources` of ``net``, if at
    hand."""
    rows = resources(net, limits) if rows is None else rows
    per_chip, placed, core = limits.cores_per_chip, [], 0
    for r in rows:
        first, last = core // per_chip + 1, (core + r.cores - 1) // per_chip + 1
        placed.append(Placement(r.layer, r.cores, core, tuple(range(first, last + 1))))
        core += r.cores
    return Partition(tuple(placed), core, max(1, math.ceil(core / per_chip)), per_chip)


def _resource_violations(net: Network, limits: Loihi2Limits,
                         system: LoihiSystem) -> list[Violation]:
    rows = resources(net, limits)
    found = [Violation("resources/fan-in", r.layer,
                       f"fan-in of {r.fan_in} synapses per neuron exceeds {limits.max_fan_in} "
                       "(one core's synaptic memory); use fewer inputs, channels or a smaller "
                       "kernel") for r in rows if r.fan_in > limits.max_fan_in]
    placed = partition(net, limits, rows)
    if placed.chips > system.chips:
        big = max(rows, key=lambda r: r.cores)
        found.append(Violation(
            "resources/cores", big.layer,
            f"the network needs {placed.cores:,} cores on {placed.chips:,} chips "
            f"({limits.cores_per_chip} cores each), but --system {system.name} ({system.what}) "
            f"has {_chips(system.chips)}, and this layer, its largest group ({big.neurons:,} "
            f"neurons, {big.synapses:,} synapses), needs {big.cores:,} cores; shrink it, or "
            "name a larger --system"))
    return found


def check_network(net: Network, limits: Loihi2Limits = Loihi2Limits(),
                  system: str | int | LoihiSystem = "chip") -> list[Violation]:
    """Bit widths (input, then each neuron group, then each synapse group) and resources:
    fan-in per core, and the chips :func:`partition` needs against ``system``
    (:func:`loihi_system`: a name in :data:`SYSTEMS` or a chip count)."""
    system = loihi_system(system)
    found = []
    if not 1 <= net.input_bits <= fp.INPUT_BITS_MAX:
        found.append(Violation("bits/input", INPUT, f"input_bits={net.input_bits} is outside "
                               f"1..{fp.INPUT_BITS_MAX}; quantize the input to at most "
                               f"{fp.INPUT_BITS_MAX} bits"))
    for group in net.neurons:
        found += _neuron_bits(group)
    for s in net.synapses:
        found += _synapse_bits(s)
    return found + _resource_violations(net, limits, system)


# --- Reports ---

def to_text(violations: list[Violation], source: str) -> str:
    """One ``"<source>: <Violation.line()>"`` line per violation, then a summary line."""
    if not violations:
        return f"{source}: compliant: no spike-only, bit-width or Loihi 2 resource violations"
    rules = len({v.rule for v in violations})
    return "\n".join([*(f"{source}: {v.line()}" for v in violations),
                      f"{source}: not compliant: {len(violations)} violation(s) of {rules} "
                      "rule(s)"])


def to_json(violations: list[Violation], source: str) -> dict:
    """``{"source", "compliant", "violations": [{"rule", "layer", "message",
    "rationale"}]}`` (plain data)."""
    return {"source": source, "compliant": not violations,
            "violations": [{"rule": v.rule, "layer": v.layer, "message": v.message,
                            "rationale": RULES[v.rule]} for v in violations]}


def to_junit(violations: list[Violation], source: str,
             checked: Iterable[str] = tuple(RULES)) -> str:
    """JUnit XML: one testsuite :data:`SUITE`, one testcase per rule id in ``checked`` (and
    per rule violated), class name ``source``, a ``<failure>`` per violation."""
    rules = list(dict.fromkeys([*checked, *(v.rule for v in violations)]))
    failed = {v.rule for v in violations}
    suite = ET.Element("testsuite", name=SUITE, tests=str(len(rules)),
                       failures=str(len(failed)), errors="0", skipped="0")
    for rule in rules:
        case = ET.SubElement(suite, "testcase", classname=source, name=rule)
        for v in violations:
            if v.rule == rule:
                failure = ET.SubElement(case, "failure", message=v.line(), type=rule)
                failure.text = f"{v.line()}\nrationale: {RULES[rule]}"
    return ET.tostring(suite, encoding="unicode", xml_declaration=True)
