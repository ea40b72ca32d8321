"""Event-camera datasets from a local folder, read with tonic; snn-export never downloads.

Each recording becomes ``frames`` binary event frames (one per time step; tonic's
``ToFrame`` with ``n_time_bins=frames``, so the bins split the recording's duration evenly):
level 1 where a pixel had at least one event of that polarity in the bin (1-bit levels,
channels ON/OFF, frames of shape ``(2, H, W)``). The folder layout is tonic's
(``<data_dir>/<tonic class name>/``, the archive and its extracted files), so a folder that
``tonic.datasets.X(data_dir)`` filled on a machine with network access works as it is:

- ``nmnist``: ``<data_dir>/NMNIST/{train.zip, Train/, test.zip, Test/}``, 34x34, 10 classes,
  official split (60,000 / 10,000).
- ``dvs_gesture``: ``<data_dir>/DVSGesture/{ibmGestureTrain.tar.gz, ibmGestureTrain/, ...Test}``,
  128x128 summed to 32x32 (``Downsample``, factor 1/4), 11 classes, official split.
- ``cifar10_dvs``: ``<data_dir>/CIFAR10DVS/{CIFAR10DVS.zip, airplane/, ...}``, 128x128 to 32x32,
  10 classes; no official split: a fixed stratified 90 / 10 split (``random_state=0``).

The frames are held in memory as uint8 (N-MNIST at 16 frames: about 2.6 GB).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from tqdm import tqdm

from snn_export.errors import SnnExportError

# name: (tonic class, classes, frame size after downsampling, spatial factor)
EVENT_DATASETS = {
    "nmnist": ("NMNIST", 10, 34, 1.0),
    "dvs_gesture": ("DVSGesture", 11, 32, 0.25),
    "cifar10_dvs": ("CIFAR10DVS", 10, 32, 0.25),
}


def load(name: str, data_dir, frames: int):
    """``name`` (a key of :data:`EVENT_DATASETS`) from ``data_dir`` as ``frames`` binary frames
    per sample; a :class:`~snn_export.train.datasets.Dataset` with ``x`` of shape
    (samples, frames, 2 * size * size)."""
    from .datasets import Dataset

    cls_name, classes, size, factor = EVENT_DATASETS[name]
    if not frames or frames < 1:
        raise SnnExportError(f"{name}: give the number of frames (one per time step, "
                             "--time-steps)")
    tonic = _import_tonic(name)
    refusing = type(cls_name, (getattr(tonic.datasets, cls_name),),
                    {"download": _refuse_download(name, cls_name, data_dir)})
    transform = tonic.transforms.Compose([
        tonic.transforms.Downsample(spatial_factor=factor),
        tonic.transforms.ToFrame(sensor_size=(size, size, 2), n_time_bins=frames)])
    if name == "cifar10_dvs":
        from sklearn.model_selection import train_test_split

        whole = refusing(str(data_dir), transform=transform)
        x, y = _frames(whole, name, frames)
        x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.1, random_state=0,
                                                  stratify=y)
        split = {"method": "sklearn.train_test_split", "test_size": 0.1, "random_state": 0,
                 "stratify": True, "root": str(data_dir)}
    else:
        x_tr, y_tr = _frames(refusing(str(data_dir), train=True, transform=transform), name,
                             frames)
        x_te, y_te = _frames(refusing(str(data_dir), train=False, transform=transform), name,
                             frames)
        split = {"method": "official", "root": str(data_dir)}
    return Dataset(name, x_tr, y_tr, x_te, y_te, input_bits=1, input_scale=1.0,
                   num_classes=classes, split=split, image_shape=(2, size, size),
                   frames=frames)


def _frames(part, name: str, frames: int) -> tuple[np.ndarray, np.ndarray]:
    """All recordings of a tonic dataset as binary frames, (n, frames, features) uint8."""
    n = len(part)
    if n == 0:
        raise SnnExportError(f"{name}: no recordings found under {part.location_on_system}")
    x, y = None, np.empty(n, np.int64)
    for k in tqdm(range(n), desc=f"{name}: events to frames", unit="recording",
                  leave=False):
        counts, y[k] = part[k]
        if x is None:
            x = np.empty((n, frames, counts[0].size), np.uint8)
        x[k] = (counts.reshape(frames, -1) > 0)
    return x, y


def _import_tonic(name: str):
    try:
        import tonic
    except ImportError as exc:
        raise SnnExportError(f"{name}: reading event datasets needs tonic ({exc}); install "
                             "it with pip install 'snn-export[events]'") from None
    return tonic


def _refuse_download(name: str, cls_name: str, data_dir):
    """tonic's ``download``, replaced: tonic calls it when its own check finds the archive
    or the extracted files missing; snn-export names the expected path instead."""
    def download(self):
        where = Path(self.location_on_system)
        raise SnnExportError(
            f"{name}: not found: tonic expects {where / self.filename} and the extracted "
            f"recordings under {where / self.folder_name}; put them there (for example "
            f"tonic.datasets.{cls_name}('{data_dir}') on a machine with network access) or "
            "pass --data-dir; snn-export never downloads")
    return download
