"""The deployable :class:`~snn_export.graph.Network` as a NIR graph (nir 1.0.8).

Conventions (also stated in the graph's ``metadata["snn_export"]``):

- Time in seconds, one Loihi step being ``dt =`` :data:`STEP_SECONDS` (``1e-4`` s, the step
  snnTorch's ``import_from_nir`` assumes; give norse's ``from_nir`` ``dt=1e-4``). The
  neuron nodes' Euler step with that ``dt`` is Loihi's update, in Lava's order (current
  first, then the voltage from the new current). Format version 3 (versions 1 and 2 wrote
  time in steps, ``dt = 1``; all are read alike, from the metadata).
- Units: "activation units", the integer synaptic input of one step. NIR's ``I`` and ``v``
  are Loihi's 24-bit ``u`` and ``v`` divided by ``2**6``; thresholds are ``vth``; biases
  are their 13-bit mantissas. Input levels are the graded unsigned integers of
  ``input_bits`` bits.
- Neuron groups: ``CubaLIF`` with ``tau_syn = 4096 / (du + 1)`` steps, ``w_in = tau_syn``
  (in steps), ``tau_mem = 4096 / dv`` steps, ``r = tau_mem`` (in steps) and ``v_leak =
  bias * r``, so that one step adds the input to ``I`` and ``I`` plus the bias to ``v`` in
  full; spike when ``v > v_threshold``, reset to 0. A non-leaky group (``dv = 0``) without
  current memory or bias is an ``IF`` (``r = 1 / dt``: one step adds the input). An
  ``integrator`` readout is a ``CubaLI`` (the same fields without threshold and reset; its
  voltage is the output), a non-leaky one without current memory or bias an ``I`` (``r =
  1 / dt``). ``Delay`` nodes hold steps times ``dt``.
- Synapse groups: ``Conv2d`` (integer weights; a grouped conv as its ungrouped equivalent) or ``Linear`` (``weight * 2**weight_exp``,
  the weights Lava applies; a ``Sparse`` group as its dense matrix), behind a ``Flatten``
  where a ``Linear`` reads a (C, H, W) group, and in front of a ``Delay`` when its synapses
  have delays (one per target neuron: a group whose delays differ within a target is
  refused). Several synapse groups into one neuron group are summed edges.
- Timing: every synapse delivers one step after its source spiked (``synapse_delay_steps:
  1``), as in Lava; the NIR graph carries that only in metadata.

What NIR cannot express is kept in each node's ``metadata["snn_export"]``, the exact
register values from which :mod:`snn_export.deploy.from_nir` rebuilds the network bit for
bit: Loihi's rounding (decays toward zero, negative ``weight_exp`` flooring the sum, 24-bit
wrap and saturation), the integer fields (``vth``, ``du``, ``dv``, ``bias_mant``, raw
weights, ``weight_exp``, ``num_weight_bits``, ``sign_mode``, per-synapse ``delays`` of a
Dense or Sparse group: format version 2 added the Sparse ones), ATRLIF's adaptive threshold
and refractoriness, periodic resets, and each neuron group's role (``role``, ``mask`` and
a gate's ``logic`` or a relay's ``source`` and ``delay``, as in the graph file; absent:
a plain layer). :func:`to_nir` also returns a warning naming each
node whose NIR parameters alone describe it only approximately in a way beyond rounding.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from snn_export import fixed_point as fp
from snn_export.atomic import atomic_path
from snn_export.errors import SnnExportError
from snn_export.export.nir_import import import_nir
from snn_export.graph import INPUT, Conv, Network, Neurons, Sparse

FORMAT_VERSION = 3  # 2 added Sparse delays (a version 1 reader would ignore them); 3: seconds
STEP_SECONDS = 1e-4  # the NIR time of one Loihi step (snnTorch's import_from_nir assumes it)
OUTPUT = "output"


def to_nir(net: Network):
    """``(nir.NIRGraph, warnings)``; the graph is type-checked by nir."""
    nir = import_nir()
    nodes = {INPUT: nir.Input(input_type={"input": np.array(net.input_shape)})}
    edges = []
    warnings = []
    for group in net.neurons:
        nodes[group.name], warning = _neuron_node(nir, group)
        if warning:
            warnings.append(warning)
    for syn in net.synapses:
        source = syn.source
        if not isinstance(syn, Conv) and len(net.shape_of(syn.target)) > 1:
            nodes[syn.name] = _broadcast_conv(nir, syn, net.shape_of(source),
                                              net.shape_of(syn.target))
        elif not isinstance(syn, Conv) and len(net.shape_of(source)) > 1:
            flat = f"{syn.name}_flatten"
            nodes[flat] = nir.Flatten(input_type={"input": np.array(net.shape_of(source))},
                                      start_dim=0, end_dim=-1)
            edges.append((source, flat))
            source = flat
        if syn.name not in nodes:
            nodes[syn.name] = _synapse_node(nir, syn, net.shape_of(syn.source))
        edges.append((source, syn.name))
        last = syn.name
        delays = getattr(syn, "delays", None)
        if delays is not None and delays.any():
            delay = f"{syn.name}_delay"
            shape = net.group(syn.target).shape
            nodes[delay] = nir.Delay(delay=_target_delays(syn, shape) * STEP_SECONDS)
            edges.append((last, delay))
            last = delay
        edges.append((last, syn.target))
    nodes[OUTPUT] = nir.Output(output_type={"output": np.array(net.group(net.readout).shape)})
    edges.append((net.readout, OUTPUT))
    metadata = {"snn_export": {
        "format_version": FORMAT_VERSION, "dt": STEP_SECONDS,
        "time_unit": f"second; one Loihi step is dt = {STEP_SECONDS:g} s",
        "synapse_delay_steps": 1, "units": "activation units (Loihi u, v / 2**6)",
        "time_steps": net.time_steps, "input_bits": net.input_bits,
        "input_levels": "unsigned integers", "readout": net.readout,
        "neuron_order": [n.name for n in net.neurons],
        "synapse_order": [s.name for s in net.synapses],
        **({"depths": dict(net.metadata["depths"])} if "depths" in net.metadata else {})}}
    try:
        graph = nir.NIRGraph(nodes=nodes, edges=edges, metadata=metadata, type_check=True)
    except Exception as exc:  # nir reports type mismatches as ValueError/AssertionError
        raise SnnExportError(f"NIR: the graph does not type-check: {exc}") from None
    return graph, warnings


def write(net: Network, path: str | Path) -> list[str]:
    """Write ``net`` as a NIR file (atomically); returns the warnings of :func:`to_nir`."""
    nir = import_nir()
    graph, warnings = to_nir(net)
    with atomic_path(path) as tmp:
        nir.write(tmp, graph)
    return warnings


def _neuron_node(nir, group: Neurons):
    """A NIR neuron node for one group, and a warning if NIR's parameters are not enough."""
    shape = group.shape
    bias = group.bias.reshape(shape).astype(np.float64)
    meta = {"kind": group.kind, "shape": np.array(shape), "bias_mant": group.bias.copy(),
            "reset_interval": group.reset_interval, "reset_offset": group.reset_offset,
            "rounding": "Loihi fixed point: decays round toward zero, 24-bit states",
            "role": group.role.kind, "mask": int(group.role.mask)}
    if group.role.logic is not None:
        meta["logic"] = group.role.logic
    if group.role.source is not None:
        meta.update(source=group.role.source, delay=group.role.delay)
    warning = None
    if group.kind == "lif":
        p = group.params
        meta.update(vth=p.vth, du=p.du, dv=p.dv)
        threshold, d_i, d_v = p.vth, p.du, p.dv
        if group.reset_interval:
            warning = (f"{group.name}: reset every {group.reset_interval} steps (Lava's "
                       "LIFReset) is kept in metadata only")
    else:
        p = group.params
        meta.update(theta_0=p.theta_0, theta_step=p.theta_step, d_i=p.d_i, d_v=p.d_v,
                    d_theta=p.d_theta, d_r=p.d_r)
        threshold, d_i, d_v = p.theta_0, p.d_i, p.d_v
        warning = (f"{group.name}: adaptive threshold and refractoriness (ATRLIF) have no NIR "
                   "node; written as a CubaLIF at the resting threshold, the rest in metadata")
    full = np.ones(shape)
    metadata = {"snn_export": meta}
    integrator = group.role.kind == "integrator"  # its voltage is the output: no threshold
    if d_v == 0 and integrator:
        if d_i != fp.DECAY_UNITY - 1 or bias.any():
            raise SnnExportError(f"neurons {group.name}: a non-leaky integrator readout "
                                 "(dv = 0) with current memory or a bias has no NIR form")
        return nir.I(r=full / STEP_SECONDS, metadata=metadata), warning
    if d_v == 0:
        if d_i != fp.DECAY_UNITY - 1 or bias.any():
            raise SnnExportError(f"neurons {group.name}: a non-leaky neuron (dv = 0) with "
                                 "current memory or a bias has no NIR form")
        return nir.IF(r=full / STEP_SECONDS, v_threshold=full * threshold, v_reset=0 * full,
                      metadata=metadata), warning
    tau_syn = fp.DECAY_UNITY / (d_i + 1)  # (steps)
    tau_mem = fp.DECAY_UNITY / d_v
    common = dict(tau_syn=full * tau_syn * STEP_SECONDS, tau_mem=full * tau_mem * STEP_SECONDS,
                  r=full * tau_mem, v_leak=bias * tau_mem, w_in=full * tau_syn,
                  metadata=metadata)
    if integrator:
        return nir.CubaLI(**common), warning
    return nir.CubaLIF(v_threshold=full * threshold, v_reset=0 * full, **common), warning


def _synapse_node(nir, syn, source_shape: tuple):
    """A NIR synapse node: the weights Lava applies, raw registers in metadata."""
    meta = _synapse_metadata(syn)
    if isinstance(syn, Conv):
        _, h, w = source_shape
        if syn.weight.shape[2] != syn.weight.shape[3]:
            raise SnnExportError(f"synapses {syn.name}: nir 1.0.8's Conv2d takes only square "
                                 f"kernels, this one is {tuple(syn.weight.shape[2:])}")
        return nir.Conv2d(input_shape=(h, w), weight=_ungrouped(syn.weight, syn.groups),
                          stride=tuple(syn.stride), padding=tuple(syn.padding),
                          dilation=tuple(syn.dilation), groups=1,
                          bias=np.zeros(syn.weight.shape[0]), metadata={"snn_export": meta})
    return nir.Linear(weight=_applied_matrix(syn), metadata={"snn_export": meta})


def _broadcast_conv(nir, syn, source_shape: tuple, target_shape: tuple):
    """A Dense or Sparse group into a (C', H, W) group as the exact Conv2d NIR can type
    (nir has no reshape node): from (C, H, W), a 1x1 conv if every output pixel reads only
    its own position, with the same weights everywhere (a spatial mask broadcast over
    channels); from (C, 1, 1) (a channel mask gating a feature map), kernel (H, W) and
    padding (H - 1, W - 1), so that output pixel (y, x) reads the single input pixel through
    kernel entry (H - 1 - y, W - 1 - x)."""
    if len(source_shape) != 3:
        raise SnnExportError(f"synapses {syn.name}: a Dense or Sparse group from "
                             f"{tuple(source_shape)} into {tuple(target_shape)} has no NIR form "
                             "(nir has no reshape node)")
    c_in, h_in, w_in = source_shape
    c_out, h, w = target_shape
    matrix = _applied_matrix(syn).reshape(c_out, h, w, c_in, h_in, w_in)
    if (h_in, w_in) == (1, 1) and h == w:
        kernel = matrix[..., 0, 0].transpose(0, 3, 1, 2)[:, :, ::-1, ::-1].copy()
        padding = (h - 1, w - 1)
    else:
        kernel = matrix[:, 0, 0, :, 0, 0][:, :, None, None].copy()
        padding = (0, 0)
        pointwise = np.einsum("oi,yY,xX->oyxiYX", kernel[:, :, 0, 0], np.eye(h), np.eye(w))
        if (h_in, w_in) != (h, w) or not np.array_equal(matrix, pointwise):
            raise SnnExportError(
                f"synapses {syn.name}: a Dense or Sparse group from {tuple(source_shape)} into "
                f"{tuple(target_shape)} has no NIR form (nir has no reshape node); only "
                "channel masks (C, 1, 1) into a square map and pointwise maps are written")
    return nir.Conv2d(input_shape=(h_in, w_in), weight=kernel, stride=(1, 1), padding=padding,
                      dilation=(1, 1), groups=1, bias=np.zeros(c_out),
                      metadata={"snn_export": _synapse_metadata(syn)})


def _target_delays(syn, shape: tuple) -> np.ndarray:
    """A Dense or Sparse group's delays as one per target neuron (steps, in ``shape``), as
    NIR's ``Delay`` after the synapses holds them; ``SnnExportError`` where a target
    neuron's synapses differ (a target without synapses: 0)."""
    n = int(np.prod(shape))
    if isinstance(syn, Sparse):
        rows, d = syn.rows, syn.delays
    else:
        rows, d = np.repeat(np.arange(n), syn.delays.shape[1]), syn.delays.reshape(-1)
    low, high = np.full(n, np.inf), np.full(n, -np.inf)
    np.minimum.at(low, rows, d)
    np.maximum.at(high, rows, d)
    if np.any(low != high, where=np.isfinite(low)):
        raise SnnExportError(f"synapses {syn.name}: delays differ within a target neuron; "
                             "NIR's Delay holds one delay per target neuron")
    return np.where(np.isfinite(low), low, 0.0).reshape(shape)


def _applied_matrix(syn) -> np.ndarray:
    """A Dense or Sparse group's (target, source) matrix of the weights Lava applies,
    ``weight * 2**weight_exp`` (absent synapses 0)."""
    applied = syn.effective_weight().astype(np.float64) * 2.0 ** syn.weight_exp
    if isinstance(syn, Sparse):
        matrix = np.zeros(syn.shape)
        matrix[syn.rows, syn.cols] = applied
        return matrix
    return applied


def _synapse_metadata(syn) -> dict:
    """The raw register values of a synapse group."""
    meta = {"kind": type(syn).__name__.lower(), "source": syn.source, "target": syn.target,
            "weight": syn.weight.copy()}
    if syn.float_exp is not None:
        meta["float_exp"] = syn.float_exp
    if isinstance(syn, Conv):
        meta.update(wrap_bits=fp.STATE_BITS, groups=syn.groups)
        return meta
    meta.update(weight_exp=syn.weight_exp, num_weight_bits=syn.num_weight_bits,
                sign_mode=syn.sign_mode or "inferred")
    if isinstance(syn, Sparse):
        meta.update(rows=syn.rows.copy(), cols=syn.cols.copy(), shape=np.array(syn.shape))
    if syn.delays is not None:
        meta["delays"] = syn.delays.copy()
    return meta


def _ungrouped(weight: np.ndarray, groups: int) -> np.ndarray:
    """A grouped conv's weight as the equivalent ungrouped one (zeros between groups):
    nir 1.0.8's Conv2d takes its input channels from ``weight.shape[1]``, ignoring groups."""
    out, per_group = weight.shape[:2]
    full = np.zeros((out, per_group * groups, *weight.shape[2:]))
    step = out // groups
    for g in range(groups):
        full[g * step:(g + 1) * step, g * per_group:(g + 1) * per_group] = \
            weight[g * step:(g + 1) * step]
    return full
