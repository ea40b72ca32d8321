"""Read a validated ``model.pt`` into its trainable :class:`~snn_export.train.graph_model.GraphSNN`."""
from __future__ import annotations

import math
from pathlib import Path

from snn_export import checkpoint
from snn_export.errors import SnnExportError
from snn_export.model_graph import ModelGraph
from snn_export.train.graph_model import GraphSNN


def load_model(path: str | Path) -> tuple[GraphSNN, dict]:
    """Rebuild the trained model (in ``eval()`` mode) and return it with its checkpoint
    (:func:`snn_export.checkpoint.load`: older formats translated); errors name the file and
    the offending field."""
    ckpt = checkpoint.load(path)
    dataset = ckpt["dataset"]
    for key in ("input_size", "input_bits", "input_scale", "num_classes"):
        if key not in dataset:
            raise SnnExportError(f"{path}: field 'dataset.{key}' is missing")
    arch = ckpt["architecture"]
    if arch.get("name") != "graph":
        raise SnnExportError(f"{path}: field 'architecture.name' is {arch.get('name')!r}; "
                             "this snn-export reads 'graph' (and translates 'dense_snn')")
    alpha = arch.get("alpha", 2.0)
    if not (isinstance(alpha, (int, float)) and not isinstance(alpha, bool)
            and math.isfinite(alpha) and alpha > 0):
        raise SnnExportError(f"{path}: field 'architecture.alpha' is {alpha!r}: a finite "
                             "surrogate sharpness above 0")
    try:
        model = GraphSNN(ModelGraph.from_dict(arch, f"{path}: field 'architecture'"),
                         arch.get("surrogate", "atan"), float(alpha))
    except (KeyError, TypeError, ValueError) as exc:
        raise SnnExportError(f"{path}: field 'architecture' is invalid: {exc}") from None
    try:
        model.load_state_dict(ckpt["state_dict"])
    except RuntimeError as exc:
        detail = " ".join(str(exc).split())
        raise SnnExportError(f"{path}: state_dict does not match the architecture: {detail}") \
            from None
    size = model.graph.input_shape
    if math.prod(size) != dataset["input_size"]:
        raise SnnExportError(f"{path}: the architecture's input {tuple(size)} does not have "
                             f"dataset.input_size={dataset['input_size']} values")
    classes = math.prod(model.shapes[model.graph.readout])
    if dataset["num_classes"] != classes:
        raise SnnExportError(f"{path}: field 'dataset.num_classes' is {dataset['num_classes']}, "
                             f"but the readout {model.graph.readout!r} has {classes} neurons")
    graph = model.graph
    if (dataset["input_bits"], dataset["input_scale"]) != (graph.input_bits, graph.input_scale):
        raise SnnExportError(f"{path}: fields 'dataset.input_bits' and 'input_scale' "
                             f"({dataset['input_bits']}, {dataset['input_scale']}) differ from "
                             f"the architecture's input ({graph.input_bits}, "
                             f"{graph.input_scale})")
    model.eval()
    return model, ckpt
