"""The ``model.pt`` checkpoint format (format version 2).

A checkpoint is a plain dict of tensors, strings, numbers, lists and dicts, so it loads with
``torch.load(weights_only=True)``: loading never executes code. Keys:

- ``format``: ``"snn-export-checkpoint"``; ``format_version``: ``2``.
- ``architecture``: a graph of named operations ``{"name": "graph", "input": {...},
  "nodes": [...], "readout": str, "surrogate": str, "alpha": float}``
  (:mod:`snn_export.model_graph`; a Dense/LIF chain is one too:
  :func:`~snn_export.model_graph.dense_chain`).
- ``state_dict``: the model's tensors, ``ops.<node>.<tensor>`` (float32 weights and biases,
  batch norm statistics, ...).
- ``quantization``: ``{"weight_bits": 8, "decay_bits": 12, "aware": bool}``.
- ``dataset``: ``{"name": str, "input_size": int, "input_bits": int, "input_scale": float,
  "num_classes": int, "split": {...}}``; integer input level ``x`` means ``x * input_scale``.
- ``time_steps``: steps per sample.
- ``training``: free-form plain data (epochs, seed, accuracies, ...).
- ``timing``: ``"standard"``: the model was trained with the standard timing of PyTorch SNN
  libraries (a layer's spikes at step ``t`` from its input at step ``t``), which the deploy
  stage turns into the chip's by delaying each group by its depth.

Checkpoints of format version 1 (snn-export before the standard timing) were trained with
the chip's timing, one step of latency per layer, with biases from step 1: a different
function, which this version does not deploy. They are refused with a line that says to
retrain them.
"""
from __future__ import annotations

import math
import pickle
from pathlib import Path

import torch

from . import fixed_point as fp
from .atomic import atomic_path
from .errors import SnnExportError
from .model_graph import TIME_STEPS_MAX

FORMAT = "snn-export-checkpoint"
FORMAT_VERSION = 2
TIMING = "standard"
REQUIRED = {
    "architecture": dict, "state_dict": dict, "quantization": dict,
    "dataset": dict, "time_steps": int, "training": dict,
}


def _int(low: int, high: float = math.inf):
    return lambda v: isinstance(v, int) and not isinstance(v, bool) and low <= v <= high


def _positive(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) \
        and v > 0


# field ("section.name") -> (test, what is valid): checked, where present, on every load and
# save (the fields each reader needs are its own check)
FIELDS = {
    "time_steps": (_int(1, TIME_STEPS_MAX), f"1 to {TIME_STEPS_MAX} steps per sample"),
    "quantization.weight_bits": (lambda v: v == fp.WEIGHT_BITS,
                                 f"{fp.WEIGHT_BITS} (Loihi's weights)"),
    "quantization.decay_bits": (lambda v: v == fp.DECAY_BITS,
                                f"{fp.DECAY_BITS} (Loihi's decays)"),
    "quantization.aware": (lambda v: isinstance(v, bool), "true or false"),
    "dataset.input_size": (_int(1, 2**24), "1 or more input values"),
    "dataset.input_bits": (_int(1, fp.INPUT_BITS_MAX),
                           f"1 to {fp.INPUT_BITS_MAX} bits per input level"),
    "dataset.input_scale": (_positive, "a finite scale above 0"),
    "dataset.num_classes": (_int(1, 2**24), "1 or more classes"),
    "dataset.frames": (_int(0, TIME_STEPS_MAX), "0 (static samples) or frames per sample"),
    "dataset.image_shape": (lambda v: isinstance(v, (list, tuple)) and len(v) in (1, 3)
                            and all(_int(1, 2**24)(n) for n in v),
                            "(n,) or (C, H, W) of positive integers"),
}


def save(checkpoint: dict, path: str | Path) -> None:
    """Write atomically: a temporary file in the same folder, then a rename."""
    path = Path(path)
    data = {"format": FORMAT, "format_version": FORMAT_VERSION, "timing": TIMING, **checkpoint}
    validate(data, path)
    with atomic_path(path) as tmp:
        torch.save(data, tmp)


def load(path: str | Path) -> dict:
    """Load and validate a checkpoint; every failure is an :class:`SnnExportError`."""
    path = Path(path)
    if not path.is_file():
        raise SnnExportError(f"{path}: no such checkpoint file")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch reports corrupt files as RuntimeError, KeyError, EOFError...
        message = str(exc)
        # torch 2.3 says "Unsupported class", newer releases "Unsupported global".
        if isinstance(exc, pickle.UnpicklingError) and (
                "unsupported class" in message.lower() or "unsupported global" in message.lower()):
            raise SnnExportError(
                f"{path}: refused: the file contains pickled Python objects, which could run "
                "code when loaded. A model.pt holds only tensors and plain data; re-save it "
                "with snn-train or snn_export.checkpoint.save") from None
        reason = message.rsplit("error: ", 1)[-1].splitlines()[0] if message \
            else type(exc).__name__
        raise SnnExportError(f"{path}: not a readable PyTorch checkpoint (truncated or "
                             f"corrupt: {reason}); re-create it") from None
    validate(data, path)
    return data


def validate(data, path: Path) -> None:
    """Check the top-level structure; errors name the file and the field."""
    if not isinstance(data, dict):
        raise SnnExportError(f"{path}: expected a dict checkpoint, found {type(data).__name__}")
    if data.get("format") != FORMAT:
        raise SnnExportError(f"{path}: field 'format' is {data.get('format')!r}, expected "
                             f"{FORMAT!r}: not an snn-export checkpoint")
    version = data.get("format_version")
    if version == 1:
        raise SnnExportError(f"{path}: format_version 1: trained with the chip's timing (one "
                             "step of latency per layer), which this snn-export no longer "
                             "deploys; retrain it with snn-train (it then runs the standard "
                             "timing, 'timing': 'standard')")
    if version != FORMAT_VERSION:
        raise SnnExportError(f"{path}: field 'format_version' is {version!r}; this snn-export "
                             f"reads version {FORMAT_VERSION}")
    if data.get("timing") != TIMING:
        raise SnnExportError(f"{path}: field 'timing' is {data.get('timing')!r}; this "
                             f"snn-export deploys models trained with {TIMING!r} timing")
    for key, kind in REQUIRED.items():
        if key not in data:
            raise SnnExportError(f"{path}: missing field {key!r}")
        if not isinstance(data[key], kind):
            raise SnnExportError(f"{path}: field {key!r} should be {kind.__name__}, "
                                 f"found {type(data[key]).__name__}")
    for key, (valid, what) in FIELDS.items():
        section, _, name = key.rpartition(".")
        holder = data[section] if section else data
        if name in holder and not valid(holder[name]):
            raise SnnExportError(f"{path}: field {key!r} is {holder[name]!r}: {what}")
    dataset = data["dataset"]
    if {"image_shape", "input_size"} <= set(dataset) and \
            math.prod(dataset["image_shape"]) != dataset["input_size"]:
        raise SnnExportError(f"{path}: field 'dataset.image_shape' is "
                             f"{dataset['image_shape']!r}, which does not hold "
                             f"dataset.input_size={dataset['input_size']} values")
    for name, value in data["state_dict"].items():
        if not isinstance(value, torch.Tensor):
            raise SnnExportError(f"{path}: state_dict[{name!r}] is not a tensor")
        if value.is_floating_point() and not bool(torch.isfinite(value).all()):
            bad = int((~torch.isfinite(value)).sum())
            raise SnnExportError(f"{path}: state_dict[{name!r}] holds {bad} NaN or infinite "
                                 "value(s): every weight and statistic must be finite")
        if name.endswith(".running_var") and bool((value < 0).any()):
            raise SnnExportError(f"{path}: state_dict[{name!r}] holds negative variances")
