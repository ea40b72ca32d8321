"""Read a validated ``model.pt`` into a model and a :class:`~snn_export.graph.FloatNetwork`."""
from __future__ import annotations

from pathlib import Path

import torch

from snn_export import checkpoint
from snn_export.errors import SnnExportError
from snn_export.graph import FloatDenseLayer, FloatNetwork
from snn_export.model_graph import ModelGraph
from snn_export.train.graph_model import GraphSNN
from snn_export.train.models import DenseSNN, build


def load_model(path: str | Path) -> tuple[DenseSNN | GraphSNN, dict]:
    """Rebuild the trained model; errors name the file and the offending field."""
    ckpt = checkpoint.load(path)
    dataset = ckpt["dataset"]
    for key in ("input_size", "input_bits", "input_scale", "num_classes"):
        if key not in dataset:
            raise SnnExportError(f"{path}: field 'dataset.{key}' is missing")
    arch = ckpt["architecture"]
    try:
        if arch.get("name") == "graph":
            model = GraphSNN(ModelGraph.from_dict(arch, f"{path}: field 'architecture'"),
                             arch.get("surrogate", "atan"), float(arch.get("alpha", 2.0)))
        else:
            model = build(arch, float(dataset["input_scale"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise SnnExportError(f"{path}: field 'architecture' is invalid: {exc}") from None
    try:
        model.load_state_dict(ckpt["state_dict"])
    except RuntimeError as exc:
        detail = " ".join(str(exc).split())
        raise SnnExportError(f"{path}: state_dict does not match the architecture: {detail}") \
            from None
    size = model.graph.input_shape if isinstance(model, GraphSNN) else model.sizes[:1]
    if int(torch.tensor(size).prod()) != dataset["input_size"]:
        raise SnnExportError(f"{path}: the architecture's input {tuple(size)} does not have "
                             f"dataset.input_size={dataset['input_size']} values")
    model.eval()
    return model, ckpt


def to_graph(model: DenseSNN, ckpt: dict, source: str = "") -> FloatNetwork:
    """The model's layers as a float graph description (input scaling folded in)."""
    layers = [
        FloatDenseLayer(name=f"layer{k + 1}", weight=layer.folded_weight().detach(),
                        bias=layer.linear.bias.detach(), threshold=layer.threshold,
                        tau_mem=layer.tau_mem, tau_syn=layer.tau_syn)
        for k, layer in enumerate(model.layers)
    ]
    return FloatNetwork(layers=layers, input_size=model.sizes[0],
                        time_steps=int(ckpt["time_steps"]),
                        input_bits=int(ckpt["dataset"]["input_bits"]),
                        metadata={"source": source, "dataset": ckpt["dataset"],
                                  "training": ckpt.get("training", {})})
