"""Fold the synaptic nodes between two spiking nodes into one float synapse.

A neuron's input in a :class:`~snn_export.model_graph.ModelGraph` is a short chain of
synaptic nodes: ``[avgpool] -> conv -> [batchnorm] -> [avgpool]`` or ``[avgpool] ->
[flatten] -> linear -> [batchnorm]``, read from one spiking node, the graph input, or an
``add`` of spikes, with ``delay`` nodes in front of it or at its end (their steps add up). Loihi
runs it as one synapse group (one per spike term of an ``add``: see
:func:`~snn_export.model_graph.spike_terms`), so each chain folds into a
:class:`FloatSynapse`:

- :func:`fold_batchnorm`: the normalisation's scale into the weights, its shift into the
  bias (eval-mode statistics);
- :func:`fold_avgpool_into_conv`, :func:`fold_avgpool_into_dense`: average pooling of spikes
  becomes part of the next weights (a sum over the window with ``1/k`` folded in);
- :func:`fold_avgpool_after_conv`: average pooling of a convolution's output (before its
  neuron, as in snnTorch's CNN tutorial) becomes part of the convolution;
- the encoding layer's ``input_scale`` folds into the weights from the graph input.

All functions are torch operations, so quantization-aware training folds with gradients and
the deploy stage folds the same tensors to the same values.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Mapping

import torch
import torch.nn.functional as F

from .errors import SnnExportError
from .graph import INPUT
from .model_graph import GRADED, GROUPS, ModelGraph, conv_geometry, op_entry, pair, spike_terms


@dataclass
class FloatSynapse:
    """One synapse group in float. kind ``"dense"``: weight (out features, source size) on
    the row-major flattened source; kind ``"conv"``: weight (out, in / groups, kh, kw) with
    ``geometry`` (PyTorch conventions). bias: (out channels or features,), float units of
    the target's voltage, added every step. delay: steps the source's spikes arrive late
    (the target reads those of step ``t - delay``); the bias is not delayed."""

    source: str
    kind: str
    weight: torch.Tensor
    bias: torch.Tensor
    geometry: dict | None = None
    delay: int = 0

    def apply(self, x: torch.Tensor) -> torch.Tensor:
        """Synaptic input of a batch of source frames ``x`` (batch, *source shape), bias
        excluded."""
        if self.kind == "conv":
            g = self.geometry
            return F.conv2d(x, self.weight, None, g["stride"], g["padding"], g["dilation"],
                            g["groups"])
        return x.flatten(1) @ self.weight.T


def fold_batchnorm(syn: FloatSynapse, weight, bias, mean, var, eps: float) -> FloatSynapse:
    """``BN(W x + b) = (s W) x + s (b - mean) + beta`` with ``s = gamma / sqrt(var + eps)``."""
    s = weight / torch.sqrt(var + eps)
    w = syn.weight * s.reshape(-1, *[1] * (syn.weight.dim() - 1))
    return replace(syn, weight=w, bias=s * (syn.bias - mean) + bias)


def fold_avgpool_into_conv(syn: FloatSynapse, k: tuple) -> FloatSynapse:
    """A conv after a ``k``-average-pool (stride ``k``) is one conv on the unpooled input:
    kernel ``W'[.., a k + i, b k + j] = W[.., a, b] / (kh kw)`` over the dilated taps,
    stride and padding times ``k``, dilation 1. Exact when ``k`` divides the input size.
    A 1x1 kernel (after a global pool) stays a broadcast view over the window, not a copy."""
    g = syn.geometry
    (kh, kw), (dh, dw) = g["kernel"], g["dilation"]
    w = syn.weight
    # (out, in, dilated row, row in window, dilated column, column in window)
    shape = (*w.shape[:2], (kh - 1) * dh + 1, k[0], (kw - 1) * dw + 1, k[1])
    taps = (w / (k[0] * k[1]))[:, :, :, None, :, None].expand(-1, -1, -1, k[0], -1, k[1])
    if taps.shape != shape:  # dilated: zeros between the taps
        spaced = w.new_zeros(shape)
        spaced[:, :, ::dh, :, ::dw] = taps
        taps = spaced
    big = taps.reshape(*w.shape[:2], shape[2] * k[0], shape[4] * k[1])
    geometry = {"kernel": tuple(big.shape[2:]), "groups": g["groups"], "dilation": (1, 1),
                "stride": (g["stride"][0] * k[0], g["stride"][1] * k[1]),
                "padding": (g["padding"][0] * k[0], g["padding"][1] * k[1])}
    return replace(syn, weight=big, geometry=geometry)


def fold_avgpool_after_conv(syn: FloatSynapse, k: tuple) -> FloatSynapse:
    """A ``k``-average-pool (stride ``k``) of a conv's output is one conv: every pooled
    output sums the conv's taps shifted by ``i * stride`` for ``i`` in the window, so the
    kernel grows to ``(k - 1) * stride + (kernel - 1) * dilation + 1`` with ``1/k`` of the
    weights at each shift, dilation 1, stride times ``k``, the same padding; the bias is
    unchanged. Equal to pooling with floor (rows left over are dropped in both)."""
    g = syn.geometry
    (kh, kw), (dh, dw), (sh, sw) = g["kernel"], g["dilation"], g["stride"]
    w = syn.weight
    span = ((kh - 1) * dh + 1, (kw - 1) * dw + 1)
    big = w.new_zeros(*w.shape[:2], (k[0] - 1) * sh + span[0], (k[1] - 1) * sw + span[1])
    part = w / (k[0] * k[1])
    for i in range(k[0]):
        for j in range(k[1]):
            big[:, :, i * sh:i * sh + span[0]:dh, j * sw:j * sw + span[1]:dw] += part
    geometry = {"kernel": tuple(big.shape[2:]), "groups": g["groups"], "dilation": (1, 1),
                "stride": (sh * k[0], sw * k[1]), "padding": g["padding"]}
    return replace(syn, weight=big, geometry=geometry)


def fold_avgpool_into_dense(syn: FloatSynapse, in_shape: tuple, k: tuple) -> FloatSynapse:
    """A dense layer after a ``k``-average-pool of a (C, H, W) input: ``W' = W P`` with
    ``P`` the pooling matrix, channel by channel (one channel's: flattened pooled size,
    H W)."""
    c, h, w = in_shape
    eye = torch.eye(h * w, dtype=syn.weight.dtype, device=syn.weight.device)
    pool = F.avg_pool2d(eye.reshape(-1, 1, h, w), k).reshape(h * w, -1).T
    out = syn.weight.shape[0]
    return replace(syn, weight=(syn.weight.reshape(out, c, -1) @ pool).reshape(out, -1))


def fold(graph: ModelGraph, name: str, tensors: Mapping[str, torch.Tensor],
         shapes: Mapping[str, tuple]) -> FloatSynapse:
    """The synapse that the chain of synaptic nodes ending at ``name`` amounts to.

    tensors: ``"<node>.weight"``, ``"<node>.bias"``, ``"<node>.running_mean"``,
    ``"<node>.running_var"`` (a checkpoint's state_dict naming); shapes: from
    :func:`~snn_export.model_graph.shapes`.
    """
    node = graph.node(name)
    return op_entry(_FOLD, node, "folding")(graph, node, tensors, shapes)


def _fold_batchnorm(graph: ModelGraph, node, tensors: Mapping[str, torch.Tensor],
                    shapes: Mapping[str, tuple]) -> FloatSynapse:
    name = node.name
    syn = fold(graph, node.inputs[0], tensors, shapes)
    return fold_batchnorm(syn, tensors[f"{name}.weight"], tensors[f"{name}.bias"],
                          tensors[f"{name}.running_mean"], tensors[f"{name}.running_var"],
                          float(node.get("eps", 1e-5)))


def _not_a_chain_end(graph: ModelGraph, node, tensors: Mapping[str, torch.Tensor],
                     shapes: Mapping[str, tuple]) -> FloatSynapse:
    raise SnnExportError(f"node {node.name!r} ({node.op}): a neuron's input must be a conv or "
                         "linear node, optionally followed by batchnorm (and, after a conv, "
                         "avgpool) and delays")


def _fold_pooled(graph: ModelGraph, node, tensors: Mapping[str, torch.Tensor],
                 shapes: Mapping[str, tuple]) -> FloatSynapse:
    """An avgpool ending a chain: the pooled conv (or conv and batchnorm, behind delays)
    before it."""
    src, late = node.inputs[0], 0
    while src != INPUT and graph.node(src).op == "delay":
        src, late = graph.node(src).inputs[0], late + int(graph.node(src).get("steps"))
    if src == INPUT or graph.kind(src) != "synaptic" or \
            graph.node(_layer(graph, src)).op != "conv":
        return _not_a_chain_end(graph, node, tensors, shapes)
    syn = fold_avgpool_after_conv(fold(graph, src, tensors, shapes), pair(node.get("kernel")))
    return replace(syn, delay=syn.delay + late)


def _fold_delay(graph: ModelGraph, node, tensors: Mapping[str, torch.Tensor],
                shapes: Mapping[str, tuple]) -> FloatSynapse:
    """A delay ending a chain: the chain before it, its steps added."""
    src = node.inputs[0]
    if src == INPUT or graph.kind(src) != "synaptic":
        return _not_a_chain_end(graph, node, tensors, shapes)
    syn = fold(graph, src, tensors, shapes)
    return replace(syn, delay=syn.delay + int(node.get("steps")))


def _layer(graph: ModelGraph, name: str) -> str:
    """The conv or linear node of the chain ending at ``name`` (through a batchnorm)."""
    node = graph.node(name)
    return node.inputs[0] if node.op == "batchnorm" else name


def _fold_layer(graph: ModelGraph, node, tensors: Mapping[str, torch.Tensor],
                shapes: Mapping[str, tuple]) -> FloatSynapse:
    """A conv or linear node, with the delays, avgpool and (before a linear) flatten in
    front of it."""
    name = node.name
    weight = tensors[f"{name}.weight"]
    bias = tensors.get(f"{name}.bias")
    bias = weight.new_zeros(weight.shape[0]) if bias is None else bias
    src, pool, delay = node.inputs[0], None, 0
    while graph.kind(src) == "synaptic":
        front = graph.node(src)
        if front.op == "delay":
            delay += int(front.get("steps"))
        elif front.op == "avgpool" and pool is None:
            pool = front
        elif not (front.op == "flatten" and node.op == "linear"):
            break
        src = front.inputs[0]
    if graph.kind(src) not in ("spikes", "input") and spike_terms(graph, src) is None:
        raise SnnExportError(f"node {name!r} ({node.op}): reads {src!r}, which is neither "
                             "spikes, an add of spikes nor the graph input (allowed in "
                             "between: delay, avgpool, flatten)")
    if src == INPUT:
        weight = weight * graph.input_scale
    if node.op == "conv":
        g = conv_geometry(node)
        syn = FloatSynapse(src, "conv", weight, bias, {k: g[k] for k in
                           ("kernel", "stride", "padding", "dilation", "groups")}, delay)
        return syn if pool is None else fold_avgpool_into_conv(syn, pair(pool.get("kernel")))
    syn = FloatSynapse(src, "dense", weight, bias, delay=delay)
    return syn if pool is None else fold_avgpool_into_dense(syn, shapes[src],
                                                            pair(pool.get("kernel")))


# op -> (graph, node, tensors, shapes) -> the synapse of the chain ending at the node; a chain
# ends in a conv or linear node, or in a batchnorm after one
_FOLD = {"conv": _fold_layer, "linear": _fold_layer, "batchnorm": _fold_batchnorm,
         "avgpool": _fold_pooled, "flatten": _not_a_chain_end, "delay": _fold_delay,
         **{op: _not_a_chain_end for op in (*GROUPS, *GRADED)}}
