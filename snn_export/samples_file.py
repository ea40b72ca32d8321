"""Test samples from NumPy files (``--input FILE`` and ``--labels FILE``), for networks that
hold no dataset of their own (a NIR graph or netx file another tool wrote).

``--input``: a ``.npy`` array of integer input levels, 0 .. 2**B - 1 for ``--input-bits B``
(1, the default: spikes 0 or 1), in one of these shapes:

- (samples, *input_shape) or (samples, input_size): one frame per sample, the same at
  every step (a static image of levels);
- (samples, time_steps, *input_shape) or (samples, time_steps, input_size): one frame per
  step (event data, spike trains).

``input_shape`` is the network's, in (C, H, W) order where it is an image; ``input_size``
its product (frames flattened row-major); ``time_steps``: a netx file's ``--time-steps``, a
NIR graph's trained steps. ``--labels``: a ``.npy`` array of ``samples`` integer classes,
0 .. the readout's size - 1; without it the samples have no labels (``--verify`` compares
spikes, ``--evaluate`` needs them).
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from .errors import SnnExportError


def _array(path: Path, option: str) -> np.ndarray:
    if not path.is_file():
        raise SnnExportError(f"{option} {path}: no such file")
    try:
        a = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        raise SnnExportError(f"{option} {path}: not a NumPy .npy array ({exc})") from None
    if not isinstance(a, np.ndarray):
        a.close()
        raise SnnExportError(f"{option} {path}: an .npz archive; give one .npy array")
    if not a.size:
        raise SnnExportError(f"{option} {path}: no samples (shape {a.shape})")
    return a


def _integers(a: np.ndarray, path: Path, option: str, low: int, high: int,
              why: str) -> np.ndarray:
    """``a`` as int64 where every value is an integer in low..high, else the first that is
    not, named with its index (and ``why`` that range)."""
    if not (np.issubdtype(a.dtype, np.integer) or np.issubdtype(a.dtype, np.floating)
            or a.dtype == bool):
        raise SnnExportError(f"{option} {path}: dtype {a.dtype}; expected integers")
    bad = ~np.isfinite(a) | (a != np.round(a)) | (a < low) | (a > high) \
        if np.issubdtype(a.dtype, np.floating) else (a < low) | (a > high)
    if bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        raise SnnExportError(f"{option} {path}: value {a[index]} at index {index} is not an "
                             f"integer in {low}..{high} ({why})")
    return a.astype(np.int64)


def load(inputs: str | Path, labels: str | Path | None, input_shape: tuple, time_steps: int,
         input_bits: int, classes: int) -> tuple[np.ndarray, np.ndarray | None]:
    """The samples of ``inputs`` flattened, (samples, input_size) or (samples, time_steps,
    input_size) int64, and the labels of ``labels`` (samples,) int64, each one of the
    readout's ``classes`` (None without a file); every shape and value checked, errors
    naming the file, the value and what would be valid."""
    path = Path(inputs)
    a = _array(path, "--input")
    shape, size = tuple(input_shape), math.prod(input_shape)
    static = [(size,), shape]
    in_time = [(time_steps, size), (time_steps, *shape)]
    if a.shape[1:] not in static + in_time:
        valid = dict.fromkeys(", ".join(map(str, ("samples", *s))) for s in static + in_time)
        raise SnnExportError(f"--input {path}: shape {a.shape}; this network reads "
                             + " or ".join(f"({v})" for v in valid))
    x = _integers(a, path, "--input", 0, (1 << input_bits) - 1,
                  f"{input_bits}-bit levels; --input-bits B allows 0..2**B-1")
    x = x.reshape(len(x), size) if a.shape[1:] in static else x.reshape(len(x), time_steps, size)
    if labels is None:
        return x, None
    ypath = Path(labels)
    y = _array(ypath, "--labels")
    if y.shape != (len(x),):
        raise SnnExportError(f"--labels {ypath}: shape {y.shape}; expected ({len(x)},), one "
                             f"class per sample of --input {path}")
    return x, _integers(y, ypath, "--labels", 0, classes - 1,
                        f"the readout's {classes} classes")
