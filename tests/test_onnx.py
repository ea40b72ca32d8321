"""ONNX export: the float network unrolled over its steps, valid for onnx's strict checks,
and in onnxruntime spike for spike PyTorch's float forward."""
import json
import sys

import numpy as np
import pytest
import torch

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from snn_export import checkpoint  # noqa: E402
from snn_export.errors import SnnExportError  # noqa: E402
from snn_export.export.from_checkpoint import load_model  # noqa: E402
from snn_export.export.to_onnx import write_onnx  # noqa: E402
from snn_export.train import datasets  # noqa: E402
from snn_export.train.trainer import TrainConfig, train  # noqa: E402

MODELS = {
    # quantization-aware: the export must switch the model to its float forward
    "dense": TrainConfig(epochs=3, hidden=(16,), time_steps=8),
    "orrc_resnet": TrainConfig(arch="orrc_resnet", hidden=(4, 8), time_steps=10, epochs=1,
                               quantization_aware=False),
    "syna_resnet": TrainConfig(arch="syna_resnet", hidden=(4, 8), time_steps=14, epochs=1,
                               quantization_aware=False),
    # graded nodes (membrane shortcuts, sigmoid attention, float products)
    "syna_resnet_published": TrainConfig(arch="syna_resnet_published", hidden=(4, 8),
                                         time_steps=12, epochs=1, quantization_aware=False),
    "events": TrainConfig(dataset="moving_bars", arch="orrc_resnet", hidden=(4, 8),
                          time_steps=12, epochs=1, head="flatten", quantization_aware=False),
}


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    """``model_file(name)``: the path of a checkpoint trained with ``MODELS[name]`` (once)."""
    paths = {}

    def get(name: str):
        if name not in paths:
            paths[name] = tmp_path_factory.mktemp(name) / "model.pt"
            checkpoint.save(train(MODELS[name], progress=False), paths[name])
        return paths[name]

    return get


def _session(path):
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


@pytest.mark.parametrize("name", list(MODELS))
def test_onnxruntime_gives_pytorchs_float_spikes(name, model_file):
    model, ckpt = load_model(model_file(name))
    mode = model.quantized_mode
    path = model_file(name).with_suffix(".onnx")
    facts = write_onnx(model, ckpt, path)
    assert model.quantized_mode == mode and not model.training  # left as it was

    t, data = ckpt["time_steps"], datasets.load(ckpt["dataset"]["name"], frames=ckpt["time_steps"])
    features, classes = data.x_test.shape[-1], data.num_classes
    levels = [t, features] if data.frames else [features]
    assert facts == {"path": str(path), "opset": 17, "time_steps": t,
                     "inputs": {"levels": ["batch", *levels]},
                     "outputs": {"counts": ["batch", classes], "spikes": ["batch", t, classes]}}

    written = onnx.load(str(path))
    onnx.checker.check_model(onnx.shape_inference.infer_shapes(written, strict_mode=True),
                             full_check=True)
    assert {p.key: p.value for p in written.metadata_props}["time_steps"] == str(t)

    x = data.x_test.astype(np.float32)
    counts, spikes = _session(path).run(None, {"levels": x})
    model.quantized_mode = False
    with torch.no_grad():
        expected = model.output(torch.from_numpy(x), t).numpy()
    assert expected.sum() > 0 and len(np.unique(expected.sum(1))) > 1  # a meaningful test
    assert np.array_equal(spikes, expected)
    assert np.array_equal(counts, expected.sum(1))
    accuracy = float(np.mean(counts.argmax(1) == data.y_test))  # ties to the lowest class
    assert accuracy == ckpt["training"]["float_test_accuracy"]
    one, _ = _session(path).run(None, {"levels": x[5:6]})  # any batch size
    assert np.array_equal(one, counts[5:6])


def test_a_failed_check_writes_nothing(model_file, monkeypatch):
    model, ckpt = load_model(model_file("dense"))
    path = model_file("dense").parent / "failed.onnx"
    path.write_bytes(b"an earlier export")
    before = sorted(path.parent.iterdir())

    def invalid(*args, **kwargs):
        raise onnx.shape_inference.InferenceError("[ShapeInferenceError] (op_type:Greater)")

    monkeypatch.setattr(onnx.shape_inference, "infer_shapes", invalid)
    with pytest.raises(SnnExportError, match=r"failed\.onnx: the exported ONNX model is "
                                             r"invalid, nothing written: .*op_type:Greater"):
        write_onnx(model, ckpt, path)
    assert path.read_bytes() == b"an earlier export"
    assert sorted(path.parent.iterdir()) == before  # no temporary file left behind


def test_without_onnx_the_error_says_what_to_install(model_file, monkeypatch, tmp_path):
    model, ckpt = load_model(model_file("dense"))
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(SnnExportError, match=r"pip install 'snn-export\[interchange\]'"):
        write_onnx(model, ckpt, tmp_path / "model.onnx")
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("name", ["dense", "syna_resnet"])
def test_target_onnx_from_the_command_line(name, model_file, tmp_path, capsys):
    from snn_export.cli import main

    out = tmp_path / "out"
    assert main([str(model_file(name)), "--target", "onnx", "-o", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["files"] == [str(out / "model.onnx")] and summary["opset"] == 17
    onnx.checker.check_model(onnx.load(str(out / "model.onnx")), full_check=True)
    assert main([str(model_file(name)), "--target", "onnx", "-o", str(out),
                 "--verify", "2"]) == 1
    assert "use --target lava or nir" in capsys.readouterr().err
