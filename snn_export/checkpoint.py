"""The ``model.pt`` checkpoint format (format version 1).

A checkpoint is a plain dict of tensors, strings, numbers, lists and dicts, so it loads with
``torch.load(weights_only=True)``: loading never executes code. Keys:

- ``format``: ``"snn-export-checkpoint"``; ``format_version``: ``1``.
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

Checkpoints of Dense/LIF chains written before the chain became a graph (architecture
``{"name": "dense_snn", "sizes": [...], "neuron": {"type": "lif", "tau_mem", "tau_syn",
"threshold", "surrogate", "alpha"}}``, tensors ``layers.K.linear.weight`` / ``.bias``) are
translated on load (:func:`load`) into the same graph and tensors that ``snn-train --arch
dense`` writes today.
"""
from __future__ import annotations

import pickle
from pathlib import Path

import torch

from .atomic import atomic_path
from .errors import SnnExportError
from .model_graph import dense_chain

FORMAT = "snn-export-checkpoint"
FORMAT_VERSION = 1
REQUIRED = {
    "architecture": dict, "state_dict": dict, "quantization": dict,
    "dataset": dict, "time_steps": int, "training": dict,
}


def save(checkpoint: dict, path: str | Path) -> None:
    """Write atomically: a temporary file in the same folder, then a rename."""
    path = Path(path)
    data = {"format": FORMAT, "format_version": FORMAT_VERSION, **checkpoint}
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
    if data["architecture"].get("name") == "dense_snn":
        data = _from_dense_snn(data, path)
    return data


def _from_dense_snn(data: dict, path: Path) -> dict:
    """A checkpoint of the former ``dense_snn`` architecture as the graph it describes:
    layer ``K`` (from 0) becomes nodes ``fc<K+1>`` (linear) and ``layer<K+1>`` (lif)."""
    arch, dataset = data["architecture"], data["dataset"]
    for key in ("input_bits", "input_scale"):
        if key not in dataset:
            raise SnnExportError(f"{path}: field 'dataset.{key}' is missing")
    neuron = dict(arch.get("neuron", {}))
    if neuron.pop("type", "lif") != "lif":
        raise SnnExportError(f"{path}: field 'architecture.neuron.type' is "
                             f"{arch['neuron']['type']!r}; a dense_snn chain has 'lif' neurons")
    extra = {k: neuron.pop(k) for k in ("surrogate", "alpha") if k in neuron}
    try:
        settings = {"tau_mem": float(neuron.get("tau_mem", 2.0)), "tau_syn": neuron.get("tau_syn"),
                    "threshold": float(neuron.get("threshold", 1.0))}
        graph = dense_chain(arch["sizes"], int(dataset["input_bits"]),
                            float(dataset["input_scale"]), settings)
    except (KeyError, TypeError, ValueError) as exc:
        raise SnnExportError(f"{path}: field 'architecture' (dense_snn) is invalid: {exc!r}") \
            from None
    state = {}
    for key, value in data["state_dict"].items():
        layer, _, tensor = key.removeprefix("layers.").partition(".linear.")
        if not (key.startswith("layers.") and layer.isdigit() and tensor):
            raise SnnExportError(f"{path}: state_dict[{key!r}] is not a dense_snn tensor "
                                 "(layers.K.linear.weight or .bias)")
        state[f"ops.fc{int(layer) + 1}.{tensor}"] = value
    return {**data, "architecture": {**graph.to_dict(), **extra}, "state_dict": state}


def validate(data, path: Path) -> None:
    """Check the top-level structure; errors name the file and the field."""
    if not isinstance(data, dict):
        raise SnnExportError(f"{path}: expected a dict checkpoint, found {type(data).__name__}")
    if data.get("format") != FORMAT:
        raise SnnExportError(f"{path}: field 'format' is {data.get('format')!r}, expected "
                             f"{FORMAT!r}: not an snn-export checkpoint")
    version = data.get("format_version")
    if version != FORMAT_VERSION:
        raise SnnExportError(f"{path}: field 'format_version' is {version!r}; this snn-export "
                             f"reads version {FORMAT_VERSION}")
    for key, kind in REQUIRED.items():
        if key not in data:
            raise SnnExportError(f"{path}: missing field {key!r}")
        if not isinstance(data[key], kind):
            raise SnnExportError(f"{path}: field {key!r} should be {kind.__name__}, "
                                 f"found {type(data[key]).__name__}")
    for name, value in data["state_dict"].items():
        if not isinstance(value, torch.Tensor):
            raise SnnExportError(f"{path}: state_dict[{name!r}] is not a tensor")
