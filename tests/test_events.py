"""Event data: a frame per time step through the dataset, training, the emulator and Lava."""
import json

import numpy as np
import pytest

from snn_export import checkpoint
from snn_export.cli import main
from snn_export.train import datasets
from snn_export.train.trainer import TrainConfig, train


def test_moving_bars_is_balanced_binary_deterministic_and_moves():
    data = datasets.moving_bars()
    assert data.x_train.shape == (1200, 12, 2 * 16 * 16) and data.x_test.shape[0] == 400
    assert data.frames == 12 and data.metadata()["frames"] == 12
    assert set(np.unique(data.x_train)) == {0, 1}
    assert np.bincount(data.y_train).tolist() == [300] * 4
    again = datasets.moving_bars()
    assert np.array_equal(again.x_test, data.x_test)
    assert not np.array_equal(data.x_train[:400], data.x_test)  # its own stream
    on = data.x_train.reshape(1200, 12, 2, 16, 16)[:, :, 0].astype(float)
    coords = np.arange(16.0)
    for label, axis, sign in ((0, 3, 1), (1, 3, -1), (2, 2, 1), (3, 2, -1)):
        frames = on[data.y_train == label]  # (n, T, H, W)
        mass = frames.sum((2, 3)) + 1e-9
        centre = (frames.sum(5 - axis) * coords).sum(2) / mass  # along x (axis 3) or y (2)
        drift = np.mean(centre[:, 8] - centre[:, 2])
        assert sign * drift > 3, (label, drift)  # about one pixel per frame


def test_event_data_needs_a_step_per_frame_and_a_graph_model():
    with pytest.raises(ValueError, match="12 event frames per sample.*--time-steps 12"):
        train(TrainConfig(dataset="moving_bars", arch="orrc_resnet", time_steps=10),
              progress=False)
    with pytest.raises(ValueError, match="event data.*--arch orrc_resnet"):
        train(TrainConfig(dataset="moving_bars", time_steps=12), progress=False)


@pytest.fixture(scope="module")
def bars_model(tmp_path_factory):
    ckpt = train(TrainConfig(dataset="moving_bars", arch="orrc_resnet", hidden=(4, 8),
                             time_steps=12, epochs=2, head="flatten",
                             quantization_aware=False), progress=False)
    path = tmp_path_factory.mktemp("bars") / "bars.pt"
    checkpoint.save(ckpt, path)
    return path


def test_training_on_events_learns_and_the_emulator_agrees(bars_model, tmp_path, capsys):
    training = checkpoint.load(bars_model)["training"]
    assert training["float_test_accuracy"] > 0.4  # four classes
    code = main([str(bars_model), "--target", "lava", "-o", str(tmp_path / "out"),
                 "--evaluate", "400", "--json", "-q"])
    assert code == 0
    evaluation = json.loads(capsys.readouterr().out)["evaluation"]
    assert evaluation["deployed_accuracy"] == training["quantized_test_accuracy"]
    assert evaluation["float_accuracy"] == training["float_test_accuracy"]


@pytest.mark.lava
@pytest.mark.slow
def test_event_frames_run_bit_exact_in_lava(bars_model, tmp_path, capsys):
    code = main([str(bars_model), "--target", "lava", "-o", str(tmp_path / "out"),
                 "--verify", "10", "--json", "-q"])
    summary = json.loads(capsys.readouterr().out)
    assert code == 0 and summary["bit_exact"] and summary["model_differing"] == 0
    assert summary["layers"][0]["spikes_lava"] > 0
