"""Checkpoints of the former ``dense_snn`` architecture (written before a Dense/LIF chain
became a graph) load as that graph and export to the same netx file.

``tests/legacy/dense_v1.pt`` and ``dense_v1.net`` were written by release 9deb913:
``snn-train --hidden 16 --epochs 3 --time-steps 8`` and ``snn-export --target lava``."""
from pathlib import Path

import h5py
import pytest
import torch

from snn_export import checkpoint
from snn_export.cli import main
from snn_export.errors import SnnExportError
from snn_export.export.from_checkpoint import load_model

LEGACY = Path(__file__).parent / "legacy"


def datasets(path) -> dict:
    """Every dataset of an HDF5 file, by path, as raw bytes with dtype and shape."""
    found = {}
    with h5py.File(path, "r") as f:
        f.visititems(lambda name, obj: found.__setitem__(
            name, (obj.dtype.str, obj.shape, obj[()].tobytes()))
            if isinstance(obj, h5py.Dataset) else None)
    return found


def test_dense_snn_checkpoint_loads_as_a_graph():
    raw = torch.load(LEGACY / "dense_v1.pt", weights_only=True)
    assert raw["architecture"]["name"] == "dense_snn"
    model, ckpt = load_model(LEGACY / "dense_v1.pt")
    assert [(n.name, n.op, n.inputs) for n in model.graph.nodes] == [
        ("fc1", "linear", ("input",)), ("layer1", "lif", ("fc1",)),
        ("fc2", "linear", ("layer1",)), ("layer2", "lif", ("fc2",))]
    assert ckpt["architecture"]["name"] == "graph"
    for k in range(2):
        for t in ("weight", "bias"):
            assert torch.equal(model.ops[f"fc{k + 1}"].state_dict()[t],
                               raw["state_dict"][f"layers.{k}.linear.{t}"])


def test_dense_snn_checkpoint_exports_the_same_netx_datasets(tmp_path, capsys):
    assert main([str(LEGACY / "dense_v1.pt"), "--target", "lava", "-o", str(tmp_path), "-q",
                 "--json"]) == 0
    old, new = datasets(LEGACY / "dense_v1.net"), datasets(tmp_path / "network.net")
    assert sorted(old) == sorted(new) and len(old) > 10
    for name in old:
        assert old[name] == new[name], name
    with h5py.File(tmp_path / "network.net") as f:
        assert [f["snn_export"][k].attrs["name"] for k in ("1", "2")] == ["layer1", "layer2"]


def test_dense_snn_checkpoint_fits_the_model_the_trainer_builds():
    """``snn-train --resume`` of an old chain checkpoint: its recorded config builds the
    graph the translation describes, and the translated tensors load into it exactly."""
    from snn_export.train import datasets
    from snn_export.train.trainer import build, config_from

    ckpt = checkpoint.load(LEGACY / "dense_v1.pt")
    config = config_from(ckpt)
    assert config.arch == "dense"
    model, architecture = build(config, datasets.load(config.dataset))
    assert architecture["nodes"] == ckpt["architecture"]["nodes"]
    model.load_state_dict(ckpt["state_dict"])  # strict: same names and shapes
    assert torch.equal(model.ops["fc2"].weight, ckpt["state_dict"]["ops.fc2.weight"])


def test_bad_dense_snn_checkpoints_are_refused_by_field(tmp_path):
    raw = torch.load(LEGACY / "dense_v1.pt", weights_only=True)
    cases = [
        (lambda d: d["architecture"]["neuron"].update(type="alif"),
         "architecture.neuron.type' is 'alif'"),
        (lambda d: d["state_dict"].update({"layers.x.w": torch.zeros(1)}),
         "state_dict['layers.x.w'] is not a dense_snn tensor"),
        (lambda d: d["dataset"].pop("input_scale"), "field 'dataset.input_scale' is missing"),
        (lambda d: d["architecture"].update(sizes=[64]), "at least an input and an output"),
    ]
    for k, (spoil, message) in enumerate(cases):
        data = {**raw, "architecture": {**raw["architecture"],
                                        "neuron": dict(raw["architecture"]["neuron"])},
                "state_dict": dict(raw["state_dict"]), "dataset": dict(raw["dataset"])}
        spoil(data)
        path = tmp_path / f"bad{k}.pt"
        torch.save(data, path)
        with pytest.raises(SnnExportError, match=message.replace("[", r"\[").replace("(", r"\(")):
            checkpoint.load(path)
