"""model.pt: round trip, and every kind of bad file gives a clear error."""
import pytest
import torch

from snn_export import checkpoint
from snn_export.errors import SnnExportError


def minimal():
    return {"architecture": {"name": "graph", "nodes": []},
            "state_dict": {"w": torch.ones(1, 2)}, "quantization": {}, "dataset": {},
            "time_steps": 4, "training": {}}


def test_round_trip_is_plain_data(tmp_path):
    path = tmp_path / "m.pt"
    checkpoint.save(minimal(), path)
    data = torch.load(path, weights_only=True)  # loads without allowing any pickled code
    assert data["format_version"] == checkpoint.FORMAT_VERSION and data["timing"] == "standard"
    assert torch.equal(checkpoint.load(path)["state_dict"]["w"], torch.ones(1, 2))
    assert [p.name for p in tmp_path.iterdir()] == ["m.pt"]  # no temporary file left


def test_missing_file(tmp_path):
    with pytest.raises(SnnExportError, match="no such checkpoint file"):
        checkpoint.load(tmp_path / "nope.pt")


@pytest.mark.parametrize("cut", [0, 10, 200])
def test_truncated(tmp_path, cut):
    good = tmp_path / "m.pt"
    checkpoint.save(minimal(), good)
    bad = tmp_path / "bad.pt"
    bad.write_bytes(good.read_bytes()[:cut])
    with pytest.raises(SnnExportError, match="bad.pt: not a readable PyTorch checkpoint"):
        checkpoint.load(bad)


def test_garbage(tmp_path):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint at all" * 20)
    with pytest.raises(SnnExportError, match="bad.pt: not a readable"):
        checkpoint.load(bad)


class Payload:
    """Unpickling this would create the marker file."""

    marker = None

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def test_pickled_object_is_refused_and_not_executed(tmp_path):
    marker = tmp_path / "EXECUTED"
    Payload.marker = marker
    evil = tmp_path / "evil.pt"
    torch.save({**minimal(), "format": checkpoint.FORMAT, "format_version": 2,
                "timing": "standard", "extra": Payload()}, evil)
    assert not marker.exists()
    with pytest.raises(SnnExportError, match="refused: the file contains pickled Python objects"):
        checkpoint.load(evil)
    assert not marker.exists()


@pytest.mark.parametrize("change, message", [
    (lambda d: d.update(format="other"), "field 'format'"),
    (lambda d: d.update(format_version=99), "field 'format_version' is 99"),
    (lambda d: d.update(format_version=1), "format_version 1: trained with the chip's timing"),
    (lambda d: d.pop("timing"), "field 'timing' is None"),
    (lambda d: d.update(timing="chip"), "field 'timing' is 'chip'"),
    (lambda d: d.pop("architecture"), "missing field 'architecture'"),
    (lambda d: d.update(time_steps="16"), "field 'time_steps' should be int"),
    (lambda d: d["state_dict"].update(w=[1, 2]), "state_dict\\['w'\\] is not a tensor"),
])
def test_invalid_fields(tmp_path, change, message):
    data = {"format": checkpoint.FORMAT, "format_version": checkpoint.FORMAT_VERSION,
            "timing": checkpoint.TIMING, **minimal()}
    change(data)
    path = tmp_path / "m.pt"
    torch.save(data, path)
    with pytest.raises(SnnExportError, match=message):
        checkpoint.load(path)
