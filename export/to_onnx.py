"""A trained model's float inference network as ONNX (``snn-export model.pt --target onnx``).

What the file computes: the model's float forward (``quantized_mode`` off, eval mode: batch
norm folds its running statistics), op for op as PyTorch runs it, with the standard timing
(a layer's spikes at step t from its input at step t). Spikes are the strict threshold ``v > threshold`` as ``Greater`` then
``Cast`` to float. This is the trained float network, not the deployed integer one (that is
``--target lava``); its spike counts equal PyTorch's float forward (``tests/test_onnx.py``).

Unrolled, not stateful: the graph runs all ``time_steps`` of the checkpoint (stored in the
file's ``metadata_props``) at once; it has no state inputs or outputs, every neuron state
starts at zero for each sample, as in training and on the chip. Unrolling exports exactly
the code that trained (graph models compute each node over all steps together, and a
published form's ``time_mean`` is not causal, so no per-step interface exists for every
model); the graph grows linearly with ``time_steps``.

Inputs and outputs, all float32 with a dynamic ``batch`` axis:

- ``levels``: integer input levels ``0 .. 2**input_bits - 1`` as float32 (not scaled: the
  input scale is folded into the first weights), features flattened as the dataset stores
  them ((C, H, W) row-major for images); ``(batch, features)`` for static samples, presented
  at every step, or ``(batch, time_steps, features)``, one frame per step, for event data
  (the checkpoint's ``dataset.frames`` nonzero).
- ``counts``: the readout's spikes per class summed over all steps, ``(batch, classes)``;
  the class is the argmax (ties to the lowest index, as :func:`snn_export.readout.predict`).
- ``spikes``: the readout's spikes per step, 0 or 1, ``(batch, time_steps, classes)``.
- a leaky integrator readout (``li``) has ``scores`` (its voltage after the last step,
  ``(batch, classes)``; the class is the argmax) and ``voltage`` (per step) instead.

Published (non-deployable) forms export too: their graded nodes (``add`` of values, ``mul``,
``sigmoid``, ``relu``, ``minmax``, ``invert``, ``attention``, ``time_mean``,
``time_linear``) are ordinary ONNX ops. Every file is checked
(``onnx.shape_inference.infer_shapes(strict_mode=True)``, then
``onnx.checker.check_model(full_check=True)``) before it is written, atomically.
"""
from __future__ import annotations

import inspect
import warnings
from pathlib import Path

import torch
from torch import nn

from snn_export.atomic import atomic_path
from snn_export.errors import SnnExportError
from snn_export.readout import scores
from snn_export.train.graph_model import GraphSNN

OPSET = 17
INPUT_NAME = "levels"
OUTPUT_NAMES = {False: ("counts", "spikes"), True: ("scores", "voltage")}  # by voltage readout


class Unrolled(nn.Module):
    """``levels -> (counts, spikes)``, or ``(scores, voltage)``, over a fixed number of steps
    (see the module docstring)."""

    def __init__(self, model: GraphSNN, time_steps: int, classes: int):
        super().__init__()
        self.model, self.time_steps, self.classes = model, time_steps, classes

    def forward(self, levels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        # the fixed shape keeps the class axis static in the graph (not traced from shapes)
        out = self.model.output(levels, self.time_steps).reshape(-1, self.time_steps,
                                                                  self.classes)
        return scores(out, self.model.voltage_readout), out


def input_shape(ckpt: dict) -> tuple[int, ...]:
    """The ``levels`` input's shape without the batch axis."""
    features = int(ckpt["dataset"]["input_size"])
    if ckpt["dataset"].get("frames"):
        return int(ckpt["time_steps"]), features
    return (features,)


def write_onnx(model: GraphSNN, ckpt: dict, path: str | Path) -> dict:
    """Export ``model`` (from :func:`~snn_export.export.from_checkpoint.load_model`) to
    ``path``; nothing is written unless the exported file passes onnx's checks.

    Returns ``{"path", "opset", "time_steps", "inputs", "outputs"}``; inputs and outputs map
    each name to its shape, ``"batch"`` for the dynamic axis, e.g.
    ``{"levels": ["batch", 64]}``."""
    try:
        import onnx
    except ImportError:
        raise SnnExportError("--target onnx needs the onnx package: "
                             "pip install 'snn-export[interchange]'") from None
    path = Path(path)
    time_steps = int(ckpt["time_steps"])
    unrolled = Unrolled(model, time_steps, int(ckpt["dataset"]["num_classes"]))
    example = torch.zeros(2, *input_shape(ckpt))
    batch = {0: "batch"}
    names = OUTPUT_NAMES[model.voltage_readout]
    options = {"dynamo": False} if "dynamo" in inspect.signature(torch.onnx.export).parameters \
        else {}
    mode, training = model.quantized_mode, model.training
    model.quantized_mode = False
    model.eval()
    try:
        with atomic_path(path) as tmp:
            try:
                with torch.no_grad(), warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # the exporter's tracer notes
                    torch.onnx.export(unrolled, (example,), str(tmp),
                                      input_names=[INPUT_NAME], output_names=list(names),
                                      dynamic_axes={n: batch for n in (INPUT_NAME, *names)},
                                      opset_version=OPSET, **options)
            except (RuntimeError, torch.onnx.errors.OnnxExporterError) as exc:
                detail = " ".join(str(exc).split())
                raise SnnExportError(f"{path}: torch.onnx.export failed, nothing written: "
                                     f"{detail}") from None
            exported = _annotated(onnx, onnx.load(str(tmp)), ckpt, model.voltage_readout)
            try:
                exported = onnx.shape_inference.infer_shapes(exported, check_type=True,
                                                             strict_mode=True)
                onnx.checker.check_model(exported, full_check=True)
            except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as exc:
                detail = " ".join(str(exc).split())
                raise SnnExportError(f"{path}: the exported ONNX model is invalid, nothing "
                                     f"written: {detail}") from None
            onnx.save(exported, str(tmp))
    finally:
        model.quantized_mode = mode
        model.train(training)
    return {"path": str(path), "opset": OPSET, "time_steps": time_steps,
            "inputs": _shapes(exported.graph.input), "outputs": _shapes(exported.graph.output)}


def _annotated(onnx, exported, ckpt: dict, voltage: bool):
    """``exported`` with snn-export's description: producer, doc string, metadata."""
    exported.producer_name = "snn-export"
    outputs = ("scores: the leaky integrator readout's voltage after the last step; voltage: "
               "its voltage per step" if voltage else "counts: readout spikes per class over "
               "all steps; spikes: readout spikes per step") + " (batch, time_steps, classes)."
    exported.doc_string = (
        f"Float inference network unrolled over {ckpt['time_steps']} steps. {INPUT_NAME}: "
        f"integer input levels as float32; {outputs}")
    dataset = ckpt["dataset"]
    onnx.helper.set_model_props(exported, {
        "time_steps": str(ckpt["time_steps"]), "dataset": str(dataset.get("name", "")),
        "input_bits": str(dataset["input_bits"]), "frames": str(dataset.get("frames") or 0),
        "num_classes": str(dataset["num_classes"])})
    return exported


def _shapes(values) -> dict[str, list]:
    return {v.name: [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim]
            for v in values}
