"""Activity and cost of a run: firing rates, synaptic operations split into ACs and MACs, and
the energy estimate of seed 004 (SynA-ResNet), Eq. 11.

- firing rate of a spiking node: spikes per neuron per step, averaged over samples, neurons
  and all ``T`` steps.
- FLOPs of a conv or linear node: its multiply-accumulates per step if every input were
  nonzero (linear: ``out x in``; conv: output elements ``x in / groups x kh x kw``, padding
  counted, the usual convention); of a recurrent lif: its weights from its own spikes,
  ``neurons x neurons``.
- operations per sample over ``T`` steps: a layer reading graded values (the encoding
  layer; real values in the published, non-deployable forms) performs ``T x FLOPs`` MACs;
  a layer reading spikes performs
  ``T x FLOPs x fr`` ACs, ``fr`` the firing rate of its source (an ``add`` of spikes: the
  sum of its terms' rates).
- energy: ``E = E_MAC x MACs + E_AC x ACs`` with the 45 nm figures the seed papers use
  (``E_MAC`` 4.6 pJ, ``E_AC`` 0.9 pJ). Gates (OR, AND, AND NOT, max-pooling) are bit
  operations in this model and are not counted.

The same counts for a deployed :class:`~snn_export.graph.Network` (:func:`network_ops`)
count every synapse group, the gates' and relays' unit synapses included: on the chip they
are synaptic events like any other.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from .graph import INPUT, Conv, Dense, Network, Sparse
from .model_graph import (GRADED, GROUPS, ModelGraph, conv_geometry, op_entry, origin, shapes,
                          spike_terms)

E_MAC_PJ = 4.6  # energy of one 32-bit float multiply-accumulate, 45 nm (pJ)
E_AC_PJ = 0.9  # energy of one accumulate (pJ)


@dataclass(frozen=True)
class LayerOps:
    """Operations of one conv or linear node per sample, over all steps."""

    layer: str
    source: str  # the spiking node (or the graph input) it reads
    flops: int  # multiply-accumulates per step if every input were nonzero
    macs: float
    acs: float


def synaptic_ops(graph: ModelGraph, rates: dict[str, float], time_steps: int) -> list[LayerOps]:
    """Per conv and linear node (and recurrent lif), in graph order; ``rates``: firing rate
    of every spiking node (the trainer's ``evaluate`` measures them on the test set)."""
    shape = shapes(graph)
    rows = []
    for node in graph.nodes:
        flops = op_entry(_FLOPS, node, "metrics")(node, shape)
        if flops is None:
            continue
        src = node.name if node.op in GROUPS else origin(graph, node.inputs[0])
        terms = [src] if src != INPUT and graph.kind(src) == "spikes" else \
            spike_terms(graph, src) if src != INPUT else None
        if terms is None:  # graded values: the input, or a published form's real values
            rows.append(LayerOps(node.name, src, flops, float(time_steps * flops), 0.0))
            continue
        rate = sum(rates[t] for t in terms)
        rows.append(LayerOps(node.name, src, flops, 0.0, time_steps * flops * rate))
    return rows


def _conv_flops(node, shape: dict) -> int:
    g = conv_geometry(node)
    n_in = shape[node.inputs[0]]
    return math.prod(shape[node.name]) * n_in[0] // g["groups"] * math.prod(g["kernel"])


def _linear_flops(node, shape: dict) -> int:
    return shape[node.name][0] * shape[node.inputs[0]][0]


def _recurrent_flops(node, shape: dict) -> int | None:
    return math.prod(shape[node.name]) ** 2 if node.get("recurrent") else None


def _not_counted(node, shape: dict) -> None:
    """Not a layer of its own: gates are bit operations (see the module docstring), neurons
    and const have no synapses, batchnorm, avgpool and flatten fold into the next layer and
    graded nodes are float operations outside this count."""
    return None


# op -> (node, shapes) -> multiply-accumulates per step, or None: not counted
_FLOPS = {**{op: _not_counted for op in (*GROUPS, *GRADED)},
          "conv": _conv_flops, "linear": _linear_flops,
          "batchnorm": _not_counted, "avgpool": _not_counted, "flatten": _not_counted,
          "delay": _not_counted, "lif": _recurrent_flops}


def footprint(net: Network, s: Dense | Sparse | Conv) -> tuple[int, int]:
    """(stored synapses, synapses per target neuron) of one synapse group of ``net``; a Conv
    counts as its dense equivalent (every target neuron its own kernel window, padding
    included)."""
    fan = s.fan_in()
    if isinstance(s, Conv):
        return net.group(s.target).size * fan, fan
    return int(s.weight.size), fan


def network_ops(net: Network, rates: dict[str, float]) -> list[LayerOps]:
    """Per synapse group of a deployed network, over its ``time_steps``: MACs for those
    reading the graded input, ACs (``T x synapses x`` the source's firing rate) for those
    reading spikes; ``rates``: firing rate of every neuron group."""
    rows = []
    for s in net.synapses:
        flops = footprint(net, s)[0]
        if s.source == INPUT:
            rows.append(LayerOps(s.name, s.source, flops, float(net.time_steps * flops), 0.0))
        else:
            rows.append(LayerOps(s.name, s.source, flops, 0.0,
                                 net.time_steps * flops * rates[s.source]))
    return rows


def energy_pj(ops: list[LayerOps]) -> float:
    """Seed 004's Eq. 11: ``E_MAC x MACs + E_AC x ACs`` per sample, in pJ."""
    return sum(E_MAC_PJ * o.macs + E_AC_PJ * o.acs for o in ops)


def summary(graph: ModelGraph, rates: dict[str, float], time_steps: int) -> dict:
    """Plain data for a checkpoint's ``training`` field: firing rates per spiking node,
    operations per layer, totals and energy per sample."""
    ops = synaptic_ops(graph, rates, time_steps)
    return {"firing_rates": rates,
            "ops": [asdict(o) for o in ops],
            "macs": sum(o.macs for o in ops), "acs": sum(o.acs for o in ops),
            "energy_uj": energy_pj(ops) * 1e-6}
