"""LIF groups of a lowered network that can never fire: a threshold beyond what their
synapses and bias can ever drive the voltage to (typically a float threshold so large
against the weights that every 8-bit weight rounded to 0).

A warning, not a compliance violation: such a network runs, and a group may be silent on
purpose. The bound is sound: per neuron, the positive input per step ``A+`` (each synapse's
positive weights times its source's largest message, shifted by ``weight_exp``) keeps
``u <= 64 A+ min(T, 4096 / (du + 1))`` (:func:`~snn_export.fixed_point.lif_current_bound`),
and ``v <= (u_max + 64 b+) min(T, 4096 / dv)`` (``b+``: the positive bias mantissa;
:func:`~snn_export.fixed_point.lif_voltage_bound`), where
the 24-bit current and int32 wraps cannot act (``|u|`` bounded below 2**23 the same way, and
no Conv sum reaching 2**23); elsewhere a group is never reported. The bound is repeated
with the groups found so far sending nothing, until no group is added: the groups they
silence are named too. ATRLIF groups are not checked.

The converse for a leaky integrator readout (an ``integrator`` group, meant never to fire):
:func:`integrators_that_may_fire` names one whose voltage the same bound does not keep at
or below its threshold (it would spike and restart from 0, unlike the trained integrator).
"""
from __future__ import annotations

import math

import numpy as np

from snn_export import fixed_point as fp
from snn_export.graph import INPUT, Conv, Network, Neurons, Sparse


def _input_bounds(net: Network, group: Neurons, silent: set) -> tuple[np.ndarray, float]:
    """Per neuron of ``group``, the largest positive input per step (Dense output units),
    and the largest magnitude of any neuron's input per step (inf where a Conv may wrap);
    groups in ``silent`` send nothing."""
    positive, magnitude = np.zeros(group.size), np.zeros(group.size)
    for s in net.incoming(group.name):
        if s.source in silent:
            continue
        top = float(2**net.input_bits - 1) if s.source == INPUT else 1.0
        if isinstance(s, Conv):
            w = s.weight.reshape(len(s.weight), -1).astype(float)  # (out channels, taps)
            per_channel = [np.clip(w, 0, None).sum(1), np.abs(w).sum(1)]
            if per_channel[1].max(initial=0) * top >= fp.STATE_MAX:
                return positive, math.inf  # the 24-bit wrap may act
            pos, mag = (np.repeat(c, group.size // len(w)) * top for c in per_channel)
        else:
            w = np.asarray(s.effective_weight(), dtype=float) * (2.0**s.weight_exp * top)
            if isinstance(s, Sparse):
                pos = np.bincount(s.rows, np.clip(w, 0, None), group.size)
                mag = np.bincount(s.rows, np.abs(w), group.size)
            else:
                pos, mag = np.clip(w, 0, None).sum(1), np.abs(w).sum(1)
            if s.weight_exp < 0:  # a shift right floors each delay slot's sum
                mag = mag + (np.unique(s.delays).size if s.delays is not None else 1)
        positive += pos
        magnitude += mag
    return positive, float(magnitude.max(initial=0))


def _highest_voltage(net: Network, g: Neurons, silent: set) -> float:
    """A bound on the voltage of any neuron of the LIF group ``g`` within ``time_steps``
    (inf where a wrap may act)."""
    p, steps = g.params, net.time_steps
    positive, magnitude = _input_bounds(net, g, silent)
    if fp.lif_current_bound(p, magnitude, steps) >= fp.STATE_MAX:
        return math.inf
    u_max = fp.lif_current_bound(p, 1.0, steps) * positive
    bias = np.clip(np.asarray(g.bias, dtype=float), 0, None)
    return float(fp.lif_voltage_bound(p, u_max, bias, steps).max(initial=0))


def never_firing(net: Network) -> list[str]:
    """One line per LIF group none of whose neurons can fire within the network's
    ``time_steps`` (see the module docstring), naming the group, the bound and the
    threshold; then one line naming the groups that can never fire because those feed them
    (found by repeating the bound with them silent until no group is added; relays, which
    only pass spikes on, are left out of it)."""
    rounds, highest = [], {}
    silent: set[str] = set()
    while True:
        highest.update({g.name: _highest_voltage(net, g, silent) for g in net.neurons
                        if g.kind == "lif" and g.name not in silent
                        and g.role.kind != "integrator"})
        found = [g for g in net.neurons if g.name in highest and g.name not in silent and
                 highest[g.name] <= g.params.vth << fp.ACT_SHIFT]
        if not found:
            break
        rounds.append(found)
        silent |= {g.name for g in found}
    lines = [f"neurons {g.name} can never fire in {net.time_steps} steps: the highest voltage "
             f"their synapses and bias can reach, {highest[g.name]:,.0f}, is not above the "
             f"threshold vth << 6 = {g.params.vth << fp.ACT_SHIFT:,} (is the threshold too "
             "large for the weights? they may all have rounded to 0)"
             for g in (rounds[0] if rounds else [])]  # (bounds of the first round: none silent)
    later = [g.name for found in rounds[1:] for g in found if g.role.kind != "relay"]
    if later:
        lines.append(f"neurons {', '.join(later)} can never fire either: what the groups "
                     "that fire can send them does not reach their thresholds")
    return lines


def integrators_that_may_fire(net: Network) -> list[str]:
    """One line per ``integrator`` group whose voltage the bound of :func:`never_firing`
    does not keep at or below its threshold within ``time_steps``: it may spike, and a
    neuron that does restarts from 0, so its final voltage is no longer the integral."""
    lines = []
    for g in net.neurons:
        if g.role.kind != "integrator":
            continue
        highest, vth = _highest_voltage(net, g, set()), g.params.vth << fp.ACT_SHIFT
        if highest > vth:
            reach = "is not bounded (a wrap may act)" if math.isinf(highest) else \
                f"may reach {highest:,.0f}"
            lines.append(f"neurons {g.name} (a leaky integrator readout): its voltage {reach}, "
                         f"above the largest threshold vth << 6 = {vth:,}: a neuron that gets "
                         "there spikes and restarts from 0 (the emulator and Lava agree; the "
                         "float model differs). Fewer steps or a shorter tau_mem keep it lower")
    return lines
