"""Event datasets from a local folder: real recording files in tonic's layout, read by tonic."""
import json

import numpy as np
import pytest

from snn_export.cli import main
from snn_export.errors import SnnExportError
from snn_export.train import datasets
from snn_export.train.cli import main as train_main

tonic = pytest.importorskip("tonic")

ARCHIVES = {"nmnist": "NMNIST/train.zip", "dvs_gesture": "DVSGesture/ibmGestureTrain.tar.gz",
            "cifar10_dvs": "CIFAR10DVS/CIFAR10DVS.zip"}


def nmnist_event(x: int, y: int, p: int, t_us: int) -> bytes:
    """One N-MNIST event: 5 bytes, x, y, polarity (bit 7) and 23-bit time stamp (us)."""
    return bytes([x, y, (p << 7) | (t_us >> 16) & 127, (t_us >> 8) & 255, t_us & 255])


def write_nmnist(root, per_split=10000):
    """N-MNIST as extracted from its archives: ``NMNIST/{Train,Test}/<digit>/<n>.bin``."""
    for split, archive in (("Train", "train.zip"), ("Test", "test.zip")):
        (root / "NMNIST").mkdir(exist_ok=True)
        (root / "NMNIST" / archive).write_bytes(b"")  # tonic checks only that it exists
        for k in range(per_split):
            digit = k % 10
            folder = root / "NMNIST" / split / str(digit)
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{k:05d}.bin").write_bytes(
                nmnist_event(digit, 3, 1, 0) + nmnist_event(5, digit, 0, 1000)
                + nmnist_event(33, 33, 0, 2000))


def write_dvs_gesture(root):
    """DVS Gesture in tonic's preprocessed layout: ``ibmGesture{Train,Test}/user<NN>_<light>/
    <label>.npy``, events as rows (x, y, polarity, t in ms). Each gesture is a dot that moves
    rightwards from a label-specific row: learnable, and its frames are known."""
    for split in ("Train", "Test"):
        (root / "DVSGesture").mkdir(exist_ok=True)
        (root / "DVSGesture" / f"ibmGesture{split}.tar.gz").write_bytes(b"")
        for user in range(1, 11):
            folder = root / "DVSGesture" / f"ibmGesture{split}" / f"user{user:02d}_led"
            folder.mkdir(parents=True)
            for label in range(11):
                t = np.arange(0, 800, 10)
                rows = np.stack([user + t // 8, np.full_like(t, 8 + 10 * label),
                                 np.ones_like(t), t], 1)
                np.save(folder / f"{label}.npy", rows.astype(np.int64))


@pytest.mark.parametrize("name", sorted(ARCHIVES))
def test_a_missing_event_dataset_names_the_expected_path_and_never_downloads(name, tmp_path):
    with pytest.raises(SnnExportError, match=f"{name}: not found: tonic expects "
                                             f"{tmp_path / ARCHIVES[name]}.*never downloads"):
        datasets.load(name, tmp_path, frames=8)
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_an_incompletely_extracted_folder_is_refused_too(tmp_path):
    write_nmnist(tmp_path, per_split=20)  # tonic wants at least 10,000 files per split
    with pytest.raises(SnnExportError, match="recordings under .*NMNIST/Train"):
        datasets.load("nmnist", tmp_path, frames=4)


def test_nmnist_files_become_binary_frames_one_per_step(tmp_path):
    write_nmnist(tmp_path)
    data = datasets.load("nmnist", tmp_path, frames=4)
    assert data.x_train.shape == (10000, 4, 2 * 34 * 34) and data.x_test.shape[0] == 10000
    assert data.frames == 4 and data.input_bits == 1 and data.image_shape == (2, 34, 34)
    assert np.bincount(data.y_train).tolist() == [1000] * 10
    for k in (0, 4321, 9999):
        digit = data.y_train[k]
        on = np.argwhere(data.x_train[k].reshape(4, 2, 34, 34)).tolist()
        # the recording spans 0..2000 us in 4 bins of 500 us; tonic's bins are half-open, so
        # the event at the very last time stamp falls outside them
        assert on == [[0, 1, 3, digit], [2, 0, digit, 5]], k


def test_dvs_gesture_trains_and_deploys_with_the_emulator_agreeing(tmp_path, capsys):
    write_dvs_gesture(tmp_path)
    data = datasets.load("dvs_gesture", tmp_path, frames=8)
    assert data.x_train.shape == (110, 8, 2 * 32 * 32) and data.num_classes == 11
    frames = data.x_train.reshape(110, 8, 2, 32, 32)
    first = data.y_train[0]  # user 1: the dot starts at x = 1, row 8 + 10 * label
    assert frames[0, 0, 1, (8 + 10 * first) // 4, 0] == 1  # downsampled by 4
    assert frames[0, :, 0].sum() == 0  # ON events only
    model = tmp_path / "gesture.pt"
    assert train_main(["--dataset", "dvs_gesture", "--data-dir", str(tmp_path), "--arch",
                       "orrc_resnet", "--hidden", "4", "--head", "flatten", "--time-steps",
                       "8", "--epochs", "8", "--batch-size", "16", "--float", "-q",
                       "-o", str(model)]) == 0
    capsys.readouterr()
    code = main([str(model), "--target", "lava", "-o", str(tmp_path / "out"),
                 "--evaluate", "110", "--json", "-q"])
    assert code == 0
    evaluation = json.loads(capsys.readouterr().out)["evaluation"]
    from snn_export import checkpoint
    training = checkpoint.load(model)["training"]
    assert evaluation["float_accuracy"] == training["float_test_accuracy"] > 0.5  # 11 classes
    assert evaluation["deployed_accuracy"] == training["quantized_test_accuracy"]
