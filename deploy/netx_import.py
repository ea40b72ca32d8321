"""lava-dl netx HDF5 files that snn-export did not write (slayer's ``export_hdf5``, or by
hand), read into the deployed :class:`~snn_export.graph.Network` with every register as
stock ``lava.lib.dl.netx.hdf5.Network`` (lava-dl 0.6.0) sets it, so that the report, the
compliance check, NIR out, the emulator and the Lava runner work on it unchanged.

Layers (``layer/0``, ``layer/1``, ... in order, each a chain link from the previous):

- ``input`` (layer 0 only): the input shape (stored C, H, W). Without neurons, the first
  synapses read the input levels (spikes, or graded up to 8 bits). With neurons of its own
  (slayer's ``Input`` block), a group ``layer0`` of the input's shape: netx builds it
  without bias and leaves its input to the user, who sends ``weight * x + bias`` into its
  current at every step (netx's ``in_layer.transform``: the layer's ``weight`` and ``bias``,
  default 64 and 0, slayer's input scaling times 64); here a one-to-one synapse of
  ``weight`` from the input and one of ``bias`` from the always-on group carry it, a step
  late as into any layer (the Lava runner feeds stock netx the same).
- ``dense`` (and ``dense_rec``, whose ``weight_rec`` (out, out) brings the layer's own
  spikes back a step later, fitted together with the input weights as netx does): weights
  (out, in), truncated to integers as netx reads them, then fitted to
  Loihi's synapse by netx's rule (:func:`weight_bits`: mantissa bits, ``weight_exp``);
  ``delay`` (a scalar, per output or per input; clipped to 62 steps as netx does, with a
  warning) makes it a DelayDense.
- ``conv``: weights (out, in / groups, kh, kw) as slayer stores them (PyTorch's
  cross-correlation order; netx flips them for Lava's true convolution), ``stride``,
  ``padding``,
  ``dilation`` (one value or (height, width)), ``groups``; netx ignores a conv's ``delay``
  (a warning says so).
- ``flatten``: the next dense layer reads the (C, H, W) group flattened, row-major.
- every layer but ``input`` and ``flatten`` has a ``neuron`` group: ``CUBA`` or ``LOIHI``,
  Lava's LIF with ``vth = vThMant``, ``du = iDecay - 1``, ``dv = vDecay``; the layer's
  ``bias`` is the bias mantissa (exponent 6), per neuron or per channel (an input layer's
  is its transform's, above).

Refused, naming the layer: what netx itself refuses (``pool``, ``convT``, ``unpool``,
``average``, ``concat``), what the emulator does not model (``dense_comp``, sigma-delta
``SDNN`` and resonate-and-fire ``RF`` neurons, complex weights, graded output spikes), a
layer without neurons (netx's default, ``iDecay = 0``, is no valid LIF), a dense layer
reading a (C, H, W) layer without a ``flatten`` before it, all-zero weights (netx's fitting
divides by zero), a recurrent layer with delays (netx drops its weight exponent), an input
layer after layer 0 or with a ``weight`` or ``bias`` beyond an 8-bit synapse, and unknown
types (netx skips them silently).
"""
from __future__ import annotations

import math
from pathlib import Path

import h5py
import numpy as np

from snn_export import fixed_point as fp
from snn_export.errors import SnnExportError
from snn_export.graph import INPUT, MAX_DELAY, Conv, Dense, Network, Neurons

from .lower_graph import BIAS_SHAPE, BIAS_SOURCE, const, identity

NEURON_TYPES = ("CUBA", "LOIHI")
INPUT_TRANSFORM = {"weight": 64, "bias": 0}  # an input layer's, where the file has none
SYNAPSE_MAX = (1 << fp.WEIGHT_BITS) - 1  # the largest synapse weight of either sign
INPUT_NEURONS = "input_neurons"  # metadata: the input layer's group, where it has neurons
REFUSED = {"pool": "netx does not implement it", "convT": "netx does not implement it",
           "unpool": "netx does not implement it", "average": "netx does not implement it",
           "concat": "netx does not implement it",
           "dense_comp": "complex-valued synapses are not modelled by the emulator"}


def is_foreign(path: str | Path) -> bool:
    """Whether ``path`` is a netx HDF5 file that snn-export did not write."""
    try:
        with h5py.File(path, "r") as f:
            return "layer" in f and "snn_export" not in f
    except OSError:
        return False


def weight_bits(weight: np.ndarray) -> tuple[np.ndarray, int, int]:
    """netx's ``optimize_weight_bits`` (lava-dl 0.6.0) without the sign mode, which its Dense
    does not pass on: ``(weights, num_weight_bits, weight_exp)``. The weights (8-bit signed
    integers) are scaled by ``2**s`` to fill the synapse, ``weight_exp = -s``, and the
    mantissa keeps only the bits they use. A mixed-sign matrix beyond [-256, 254] is
    clipped, as netx does (it prints a warning)."""
    w = weight.astype(np.int64)
    if (w.max() > 254 and w.min() < 0) or (w.min() < -256 and w.max() > 0):
        w = np.clip(w, -256, 254)
    top, low = np.float64(w.max()), np.float64(w.min())
    signed = int(top >= 0 and low < 0)
    with np.errstate(divide="ignore"):  # (numpy's inf where netx divides by zero)
        scale = -256 / low if top < 0 else 255 / top if low >= 0 else \
            min(127 / top, -128 / low)
    if not np.isfinite(scale):  # all zero: any exponent gives zeros; netx's is undefined
        return w, fp.WEIGHT_BITS, 0
    shift = math.floor(math.log2(scale)) + signed
    n = 8
    while n > 0 and np.any(w % (1 << n)):
        n -= 1
    n -= signed
    shifted = np.left_shift(w.astype(np.int32), shift).astype(np.int64)  # (as netx shifts)
    return shifted, 8 - shift - n, -shift


def _weight(layer, key: str = "weight") -> np.ndarray:
    """A weight dataset as netx reads it: truncated to integers; complex-valued weights (a
    group of real and imaginary parts) are refused."""
    if isinstance(layer[key], h5py.Group):
        raise SnnExportError("complex-valued weights (weight/real, weight/imag) are not "
                             "modelled by the emulator")
    return np.asarray(layer[key][()]).astype(int)


def _text(dataset) -> str:
    value = dataset[()]
    value = value[0] if np.ndim(value) else value
    return value.decode("ascii") if isinstance(value, bytes) else str(value)


def _pair(value) -> tuple[int, int]:
    v = np.atleast_1d(np.asarray(value)).astype(int)
    return (int(v[0]), int(v[0])) if v.size == 1 else (int(v[0]), int(v[1]))


class _Reader:
    def __init__(self, path: Path, time_steps: int, input_bits: int):
        self.path, self.time_steps, self.input_bits = path, time_steps, input_bits
        self.neurons: list[Neurons] = []
        self.synapses: list = []
        self.warnings: list[str] = []
        self.input_shape: tuple | None = None
        self.flatten_next = False  # a flatten layer came last (netx's flag of that name)
        self.metadata = {"source": str(path)}

    def fail(self, k: int, kind: str, message: str):
        raise SnnExportError(f"{self.path}: layer {k} ({kind}): {message}")

    def source(self) -> tuple[str, tuple]:
        if self.neurons:
            return self.neurons[-1].name, tuple(self.neurons[-1].shape)
        return INPUT, self.input_shape

    def neurons_of(self, k: int, kind: str, layer, shape: tuple,
                   bias: np.ndarray | None = None) -> Neurons:
        """The layer's neuron group; ``bias`` (default: the layer's, :meth:`bias`)."""
        if "neuron" not in layer:
            self.fail(k, kind, "has no neuron group (netx's default, iDecay 0, is no valid "
                      "LIF)")
        n = layer["neuron"]
        ntype = _text(n["type"])
        if ntype not in NEURON_TYPES:
            what = "sigma-delta" if ntype == "SDNN" else "resonate-and-fire" if "RF" in ntype \
                else "unknown"
            self.fail(k, kind, f"neuron type {ntype!r} ({what}) is not modelled by the "
                      f"emulator; snn-export reads {', '.join(NEURON_TYPES)}")
        if "messageBits" in n and int(n["messageBits"][()]):
            self.fail(k, kind, "graded output spikes (messageBits) are not modelled")
        if "iDecay" in n and int(n["iDecay"][()]) == 0:
            self.fail(k, kind, "iDecay 0 (slayer's current_decay 0) is Lava's du = -1, a "
                      "current that never decays, outside the 12-bit du range 0..4095 "
                      "snn-export deploys")
        try:
            params = fp.LIFParams(vth=int(n["vThMant"][()]), du=int(n["iDecay"][()]) - 1,
                                  dv=int(n["vDecay"][()]))
        except (KeyError, ValueError) as exc:
            self.fail(k, kind, f"neuron: {exc}")
        if bias is None:
            bias = self.bias(k, kind, layer, shape)
        return Neurons(f"layer{k}", shape, params, bias)

    def bias(self, k: int, kind: str, layer, shape: tuple) -> np.ndarray:
        """The bias mantissas as netx broadcasts them: a flat layer's as Lava broadcasts
        any value; a (C, H, W) layer's per neuron, stored (W, H, C) as netx's shapes, or per
        channel."""
        size = math.prod(shape)
        if "bias" not in layer:
            return np.zeros(size, dtype=np.int64)
        b = np.asarray(layer["bias"][()]).astype(int)
        if len(shape) == 1 and b.size in (1, size):
            return np.broadcast_to(b.reshape(-1), (size,)).astype(np.int64)
        if len(shape) == 3 and b.shape == shape[::-1]:
            return b.transpose(2, 1, 0).reshape(-1).astype(np.int64)
        if len(shape) == 3 and b.shape == (shape[0],):
            return np.repeat(b, size // shape[0]).astype(np.int64)
        self.fail(k, kind, f"bias of shape {b.shape} for neurons {shape} (netx takes one per "
                  "neuron, stored (W, H, C), or one per channel)")

    def input_neurons(self, k: int, layer) -> None:
        """An input layer with neurons of its own (slayer's ``Input`` block): netx builds
        them without bias and leaves their input to the user, who sends each step's
        ``weight * x + bias`` (netx's ``in_layer.transform``) into their current. Here the
        input synapses carry it: ``weight`` one to one from the input levels ``x`` and
        ``bias`` from the always-on group, both arriving a step later, as into any layer."""
        transform = dict(INPUT_TRANSFORM)
        for key in transform:
            value = np.asarray(layer[key][()]) if key in layer else transform[key]
            if np.size(value) != 1:
                self.fail(k, "input", f"{key} of shape {np.shape(value)}; netx reads one value")
            transform[key] = value = int(np.reshape(value, -1)[0])
            if abs(value) > SYNAPSE_MAX:
                self.fail(k, "input", f"{key} {value} is outside the 8-bit synapse range "
                          f"-{SYNAPSE_MAX}..{SYNAPSE_MAX} that carries the input")
        # (netx keeps the file's bias for the transform only)
        shape = self.input_shape
        group = self.neurons_of(k, "input", layer, shape, np.zeros(math.prod(shape), np.int64))
        if transform["bias"]:  # (first: the layers follow each other)
            self.neurons.append(const(BIAS_SOURCE, BIAS_SHAPE))
        self.neurons.append(group)
        self.metadata[INPUT_NEURONS] = group.name
        self.synapses.append(identity(f"{group.name}.in", INPUT, group.name, shape, shape,
                                      transform["weight"]))
        if transform["bias"]:
            self.synapses.append(Dense(f"{group.name}.bias", BIAS_SOURCE, group.name,
                                       np.full((math.prod(shape), 1), transform["bias"])))

    def dense(self, k: int, layer, kind: str = "dense") -> None:
        src, src_shape = self.source()
        if src_shape is not None and len(src_shape) == 3 and src != INPUT \
                and not self.flatten_next:
            self.fail(k, kind, f"reads the {src_shape} layer {src} without a flatten layer "
                      "between them (netx cannot connect them)")
        self.flatten_next = False
        w = _weight(layer)
        shape = (math.prod(np.atleast_1d(layer["shape"][()])),)  # (netx: flat)
        if w.ndim == 1:
            w = w.reshape(shape[0], -1)
        if src_shape is None:  # no input layer: the first dense layer sets the input size
            self.input_shape = src_shape = (w.shape[1],)
        if w.shape != (shape[0], math.prod(src_shape)):
            self.fail(k, kind, f"weight {w.shape} from {src_shape} to {shape}")
        recurrent = kind == "dense_rec"
        w_rec = _weight(layer, "weight_rec").reshape(shape[0], -1) if recurrent else None
        if recurrent and w_rec.shape != (shape[0], shape[0]):
            self.fail(k, kind, f"weight_rec {w_rec.shape} for {shape[0]} neurons")
        joint = np.hstack([w, w_rec]) if recurrent else w  # (netx fits them together)
        if not joint.any():
            self.fail(k, kind, "all weights are 0 (netx's weight fitting divides by zero)")
        fitted, bits, exp = weight_bits(joint)
        if "delay" in layer and recurrent:
            self.fail(k, kind, "netx builds a recurrent layer with delays without its weight "
                      "exponent (lava-dl 0.6.0); not read")
        delays = self.delays(k, layer, w.shape) if "delay" in layer else None
        group = self.neurons_of(k, kind, layer, shape)
        self.neurons.append(group)
        self.synapses.append(Dense(f"{group.name}.in", src, group.name, fitted[:, :w.shape[1]],
                                   exp, bits, delays=delays))
        if recurrent:  # its own spikes, a step later
            self.synapses.append(Dense(f"{group.name}.rec", group.name, group.name,
                                       fitted[:, w.shape[1]:], exp, bits))

    def delays(self, k: int, layer, shape: tuple) -> np.ndarray:
        d = np.asarray(layer["delay"][()])
        if d.max(initial=0) > MAX_DELAY:
            self.warnings.append(f"{self.path}: layer {k} (dense): delays up to "
                                 f"{d.max():g} clipped to {MAX_DELAY}, as netx does")
            d = np.clip(d, 0, MAX_DELAY)
        if d.min(initial=0) < 0:
            self.fail(k, "dense", f"negative delay {d.min():g}")
        if d.ndim == 0:
            d = np.full(shape, d)
        elif d.ndim == 1 and d.size == shape[0]:
            d = np.repeat(d.reshape(-1, 1), shape[1], axis=1)
        elif d.ndim == 1 and d.size == shape[1]:
            d = np.repeat(d.reshape(1, -1), shape[0], axis=0)
        elif d.shape != shape:
            self.fail(k, "dense", f"delay of shape {d.shape} for weights {shape}")
        return d.astype(int)

    def conv(self, k: int, layer) -> None:
        src, src_shape = self.source()
        if src_shape is None or len(src_shape) != 3:
            self.fail(k, "conv", f"reads {src_shape or 'an unknown shape'}; a conv reads a "
                      "(C, H, W) layer (give the network an input layer with its shape)")
        if self.flatten_next:
            self.fail(k, "conv", "follows a flatten layer; a conv reads a (C, H, W) layer")
        w = _weight(layer)
        w = w.reshape(w.shape[:4])  # (PyTorch's order: netx flips it for Lava's Conv)
        shape = tuple(int(s) for s in np.atleast_1d(layer["shape"][()]))
        if "delay" in layer:
            self.warnings.append(f"{self.path}: layer {k} (conv): netx ignores its delay")
        group = self.neurons_of(k, "conv", layer, shape)
        self.neurons.append(group)
        missing = [key for key in ("stride", "padding", "dilation", "groups") if key not in layer]
        if missing:
            self.fail(k, "conv", f"no {', '.join(missing)} (netx reads them without defaults)")
        geometry = {key: _pair(layer[key][()]) for key in ("stride", "padding", "dilation")}
        groups = int(np.asarray(layer["groups"][()]).reshape(-1)[0])
        self.synapses.append(Conv(f"{group.name}.in", src, group.name, w, groups=groups,
                                  **geometry))

    def layer(self, k: int, layer) -> None:
        kind = _text(layer["type"])
        try:
            if kind == "input":
                if k:
                    self.fail(k, kind, "an input layer after layer 0 (netx starts the chain "
                              "anew there, cut off from the layers before)")
                self.input_shape = tuple(int(s) for s in np.atleast_1d(layer["shape"][()]))
                if "neuron" in layer:
                    self.input_neurons(k, layer)
            elif kind in ("dense", "dense_rec"):
                self.dense(k, layer, kind)
            elif kind == "conv":
                self.conv(k, layer)
            elif kind == "flatten":
                if self.neurons and len(self.neurons[-1].shape) != 3:
                    self.fail(k, kind, "follows a flat layer")
                self.flatten_next = bool(self.neurons)
            else:
                self.fail(k, kind, REFUSED.get(kind, "unknown layer type (netx skips it "
                                               "silently)"))
        except SnnExportError as exc:
            if not str(exc).startswith(f"{self.path}:"):  # (said without the layer)
                self.fail(k, kind, str(exc))
            raise
        except Exception as exc:  # noqa: BLE001  (a field missing or malformed: named)
            self.fail(k, kind, f"{type(exc).__name__}: {' '.join(str(exc).split())}")

    def read(self) -> Network:
        try:
            with h5py.File(self.path, "r") as f:
                layers = f["layer"]
                for k in range(len(layers)):
                    if str(k) not in layers:
                        raise SnnExportError(f"{self.path}: layer {k} is missing (layers "
                                             f"are numbered 0..{len(layers) - 1})")
                    if "type" not in layers[str(k)]:
                        raise SnnExportError(f"{self.path}: layer {k} has no type")
                    self.layer(k, layers[str(k)])
        except (OSError, KeyError, ValueError, TypeError) as exc:
            raise SnnExportError(f"{self.path}: not a readable netx HDF5 file ({exc})") \
                from None
        if len(netx_groups(self.neurons)) <= (INPUT_NEURONS in self.metadata):
            raise SnnExportError(f"{self.path}: no dense or conv layer")
        net = Network(tuple(self.input_shape), self.input_bits, self.time_steps,
                      self.neurons, self.synapses, self.metadata)
        return net.validated(self.path)


def netx_groups(neurons: list[Neurons]) -> list[Neurons]:
    """The groups stock netx builds, one per layer: all but an input layer's bias source
    (which stands for the input's transform)."""
    return [g for g in neurons if g.role.kind != "always_on"]


def read(path: str | Path, time_steps: int, input_bits: int = 1) -> tuple[Network, list[str]]:
    """The network of a netx HDF5 file another tool wrote, run for ``time_steps`` steps on
    ``input_bits``-bit input levels (netx files hold neither), and warnings."""
    reader = _Reader(Path(path), time_steps, input_bits)
    return reader.read(), reader.warnings
