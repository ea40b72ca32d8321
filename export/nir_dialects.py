"""How other tools step NIR's neurons in discrete time, mapped onto snn-export's ``lif``.

A NIR node is a continuous-time ODE and a NIR file stores no time step, so each tool
discretizes with its own ``dt`` and its own conventions (the table :data:`DIALECTS`). With
``a = dt / tau`` per step:

- ``nir``: the NIR definitions by forward Euler.
  LIF: ``v += a (v_leak - v + r x)``; CubaLIF: ``I += a_syn (w_in x - I)``, then
  ``v += a_mem (v_leak - v + r I)`` with the new ``I``; IF: ``v += dt r x``; LI and CubaLI
  as LIF and CubaLIF without threshold.
- ``snntorch``: ``nir`` with ``dt = 1e-4`` s, snnTorch's ``export_to_nir``.
- ``spikingjelly``: ``nir`` with ``dt = 1e-4`` s (its ``export_to_nir`` default), firing at
  ``v >= v_threshold``.
- ``norse`` (norse 1.1 ``to_nir``, ``dt = 1e-3`` s): norse writes ``tau = dt / tau_inv``
  (norse issue #411), so ``a = dt**2 / tau``; its CubaLIF current jumps by ``w_in x``
  (no ``a_syn`` factor) and the voltage reads the new current; IF: ``v += r x``; the
  voltage starts at ``v_leak``.
- ``sinabs`` (sinabs 3.1 ``to_nir``, ``dt = 1``: its time constants are in steps), as
  sinabs's own ``from_nir`` reads a file: ``a = 1 - exp(-dt / tau)`` and the input
  unscaled, LIF ``v = (1 - a) v + a v_leak + r x``; IF: ``v += r x``; firing at
  ``v >= v_threshold``.
- every tool: spike when ``v > v_threshold`` (or ``>=``, above), then ``v = v_reset``;
  ``Threshold``: spike when ``x > threshold``, no memory. A ``>=`` is read as ``>`` the
  float32 just below the threshold: the same spikes in float32, the tools' arithmetic.

snn-export's float neuron (:mod:`snn_export.train.graph_model`) is
``u = (1 - 1/tau_syn) u + W s``, ``v = (1 - 1/tau_mem) v + u + bias``, spike when
``v > threshold``, then ``v = 0``. Each NIR neuron maps onto it exactly: its input weights
are multiplied by :attr:`Neuron.gain`, a constant drive goes into the bias (see
:mod:`snn_export.export.nir_import` for when it starts), and a nonzero
``v_reset`` is moved to 0 by shifting ``v`` (threshold and leak shift with it).
Per-neuron thresholds are folded into the gains (threshold 1); time constants must be one
value per layer (one set of decay registers per neuron group).

All these tools compute a layer's spikes in the step its input arrives; on Loihi every
synaptic hop takes one step, so the deployed network emits the same spikes one step later
per layer (:func:`snn_export.model_graph.latencies`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from snn_export.errors import SnnExportError

# tool -> (what it writes, what snn-export reads of it, what snn-export refuses), for the docs
TOOLS = {
    "snnTorch 1.0 (`export_to_nir(net, sample, ignore_dims=[0])`, `--dialect snntorch`)": (
        "`Leaky` as `LIF` (`tau = dt/(1-beta)`, `r = tau/dt`), `Synaptic` as `CubaLIF` "
        "(`w_in = tau_syn/dt`), `Linear` as `Affine`, `Conv2d` (grouped too), `AvgPool2d`, "
        "`Flatten`; `RLeaky` as a `LIF` with an `Affine` from it back to it (its own spikes "
        "of the step before)",
        "every node it writes, spike for spike (at most 2% of spikes may flip where its "
        "float32 `tau` rounds `beta`); a pool between a conv and its neuron folds into the "
        "conv; `RLeaky` (with `reset_delay=False`) as a recurrent `lif`; a membrane "
        "readout (`Leaky(reset_mechanism=\"none\")`, written as a `LIF`) with `--readout "
        "voltage`",
        "its default subtractive reset is not what its file says (train with "
        "`reset_mechanism=\"zero\"`); `MaxPool2d` has no NIR node; snnTorch 1.0 cannot "
        "export `RSynaptic` (nirtorch fails)"),
    "norse 1.1 (`norse_to_nir.to_nir(module, sample, dt)`, `--dialect norse`)": (
        "`LIFCell` as `CubaLIF` (`tau = dt/tau_inv`, norse issue #411), `LIFBoxCell` as "
        "`LIF`, `IAFCell` as `IF`, `LIBoxCell` as `LI`, `Linear`, `Conv2d`; empty nodes for "
        "`LICell`, `LIFRecurrentCell`, `Flatten`, `AvgPool2d`: `export/norse_to_nir.py` "
        "writes them (`LICell` as `CubaLI` in norse's conventions, `LIFRecurrentCell` as "
        "its input `Linear`, a `CubaLIF` and a `Linear` back to it), zero biases for "
        "bias-free layers and the cell's own `v_reset` (norse writes 0)",
        "`LIFCell`, `LIFBoxCell`, `IAFCell`, `LIFRecurrentCell` with convolutions, pooling "
        "and dense layers, spike for spike; `LICell` and `LIBoxCell` readouts, voltage for "
        "voltage (to float32's rounding; the class: the largest voltage after the last "
        "step)",
        "`MaxPool2d`; other recurrent cells (`LIRecurrentCell`, ...)"),
    "any NIR writer (`--dialect nir --dt SECONDS`)": (
        "NIR's ODEs",
        "`Affine`, `Linear`, `Conv2d` (grouped too), `Flatten`, `AvgPool2d`, `SumPool2d`, "
        "`LIF`, `CubaLIF`, `IF`, `Threshold`, and `LI`, `CubaLI` as the readout, by "
        "forward Euler at `--dt`; `Delay` (whole steps) of spikes or of a synapse layer's "
        "output; a neuron's `Affine` or `Linear` back to itself as its recurrent weights "
        "(its spikes of the step before)",
        "`I` (no leak), a leaky integrator that another node reads, a `Delay` that varies "
        "over its neurons, `Scale`, `Conv1d`, a loop other than a neuron's `Affine` or "
        "`Linear` back to itself (into a flat layer), sub-graphs, a synaptic node summing "
        "several inputs or feeding several neurons"),
    "SpikingJelly 0.0.0.1 (`export_to_nir(net, sample, dt=1e-4)`, `--dialect spikingjelly`)": (
        "`LIFNode` and `ParametricLIFNode` as `LIF` (`tau = tau_steps dt`, `r = 1`, or "
        "`tau` without `decay_input`, `v_leak = v_reset`), `IFNode` as `IF` (`r = 1/dt`), "
        "`Linear`/`Affine`, `Conv2d`, `AvgPool2d`, `Flatten`",
        "every node it writes, by NIR's equations at `dt = 1e-4` s, firing at `v >= "
        "v_threshold`; tested on hand-built graphs in its conventions (its NIR export is "
        "not on PyPI: 0.0.0.0.14 has none)",
        "a soft reset (`v_reset=None`, written as a reset to 0 without a word); "
        "`MaxPool2d`"),
    "sinabs 3.1 (`sinabs.to_nir(model, sample)`, `--dialect sinabs`)": (
        "`IAF` as `IF` (`r = 1`), `LIF` as `LIF` (`tau` in steps, `r = 1`), `ExpLeak` as "
        "`LI`, `Linear` as `Affine`, `Conv2d`, `SumPool2d`, `Flatten`",
        "every node it writes, as sinabs's own `from_nir` reads them: `v = exp(-dt/tau) v "
        "+ r x` (no `1 - exp(-dt/tau)` on the input, i.e. `norm_input=False`), `IF`: "
        "`v += r x`, firing at `v >= v_threshold`; tested on hand-built graphs in its "
        "conventions (sinabs 3.1.3 needs nir<=1.0.4 and samna, beside the pinned nir "
        "1.0.8; with `--no-deps` its `to_nir` writes these nodes)",
        "what its file does not say: sinabs's default `MultiSpike` and subtractive reset "
        "(train with `SingleSpike` and `MembraneReset()`), `norm_input=True`, `min_v_mem`"),
    "rockpool": (
        "not tested (rockpool 3.1 needs jax or samna for its NIR export)",
        "as `--dialect nir` where its files follow NIR's equations",
        "as above"),
}


def _euler(dt: float, tau: float) -> float:
    return dt / tau


@dataclass(frozen=True)
class Dialect:
    """How one tool steps NIR's neurons (see the module docstring).

    per_step: ``(dt, tau) -> a``, the fraction of the way to rest a state goes in one step.
    scaled_input: a LIF's or LI's input is scaled by ``a`` as in NIR's Euler step (sinabs
        adds it unscaled). cuba_jump: a CubaLIF's current jumps by ``w_in x`` (norse), not
        ``a_syn w_in x``. if_per_second: an IF adds ``dt r x`` (NIR), not ``r x``.
    starts_at_leak: the voltage starts at ``v_leak`` (norse), not 0. at_threshold: a
        neuron fires at ``v >= v_threshold`` (sinabs, SpikingJelly), not ``v >``.
    dt: its step in seconds, or None (``--dt`` must say)."""

    per_step: Callable[[float, float], float] = _euler
    scaled_input: bool = True
    cuba_jump: bool = False
    if_per_second: bool = True
    starts_at_leak: bool = False
    at_threshold: bool = False
    dt: float | None = None


DIALECTS = {
    "norse": Dialect(per_step=lambda dt, tau: dt * dt / tau, cuba_jump=True,
                     if_per_second=False, starts_at_leak=True, dt=1e-3),
    "snntorch": Dialect(dt=1e-4),
    "spikingjelly": Dialect(at_threshold=True, dt=1e-4),
    "sinabs": Dialect(per_step=lambda dt, tau: -math.expm1(-dt / tau), scaled_input=False,
                      if_per_second=False, at_threshold=True, dt=1.0),
    "nir": Dialect(),
}
INTEGRATORS = ("LI", "CubaLI")  # no threshold: snn-export's ``li`` (readouts)
NEURONS = ("LIF", "CubaLIF", "IF", "Threshold", *INTEGRATORS)


@dataclass
class Neuron:
    """A NIR neuron node as snn-export's ``lif`` (or ``li``, ``op``). attrs: the node's
    ``tau_mem``, ``tau_syn`` (steps) and ``threshold`` (``lif`` only); gain: per neuron,
    multiplies the input weights; drive: per neuron, added to the voltage every step (float
    units after the gain). An input synapse's bias is a constant input ``x``: it takes the
    gain like the weights."""

    op: str
    attrs: dict
    gain: np.ndarray
    drive: np.ndarray
    warnings: list = field(default_factory=list)


class FieldShapeError(SnnExportError):
    """A neuron field whose shape is not the neuron's (the shape its input gives)."""


def _array(node, name: str, field_: str, shape: tuple) -> np.ndarray:
    value = np.asarray(getattr(node, field_), dtype=np.float64)
    try:
        return np.broadcast_to(value, shape)
    except ValueError:
        raise FieldShapeError(f"NIR node {name!r} ({type(node).__name__}): field {field_!r} "
                             f"has shape {value.shape}, not the neuron shape {shape}") from None


def _per_step(name: str, node, field_: str, shape: tuple, dt: float,
              dialect: tuple[str, Dialect]) -> float:
    """``a`` of one time constant, the same for every neuron of the node."""
    tau = _array(node, name, field_, shape)
    if not np.all(tau > 0):
        raise SnnExportError(f"NIR node {name!r}: {field_} must be > 0")
    if np.ptp(tau) > 1e-6 * np.max(tau):
        raise SnnExportError(f"NIR node {name!r}: {field_} varies over its neurons "
                             f"({tau.min():g} to {tau.max():g}); snn-export deploys one time "
                             "constant per layer")
    a = dialect[1].per_step(dt, float(np.mean(tau)))
    if a > 1 + 1e-6:
        raise SnnExportError(f"NIR node {name!r}: {field_}={np.mean(tau):g} is shorter than "
                             f"one step of dt={dt:g} s ({dialect[0]} conventions): check --dt "
                             "and --dialect")
    return min(a, 1.0)


def neuron(name: str, node, shape: tuple, dialect_name: str, dt: float,
           integrator: bool = False) -> Neuron:
    """The ``lif`` equivalent of NIR neuron ``node`` (one of :data:`NEURONS`) of ``shape``;
    ``li`` for the :data:`INTEGRATORS` and where ``integrator`` says so (the same equations
    without threshold and reset: a membrane readout)."""
    dialect = DIALECTS[dialect_name]
    kind = type(node).__name__
    ones = np.ones(shape)
    integrator = integrator or kind in INTEGRATORS
    if kind == "Threshold":
        th, reset, leak = _array(node, name, "threshold", shape), 0 * ones, 0 * ones
        a_mem, a_syn, gain, initial = 1.0, 1.0, ones, 0 * ones
    else:
        th = ones if integrator else _array(node, name, "v_threshold", shape)
        reset = _array(node, name, "v_reset", shape) if getattr(node, "v_reset", None) \
            is not None else 0 * ones
        r = _array(node, name, "r", shape)
        leak = _array(node, name, "v_leak", shape) if kind != "IF" else reset
        a_syn = 1.0
        if kind == "IF":
            a_mem, gain = 0.0, r * (dt if dialect.if_per_second else 1.0)
        else:
            a_mem = _per_step(name, node, "tau" if kind in ("LIF", "LI") else "tau_mem", shape,
                              dt, (dialect_name, dialect))
            gain = a_mem * r if dialect.scaled_input else r
        if kind in ("CubaLIF", "CubaLI"):
            a_syn = _per_step(name, node, "tau_syn", shape, dt, (dialect_name, dialect))
            w_in = _array(node, name, "w_in", shape)
            gain = gain * w_in * (1.0 if dialect.cuba_jump else a_syn)
        initial = (leak if dialect.starts_at_leak and kind != "IF" else 0 * ones) - reset
    if integrator:  # no threshold, no reset: the voltage itself is the output
        th, initial, reset = ones, initial + reset, 0 * ones
    elif dialect.at_threshold and kind != "Threshold":  # v >= th (float32): v > the one below
        th = np.nextafter(th.astype(np.float32), np.float32(-np.inf)).astype(np.float64)
    th = th - reset
    if not np.all(th > 0):
        raise SnnExportError(f"NIR node {name!r}: the threshold must lie above v_reset")
    uniform = np.ptp(th) <= 1e-9 * np.max(th)
    scale = ones if uniform else 1.0 / th
    attrs = {"tau_mem": math.inf if a_mem == 0 else 1 / a_mem,
             "tau_syn": None if a_syn >= 1 else 1 / a_syn}
    if not integrator:
        attrs["threshold"] = float(np.mean(th)) if uniform else 1.0
    warnings = []
    if np.any(initial != 0):
        warnings.append(f"NIR node {name!r}: {dialect_name} starts the voltage at "
                        f"{np.abs(initial).max():g} from v_reset, the deployed neuron at "
                        "v_reset: the first steps may differ")
    return Neuron("li" if integrator else "lif", attrs, gain * scale,
                  a_mem * (leak - reset) * scale, warnings)
