"""The deployment report: ``report.md`` beside the description, with PNG figures, and the
same as one self-contained page, ``report.html`` (figures embedded), to open in a browser.

Sections: what was written and how to load it; one row per neuron group (neurons, stored
synapses, fan-in, weight bits and exponents, threshold, decays, delays, firing rate, ACs and
MACs per sample, compliance); the Loihi 2 resource estimate with its assumptions (the
target system, the cores and chips needed, the chip(s) of each group); the
energy estimate (seed 004's Eq. 11); the figures (spike raster of one test sample, firing
rates, and for attention networks heatmaps of the binary masks); after ``--evaluate`` the
accuracies; after ``--verify`` the bit-exactness table per group.

Activity (firing rates, ACs, figures) comes from the integer emulator on a few test samples,
which Lava matches bit for bit (:mod:`snn_export.sim.verify`).
"""
from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from snn_export import fixed_point as fp
from snn_export import metrics
from snn_export.deploy import formats
from snn_export.deploy.compliance import (Loihi2Limits, LoihiSystem, Violation, loihi_system,
                                          partition, resources)
from snn_export.deploy.lower_graph import BIAS_SOURCE
from snn_export.deploy.netx_import import INPUT_NEURONS
from snn_export.graph import MAX_DELAY, Conv, Network

from . import emulator, plots
from .emulator import as_frames

REPORT_NAME, HTML_NAME = "report.md", "report.html"
RASTER_NAME, RATES_NAME, MASKS_NAME = "raster.png", "firing_rates.png", "masks.png"
SAMPLES = 16  # test samples the activity is measured on
CARRIERS = ("relay", "always_on")  # roles that carry delays and biases, not features


_STYLE = ("body{font-family:sans-serif;max-width:80em;margin:2em auto;padding:0 1em}"
          "table{border-collapse:collapse;font-size:90%}th,td{border:1px solid #bbb;"
          "padding:.2em .5em;text-align:left}img{max-width:100%}code{background:#f3f3f3}")


def to_html(markdown: str, folder: Path) -> str:
    """``markdown`` as one HTML page, its PNG figures (files in ``folder``) embedded."""
    from markdown_it import MarkdownIt

    body = MarkdownIt("commonmark").enable("table").render(markdown)
    body = re.sub(r'src="([\w.-]+\.png)"', lambda m: 'src="data:image/png;base64,' + base64
                  .b64encode((folder / m.group(1)).read_bytes()).decode() + '"', body)
    return (f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>snn-export report'
            f"</title><style>{_STYLE}</style></head>\n<body>\n{body}</body></html>\n")


@dataclass
class Report:
    """What the report says. description: the written file's name; x: input samples for
    the activity (None: not available, with ``no_samples`` saying why); allowed: the
    compliance violations the user accepted (``--allow``); system: the Loihi 2 system the
    resource estimate is placed on (``--system``: a name or a chip count); netx_source: the
    netx file another tool wrote that the network was read from (its header then says
    netx's timing and registers: there is no trained model)."""

    net: Network
    description: str
    x: np.ndarray | None = None
    no_samples: str = ""
    allowed: list[Violation] = field(default_factory=list)
    system: LoihiSystem | str | int = "chip"
    evaluation: object = None  # sim.evaluate.Evaluation
    verification: object = None  # sim.verify.VerifyResult
    warnings: list[str] = field(default_factory=list)
    netx_source: str | None = None

    def write(self, folder: Path) -> list[Path]:
        """``report.md``, its figures and ``report.html`` into ``folder``; returns the files."""
        net, files = self.net, []
        activity = None
        if self.x is not None and len(self.x):
            activity = emulator.run(net, as_frames(net, self.x))
        rates = {g.name: float(activity.spikes[g.name].mean()) for g in net.neurons} \
            if activity else None
        lines = self._header() + self._table(rates) + self._resources() + self._energy(rates)
        if activity:
            # relays and always-on groups: left out of the raster, grey among the rates
            carriers = {g.name for g in net.neurons if g.role.kind in CARRIERS}
            plots.raster(folder / RASTER_NAME, net, activity,
                         [g.name for g in net.neurons if g.name not in carriers])
            plots.firing_rates(folder / RATES_NAME, rates, carriers)
            files += [folder / RASTER_NAME, folder / RATES_NAME]
            lines += ["## Activity", "",
                      f"Measured in the integer emulator on {len(self.x)} test samples.", "",
                      f"![spike raster]({RASTER_NAME})", "", f"![firing rates]({RATES_NAME})",
                      ""]
            masks = net.masks()
            if masks:
                plots.masks(folder / MASKS_NAME, net, activity, masks, self.x)
                files.append(folder / MASKS_NAME)
                lines += ["Attention masks (" + ", ".join(f"`{m}`" for m in masks) + "): "
                          "spike counts over all steps, normalised per map (as BIASNN's "
                          "Fig. 5); channel masks are strips.", "",
                          f"![attention masks]({MASKS_NAME})", ""]
        else:
            lines += ["## Activity", "", f"Not measured: {self.no_samples}.", ""]
        lines += self._results()
        text = "\n".join(lines)
        (folder / REPORT_NAME).write_text(text)
        (folder / HTML_NAME).write_text(to_html(text, folder))
        return [folder / REPORT_NAME, folder / HTML_NAME, *files]

    def _header(self) -> list[str]:
        net, name = self.net, self.description
        load = formats.of(name).load.format(name=name, bits=net.input_bits)
        readout = ("(a leaky integrator: the class is its largest voltage after the last step)"
                   if net.group(net.readout).role.kind == "integrator"
                   else "(the class is its largest spike count)")
        lines = ["# snn-export deployment report", "", f"- description: `{name}` ({load})"]
        if self.netx_source is None:
            lines += [
                f"- input: shape {tuple(net.input_shape)}, unsigned {net.input_bits}-bit "
                f"levels; {net.time_steps} steps per sample ({net.window} of input, then the "
                f"readout's depth, {net.time_steps - net.window}); readout `{net.readout}` "
                f"{readout}",
                "- timing: the trained model's (standard: a layer's spikes at step t from its "
                "input at step t), each group delayed by its depth on the chip, one step per "
                "synaptic hop: a group is at rest until its first input arrives; layer biases "
                "are synapses from the always-on group `bias_source`, delayed to start then; "
                "shallower branches are delayed by their Dense and Sparse synapses "
                "(DelayDense, DelaySparse); the readout's spike count over the run is its "
                "count over its window",
                self._relays(),
                "- neurons: CUBA LIF or ATRLIF in Loihi's fixed point (24-bit u and v, 12-bit "
                "decays, strict threshold v > vth << 6, reset to 0); a layer's bias: the "
                "weight 2m << e of its synapse from `bias_source`",
                "- weights: 8-bit mantissas m applied as 2m, float weight = m * 2**e; joins, "
                "masks and max-pooling are gate groups (memoryless LIF fed by weight-2 "
                "synapses)"]
        else:
            lines += [
                f"- read from: `{self.netx_source}` (a lava-dl netx file another tool wrote: "
                "every register as stock netx sets it; `--verify` runs that file in stock "
                "netx)",
                f"- input: shape {tuple(net.input_shape)}, unsigned {net.input_bits}-bit "
                f"levels at each of the {net.time_steps} steps per sample (the run's length, "
                "`--time-steps`: netx files hold none); readout "
                f"`{net.readout}` {readout}",
                "- timing: netx's: each layer a step behind the layer it reads (one step per "
                "synaptic hop), plus the file's axonal delays; a layer sees the input of the "
                "steps its depth leaves it",
                "- neurons: CUBA LIF in Loihi's fixed point (24-bit u and v, 12-bit decays, "
                "strict threshold v > vth << 6, reset to 0); a layer's bias: the file's bias "
                "mantissa, exponent 6, from the first step",
                "- weights: Dense as netx fits them (8-bit mantissas, its weight exponent and "
                "bit count), Conv as stored"]
            if INPUT_NEURONS in net.metadata:
                bias = (" and `bias` through one from the always-on `bias_source`"
                        if any(g.name == BIAS_SOURCE for g in net.neurons) else "")
                lines.append(f"- input layer `{net.metadata[INPUT_NEURONS]}`: neurons of its "
                             "own, whose current gets `weight * x + bias` at each step (netx's "
                             "`in_layer.transform`): `weight` through a one-to-one synapse "
                             f"from the input{bias}")
        return lines + [f"- warning: {w}" for w in self.warnings] + [""]

    def _relays(self) -> str:
        """How many relay neurons there are, and why (every other delay is on a synapse)."""
        net = self.net
        relays = [g for g in net.neurons if g.role.kind == "relay"]
        if not relays:
            return "- relays: none (every alignment delay is on a synapse)"
        names = {g.name for g in relays}
        readers = sorted(s.name for s in net.synapses if isinstance(s, Conv) and s.source in names)
        why = [f"always-on relays for biases deeper than {MAX_DELAY + 1} steps"] \
            if any(g.role.source == BIAS_SOURCE for g in relays) else []
        why += [f"delays into Conv synapses, which have none in Lava: "
                f"{', '.join(f'`{r}`' for r in readers)}"] if readers else []
        return (f"- relays: {sum(g.size for g in relays):,} neurons in {len(relays)} groups "
                f"(`<source>_delay<d>`): {'; '.join(why) or f'delays beyond {MAX_DELAY} steps'}")

    def _table(self, rates: dict | None) -> list[str]:
        net = self.net
        ops = {o.layer: o for o in metrics.network_ops(net, rates)} if rates else {}
        res = {r.layer: r for r in resources(net)}
        rows = ["## Layers", "",
                "| group | neuron | shape | inputs | synapses | fan-in | weights (bits, e) "
                "| threshold | decays | delay | firing rate | ACs | MACs | compliance |",
                "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for g in net.neurons:
            incoming = net.incoming(g.name)
            p = g.params
            if g.kind == "lif":
                threshold, decays = str(p.vth), f"du {p.du}, dv {p.dv}"
            else:
                threshold = f"{p.theta_0} (+{p.theta_step})"
                decays = f"i {p.d_i}, v {p.d_v}, theta {p.d_theta}, r {p.d_r}"
            kind = {"layer": g.kind.upper(), "always_on": "always on"}.get(g.role.kind,
                                                                           g.role.kind)
            delay = max([int(s.delays.max(initial=0)) for s in incoming
                         if not isinstance(s, Conv) and s.delays is not None] or [0])
            if g.role.kind == "relay":
                delay = g.role.delay
            names = {g.name, *(s.name for s in incoming)}
            broken = sorted({v.rule for v in self.allowed if v.layer in names})
            macs = sum(ops[s.name].macs for s in incoming) if ops else None
            acs = sum(ops[s.name].acs for s in incoming) if ops else None
            rows.append(
                f"| {g.name} | {kind} | {'x'.join(map(str, g.shape))} "
                f"| {', '.join(f'{s.source} ({type(s).__name__})' for s in incoming)} "
                f"| {res[g.name].synapses} | {res[g.name].fan_in} "
                f"| {'; '.join(_weights(s) for s in incoming)} | {threshold} | {decays} "
                f"| {delay} | {_num(rates and rates[g.name], '.4f')} | {_num(acs, ',.0f')} "
                f"| {_num(macs, ',.0f')} | {'allowed ' + ', '.join(broken) if broken else 'ok'} |")
        rows.append("")
        if self.allowed:
            rows += ["Accepted with `--allow` (not spike-only on a stock chip):", "",
                     *[f"- `{v.rule}` at `{v.layer}`: {v.message}" for v in self.allowed], ""]
        return rows

    def _resources(self) -> list[str]:
        limits, rows = Loihi2Limits(), resources(self.net)
        system, placed = loihi_system(self.system), partition(self.net, limits, rows)
        bits = sum(r.memory_bits for r in rows)
        fits = placed.chips <= system.chips
        return ["## Loihi 2 resources (estimate)", "",
                f"- {sum(r.neurons for r in rows):,} neurons, {sum(r.synapses for r in rows):,} "
                f"stored synapses, {bits / 8 / 1024:,.1f} KiB of synaptic memory",
                f"- system: {system.describe()}: {system.chips:,} x {limits.cores_per_chip} "
                "cores",
                f"- needs {placed.cores:,} cores on {_plural(placed.chips, 'chip')}: "
                + ("fits" if fits else
                   f"does not fit the system's {_plural(system.chips, 'chip')}"),
                f"- assumptions: {limits.neurons_per_core:,} neurons and "
                f"{limits.synaptic_memory_bits // 8 // 1024} KiB of synaptic memory per core "
                "(published chip totals divided by 128 cores); one core or more per group, "
                "placed in network order, chip after chip (a group may continue on the next "
                "chip); 8-bit weights, plus 6 bits per synapse with a delay; a Conv stored as "
                "its dense equivalent (an upper bound: Lava's Loihi 2 Conv storage is not "
                "published); a Sparse's index storage not counted", "",
                "| group | synaptic memory (KiB) | cores | chip |", "|---|---|---|---|",
                *[f"| {r.layer} | {r.memory_bits / 8 / 1024:,.1f} | {r.cores:,} "
                  f"| {placed.chips_of(r.layer)} |" for r in rows], ""]

    def _energy(self, rates: dict | None) -> list[str]:
        if not rates:
            return []
        ops = metrics.network_ops(self.net, rates)
        macs, acs = sum(o.macs for o in ops), sum(o.acs for o in ops)
        return ["## Energy (estimate)", "",
                f"- {metrics.energy_pj(ops) * 1e-6:.4f} uJ per sample: seed 004's Eq. 11, "
                f"E = {metrics.E_MAC_PJ} pJ x {macs:,.0f} MACs + {metrics.E_AC_PJ} pJ x "
                f"{acs:,.0f} ACs",
                "- MACs: synapses reading the graded input, every step; ACs: synapses "
                "reading spikes, times their source's firing rate (gates and relays "
                "included); 45 nm figures as in the seed papers, not a Loihi measurement", ""]

    def _results(self) -> list[str]:
        out = []
        if self.evaluation is not None:
            out += ["## Accuracy", "", self.evaluation.summary(), ""]
        v = self.verification
        if v is not None:
            acc = v.accuracy
            out += ["## Verification in Lava", "",
                    f"{v.samples} samples in Lava's CPU simulator and in the emulator: "
                    + ("**bit-exact**" if v.bit_exact else f"**MISMATCH** ({v.mismatches} "
                       "differing spikes and states)")
                    + f"; accuracy: float {_num(acc['float'], '.4f')}, emulator "
                    f"{_num(acc['emulator'], '.4f')}, Lava {_num(acc['lava'], '.4f')}", "",
                    f"{v.lava_run()}.", "",
                    "| group | spikes (emulator) | spikes (Lava) | differing spikes "
                    "| differing states |", "|---|---|---|---|---|",
                    *[f"| {c.layer} | {c.spikes_emulator} | {c.spikes_lava} | {c.differing} "
                      f"| {c.differing_states} |" for c in v.layers], ""]
            if v.model_differing:
                out += [f"The trained model's quantized forward differs from the emulator on "
                        f"{v.model_differing} spikes.", ""]
        return out


def _weights(s) -> str:
    """Bit width and float exponent ``e`` of one synapse group's weights (``unit``: a gate's
    or relay's weight-2 synapses)."""
    bits = getattr(s, "num_weight_bits", fp.WEIGHT_BITS)  # a Conv's weights are 8-bit
    return f"{bits}-bit, " + ("unit" if s.float_exp is None else f"e {s.float_exp}")


def _plural(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'s' * (n != 1)}"


def _num(value, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)
