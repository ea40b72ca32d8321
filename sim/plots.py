"""The report's figures, as PNG (matplotlib figures without pyplot, so no display or global
state): spike rasters, firing rates per group, attention-mask heatmaps."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from snn_export.graph import Network

from .result import SimResult

DPI = 100
MAX_NEURONS = 1000  # a raster shows at most this many neurons of a group (evenly spaced)


def raster(path: Path, net: Network, result: SimResult, groups: list[str],
           sample: int = 0) -> None:
    """One panel per group: a black cell at (step, neuron) for every spike of ``sample``;
    steps 1-based as Lava counts them."""
    fig = Figure(figsize=(8, 1.2 + 0.9 * len(groups)), dpi=DPI, layout="constrained")
    axes = fig.subplots(len(groups), 1, sharex=True, squeeze=False)[:, 0]
    for ax, name in zip(axes, groups):
        spikes = result.spikes[name][sample]  # (steps, neurons)
        n = spikes.shape[1]
        keep = np.unique(np.linspace(0, n - 1, min(n, MAX_NEURONS)).astype(int))
        ax.imshow(spikes[:, keep].T, aspect="auto", cmap="Greys", vmin=0, vmax=1,
                  interpolation="nearest", origin="lower",
                  extent=(0.5, net.time_steps + 0.5, -0.5, n - 0.5))
        label = name if len(keep) == n else f"{name}\n(every {n // len(keep)}th)"
        ax.set_ylabel(f"{label}\n{n} neurons", rotation=0, ha="right", va="center",
                      fontsize=7)
        ax.set_yticks([])
    axes[-1].set_xlabel("step")
    fig.suptitle(f"spikes of test sample {sample} (integer emulator = Lava)", fontsize=9)
    fig.savefig(path)


def firing_rates(path: Path, rates: dict[str, float], carriers: set[str] = frozenset()) -> None:
    """A horizontal bar per group: spikes per neuron per step (relays and always-on groups,
    which carry delays and biases, in grey)."""
    names = list(rates)
    fig = Figure(figsize=(7, max(2.4, 1 + 0.22 * len(names))), dpi=DPI, layout="constrained")
    ax = fig.subplots()
    ax.barh(range(len(names)), [rates[n] for n in names],
            color=["tab:gray" if n in carriers else "tab:blue" for n in names])
    ax.set_yticks(range(len(names)), names, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("firing rate (spikes per neuron per step)")
    fig.savefig(path)


def _image(x: np.ndarray, shape: tuple) -> np.ndarray:
    """An input sample (static, or summed over its frames) as a 2-d image."""
    x = np.asarray(x, dtype=float)
    x = x.reshape(-1, *shape).sum(0) if x.size > np.prod(shape) else x.reshape(shape)
    if len(shape) == 3:
        return x.sum(0)
    side = int(round(np.sqrt(x.size)))
    return x.reshape(side, side) if side * side == x.size else x.reshape(1, -1)


def _heatmap(counts: np.ndarray, shape: tuple) -> np.ndarray:
    """Spike counts summed over steps, as a 2-d map normalised to 0..1 (BIASNN Fig. 5):
    (C, H, W) masks are averaged over channels, channel masks (C, 1, 1) become a strip."""
    counts = counts.reshape(shape).astype(float)
    if len(shape) == 3:
        counts = counts.mean(0) if shape[1] * shape[2] > 1 else counts.reshape(1, -1)
    else:
        counts = counts.reshape(1, -1)
    top = counts.max()
    return counts / top if top > 0 else counts


def masks(path: Path, net: Network, result: SimResult, names: list[str], x: np.ndarray,
          samples: int = 3) -> None:
    """One row per sample: the input, then each mask group's normalised spike counts."""
    rows = min(samples, len(x))
    fig = Figure(figsize=(1.8 * (len(names) + 1), 1.9 * rows + 0.4), dpi=DPI,
                 layout="constrained")
    axes = fig.subplots(rows, len(names) + 1, squeeze=False)
    for r in range(rows):
        axes[r, 0].imshow(_image(x[r], tuple(net.input_shape)), cmap="gray")
        axes[r, 0].set_title("input" if r == 0 else "", fontsize=8)
        for c, name in enumerate(names, start=1):
            counts = result.spikes[name][r].sum(0)
            heat = _heatmap(counts, net.group(name).shape)
            axes[r, c].imshow(heat, cmap="viridis", vmin=0, vmax=1,
                              aspect="auto" if heat.shape[0] == 1 else "equal")
            axes[r, c].set_title(name if r == 0 else "", fontsize=8)
        for ax in axes[r]:
            ax.set_xticks([])
            ax.set_yticks([])
    fig.suptitle("attention masks: spike counts over all steps, normalised per map",
                 fontsize=9)
    fig.savefig(path)
