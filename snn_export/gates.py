"""The gate ops on binary spikes (``or``, ``and``, ``andnot``, ``maxpool``, and lowering's
``relay``), one table for training and deployment.

Each gate's entry in :data:`GATES` gives both of its meanings, so that they cannot drift
apart:

- ``boolean``: its function in training, ``(node, *aligned input trains) -> train`` on float
  0/1 spikes; differentiable (the products pass surrogate gradients through);
- ``weights`` and ``vth``: the deployed gate neuron (:func:`snn_export.deploy.lower_graph.gate`,
  memoryless): the integer weight of its synapses from each input (``maxpool``: from each
  tap of the window; ``relay``: from its one input) and the threshold that the weighted
  input of one step must exceed for it to spike.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch.nn.functional as F

from . import fixed_point as fp
from .model_graph import pair

UNIT = fp.WEIGHT_STEP  # integer weight of one spike into a gate neuron


@dataclass(frozen=True)
class Gate:
    """One gate op: its Boolean function in training and its neuron on chip."""

    boolean: Callable
    weights: tuple[int, ...]  # per input (maxpool: per window tap)
    vth: int  # spikes iff sum(weight * spike) > vth


def _or(node, a, b):
    return a + b - a * b


def _and(node, a, b):
    return a * b


def _andnot(node, a, b):
    return a * (1 - b)


def _window_or(node, a):
    """Max-pooling of binary spikes (batch, T, C, H, W): the OR of each window (padded taps,
    at most half the kernel, are silent: every window holds a real tap, so PyTorch's -inf
    padding gives the same maximum as zeros)."""
    b, t = a.shape[:2]
    k = pair(node.get("kernel"))
    out = F.max_pool2d(a.reshape(b * t, *a.shape[2:]), k,
                       pair(node.get("stride", node.get("kernel"))),
                       pair(node.get("padding", 0)))
    return out.reshape(b, t, *out.shape[1:])


def _identity(node, a):
    return a


GATES = {"or": Gate(_or, (UNIT, UNIT), 1),
         "and": Gate(_and, (UNIT, UNIT), 2 * UNIT - 1),
         "andnot": Gate(_andnot, (UNIT, -UNIT), 1),  # a AND NOT b
         "maxpool": Gate(_window_or, (UNIT,), 1),
         "relay": Gate(_identity, (UNIT,), 1)}  # lowering's delay neuron: OR of one input
