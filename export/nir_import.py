"""A NIR graph written by another tool (norse, snnTorch, any NIR writer) as a trainable
:class:`~snn_export.train.graph_model.GraphSNN` and a checkpoint-like dict, so that it is
checked, quantized, deployed and verified through the same path as a ``model.pt``.

Node mapping (NIR -> :mod:`snn_export.model_graph`):

- ``Affine`` / ``Linear`` -> ``linear``; ``Conv2d`` (grouped too) -> ``conv``; ``Flatten``
  (the whole frame) -> ``flatten``; ``AvgPool2d`` -> ``avgpool``; ``SumPool2d`` ->
  ``avgpool`` with the window size folded into the weights (stride = kernel, no padding):
  pooling spikes in front of a synapse or a neuron, or pooling a ``Conv2d``'s output in
  front of its neuron (the order of snnTorch's CNN tutorial), which folds into the
  convolution (:func:`~snn_export.folding.fold_avgpool_after_conv`); ``Delay`` (one delay
  for all its neurons, a whole number of steps of ``dt``) -> ``delay``, in front of a
  synapse layer or between it and its neuron (deployed as synaptic delays, DelayDense);
- ``LIF``, ``CubaLIF``, ``IF``, ``Threshold`` -> ``lif``, ``LI`` and ``CubaLI`` -> ``li``
  (the same equations without threshold), with each tool's discretization
  (:mod:`snn_export.export.nir_dialects`) folded into the input weights;
- biases (of ``Affine`` and ``Conv2d``, and the leak of a neuron without synaptic current)
  -> the bias of the neuron's input synapse: the source tools add it at every step into
  the synaptic current, as the trained model does (both run the standard timing; the
  deploy stage delays it with the input on the chip). The leak of a ``CubaLIF`` drives its
  voltage, not its current: refused unless zero;
- a loop from a neuron through one ``Affine`` or ``Linear`` (that nothing else reads or
  feeds) back to it, snnTorch's ``RLeaky``: a recurrent ``lif`` (its spikes of step
  ``t - 1`` reach it at step ``t``; the loop's bias is a bias); flat layers only;
- several edges into a neuron are summed synapse groups; an edge from spikes (or the
  input) straight into a neuron gets unit synapses (a depthwise 1x1 conv or an identity
  matrix);
- the node before ``Output`` is the readout: a spiking neuron (the class: its largest spike
  count) or a leaky integrator (``LI``, ``CubaLI``; the class: its largest voltage after
  the last step, :mod:`snn_export.readout`); only the readout may be a leaky integrator.

Refused, naming the node: other loops, a ``Delay`` whose delay varies over its neurons
or is not a whole number of steps, ``Scale``, ``I`` (an integrator
without leak), a leaky integrator that another node reads, 1-d convolutions, sub-graphs,
a synaptic node that sums several inputs or feeds several neurons.

Shapes are checked here, node by node, not by nir's type check (nir 1.0.8's takes a grouped
convolution's input channels for ``C_in / groups`` and refuses valid files); a node nir
cannot construct is named with nir's reason.

NIR does not say how the input is encoded: it is ``input_bits``-bit levels, level ``x``
meaning ``x * input_scale`` (default: binary spikes), presented for ``time_steps`` steps.
"""
from __future__ import annotations

import contextlib
import graphlib
import math
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from snn_export.errors import SnnExportError
from snn_export.graph import INPUT, conv_output_size
from snn_export.model_graph import ModelGraph, Node
from snn_export.train.graph_model import GraphSNN

from . import nir_dialects

def import_nir():
    """The nir package, or an error that says how to install it."""
    try:
        import nir
    except ImportError:
        raise SnnExportError("NIR files need the nir package: pip install "
                             "'snn-export[interchange]'") from None
    return nir


SYNAPSES = ("Affine", "Linear", "Conv2d", "Flatten", "AvgPool2d", "SumPool2d", "Delay")


@dataclass
class NirInput:
    """How to read a foreign NIR graph: the tool's conventions (``dialect``, ``dt`` in
    seconds, default per dialect), the steps per sample, the input encoding and what the
    readout gives (``"spikes"``, or ``"voltage"``: the readout neuron, its threshold and
    reset ignored, is a leaky integrator whose voltage is read)."""

    dialect: str | None
    time_steps: int
    dt: float | None = None
    input_bits: int = 1
    input_scale: float = 1.0
    readout: str = "spikes"

    def step(self) -> float:
        dt = self.dt if self.dt is not None else nir_dialects.DIALECTS[self.dialect].dt
        if dt is None:
            raise SnnExportError(f"--dialect {self.dialect}: NIR stores no time step; give "
                                 "the one the graph was written for with --dt SECONDS")
        if not dt > 0:
            raise SnnExportError(f"--dt {dt}: must be > 0 seconds")
        return float(dt)


def read_graph(path: str | Path):
    """``nir.read`` with errors that name the file and, where one is to blame, the node (nir
    itself mostly asserts without naming it). nir's type check is left to the import, which
    checks every node's shapes itself: nir 1.0.8's takes a grouped convolution's input
    channels for ``C_in / groups`` and refuses valid files."""
    nir = import_nir()
    path = Path(path)
    if not path.is_file():
        raise SnnExportError(f"{path}: no such NIR file")
    try:
        with _quiet():
            return nir.read(path, type_check=False)
    except Exception as exc:  # h5py and nir raise many types for unreadable files
        detail = _failing_node(path, nir) or _said(exc)
        raise SnnExportError(f"{path}: not a readable NIR file ({detail})") from None


@contextlib.contextmanager
def _quiet():
    """numpy's and nir's warnings silenced (a failure says what went wrong)."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        yield


def _said(exc: Exception) -> str:
    return f"{type(exc).__name__}: {' '.join(str(exc).split())}".rstrip(": ")


def _failing_node(path: Path, nir) -> str | None:
    """The first node of the file that nir cannot make on its own, and why: a type it does
    not know, or parameters its constructor refuses (None: every node can be made)."""
    import h5py
    known = {n for n, c in vars(nir).items() if isinstance(c, type) and issubclass(c, nir.NIRNode)}

    def search(nodes: dict, where: str) -> str | None:
        for name, data in nodes.items():
            kind = data.get("type", "(none)") if isinstance(data, dict) else "(none)"
            if kind not in known:
                return (f"node {where}{name!r} has type {kind!r}; nir {nir.__version__} knows "
                        f"{', '.join(sorted(known - {'NIRNode'}))}")
            if kind == "NIRGraph":
                found = search(data.get("nodes", {}), f"{where}{name}.")
            else:
                try:
                    with _quiet():
                        nir.dict2NIRNode(dict(data))
                    found = None
                except Exception as exc:  # noqa: BLE001  (whatever nir raises, it is named)
                    found = f"node {where}{name!r} ({kind}): {_said(exc)}"
            if found:
                return found
        return None
    try:
        with h5py.File(path, "r") as f:
            data = nir.serialization.hdf2dict(f["node"]) if "node" in f else {}
    except Exception:  # noqa: BLE001  (not HDF5 at all: nir's own message says more)
        return None
    return search(data.get("nodes", {}), "")


def check_finite(nir_graph, where: str, prefix: str = "") -> None:
    """Every numeric parameter of every node (nested graphs too) is finite, but time
    constants, which may be ``inf`` (no leak): ``SnnExportError`` naming the node and field."""
    for name, node in nir_graph.nodes.items():
        if hasattr(node, "nodes"):
            check_finite(node, where, f"{prefix}{name}.")
            continue
        for field, value in vars(node).items():
            if not isinstance(value, np.ndarray) or not np.issubdtype(value.dtype, np.number):
                continue
            if np.iscomplexobj(value):
                raise SnnExportError(f"{where}: NIR node {prefix}{name!r}: field {field!r} "
                                     "holds complex numbers; parameters must be real")
            values = value.astype(np.float64)
            bad = np.isnan(values) | (np.isinf(values) & ~(field.startswith("tau")
                                                            & (values > 0)))
            if bad.any():
                raise SnnExportError(f"{where}: NIR node {prefix}{name!r}: field {field!r} "
                                     f"holds {int(bad.sum())} NaN or infinite value(s); "
                                     "every parameter must be finite (a tau may be inf)")


def load(nir_graph, how: NirInput, where: str) -> tuple[GraphSNN, dict, list[str]]:
    """The model, a checkpoint-like dict (``time_steps``, ``dataset``, ``training``) and
    warnings for a foreign NIR graph (read from ``where``)."""
    if how.dialect not in nir_dialects.DIALECTS:
        raise SnnExportError(f"{where}: written by another tool: say which with --dialect "
                             f"{{{','.join(nir_dialects.DIALECTS)}}} (NIR stores no time step, "
                             "and each tool discretizes its neurons in its own way)")
    if how.time_steps < 1:
        raise SnnExportError(f"{where}: NIR holds no step count: give --time-steps N (N >= 1)")
    check_finite(nir_graph, where)
    graph, tensors, warnings = to_model_graph(nir_graph, how, where)
    model = GraphSNN(graph)
    model.ops.load_state_dict({k: v.float() for k, v in tensors.items()})
    model.eval()
    ckpt = {"time_steps": how.time_steps,
            "dataset": {"name": "", "input_size": math.prod(graph.input_shape),
                        "input_bits": how.input_bits, "input_scale": how.input_scale,
                        "num_classes": math.prod(model.shapes[graph.readout])},
            "training": {"source": where, "nir_dialect": how.dialect, "dt": how.step()}}
    return model, ckpt, warnings


def _identifier(name: str, taken: set) -> str:
    base = re.sub(r"\W", "_", name)
    base = base if base and not base[0].isdigit() else f"n{base}"
    out, k = base, 1
    while out in taken or out == INPUT:
        out, k = f"{base}_{k}", k + 1
    taken.add(out)
    return out


def _input_shape(node, where: str) -> tuple:
    shape = [int(s) for s in np.atleast_1d(node.input_type["input"])]
    while len(shape) > 3 or (len(shape) == 2 and shape[0] == 1):
        if shape[0] != 1:
            break
        shape = shape[1:]  # a batch axis some exporters keep
    if len(shape) not in (1, 3):
        raise SnnExportError(f"{where}: input shape {tuple(shape)} is not (n,) or (C, H, W)")
    return tuple(shape)


class _Builder:
    def __init__(self, nir_graph, how: NirInput, where: str):
        self.g, self.how, self.where, self.dt = nir_graph, how, where, how.step()
        self.nodes: list[Node] = []
        self.tensors: dict[str, torch.Tensor] = {}
        self.shape: dict[str, tuple] = {}
        self.factor: dict[str, float] = {}  # what a pooled value is multiplied by (SumPool)
        self.ours: dict[str, str] = {}  # NIR name -> our name
        self.taken: set = set()
        self.consumer: dict[str, str] = {}  # conv / linear -> the neuron it feeds
        self.layer: dict[str, str] = {}  # a neuron's input -> the conv / linear it folds into
        self.recurrent: dict[str, str] = {}  # NIR neuron -> its recurrent Affine / Linear
        self.voltage_readout: str | None = None  # NIR neuron read as an integrator
        self.warnings: list[str] = []

    def fail(self, name: str, message: str):
        node = self.g.nodes[name]
        raise SnnExportError(f"{self.where}: NIR node {name!r} ({type(node).__name__}): "
                             f"{message}")

    def add(self, nir_name: str, op: str, inputs: tuple, shape: tuple, /, **attrs) -> str:
        name = _identifier(nir_name, self.taken)
        self.nodes.append(Node(name, op, inputs, attrs))
        self.shape[name], self.factor[name] = shape, 1.0
        return name

    def kind(self, ours: str) -> str:
        return "spikes" if ours == INPUT else self.node(ours).op

    def node(self, ours: str) -> Node:
        return next(n for n in self.nodes if n.name == ours)

    def synapse(self, name: str, node, src: str) -> str:
        kind, shape = type(node).__name__, self.shape[src]
        if kind in ("Affine", "Linear"):
            w = torch.as_tensor(np.asarray(node.weight, dtype=np.float64))
            if len(shape) != 1 or w.dim() != 2 or w.shape[1] != shape[0]:
                self.fail(name, f"weight {tuple(w.shape)} does not read the {shape} input"
                          + (": put a Flatten before it" if len(shape) == 3 else ""))
            bias = np.asarray(node.bias, dtype=np.float64) if kind == "Affine" else \
                np.zeros(w.shape[0])
            if bias.shape != (w.shape[0],):
                self.fail(name, f"bias of shape {bias.shape} for {w.shape[0]} outputs")
            ours = self.add(name, "linear", (src,), (w.shape[0],), out_features=w.shape[0],
                            bias=True)
            self.tensors[f"{ours}.weight"] = w * self.factor[src]
            self.tensors[f"{ours}.bias"] = torch.as_tensor(bias)
            return ours
        if kind == "Delay":
            return self.delay(name, node, src)
        if kind == "Flatten":
            if int(node.start_dim) not in (0, -len(shape)) or int(node.end_dim) not in \
                    (-1, len(shape) - 1):
                self.fail(name, "snn-export flattens whole frames (start_dim 0, end_dim -1)")
            ours = self.add(name, "flatten", (src,), (math.prod(shape),))
            self.factor[ours] = self.factor[src]
            return ours
        if len(shape) != 3:
            self.fail(name, f"needs a (C, H, W) input, got {shape}")
        if kind == "Conv2d":
            w = torch.as_tensor(np.asarray(node.weight, dtype=np.float64))
            if isinstance(node.padding, str):
                self.fail(name, f"padding {node.padding!r}: give the padding as numbers")
            geometry = {k: self.pair(name, node, k) for k in ("stride", "padding", "dilation")}
            (groups, _), bias = self.pair(name, node, "groups", 1), np.asarray(node.bias)
            if w.dim() != 4 or bias.shape not in ((), (1,), (w.shape[0],)):
                self.fail(name, f"weight {tuple(w.shape)} and bias {bias.shape}: expected "
                          "(out, in / groups, kh, kw) and (out,)")
            if w.shape[1] * groups != shape[0]:
                self.fail(name, f"weight {tuple(w.shape)} with groups={groups} reads "
                          f"{w.shape[1] * groups} channels, but its input has {shape[0]}")
            if min(geometry["stride"] + geometry["dilation"]) < 1 or min(geometry["padding"]) < 0:
                self.fail(name, f"stride {geometry['stride']}, padding {geometry['padding']}, "
                          f"dilation {geometry['dilation']}: stride and dilation must be 1 or "
                          "more, padding 0 or more")
            h, wd = conv_output_size(shape[1:], w.shape[2:], geometry["stride"],
                                     geometry["padding"], geometry["dilation"])
            if h < 1 or wd < 1:
                self.fail(name, f"its {tuple(w.shape[2:])} kernel leaves no output of the "
                          f"{shape} input")
            ours = self.add(name, "conv", (src,), (w.shape[0], h, wd), out_channels=w.shape[0],
                            kernel=list(w.shape[2:]), groups=groups, bias=True, **geometry)
            self.tensors[f"{ours}.weight"] = w * self.factor[src]
            self.tensors[f"{ours}.bias"] = torch.as_tensor(
                np.broadcast_to(bias.astype(np.float64), (w.shape[0],)).copy())
            return ours
        kernel, stride = self.pair(name, node, "kernel_size"), self.pair(name, node, "stride")
        if stride != kernel or np.any(np.asarray(node.padding) != 0) or \
                shape[1] % kernel[0] or shape[2] % kernel[1]:
            self.fail(name, "snn-export pools non-overlapping windows that tile the input "
                      "(stride = kernel_size, padding 0)")
        ours = self.add(name, "avgpool", (src,), (shape[0], shape[1] // kernel[0],
                                                  shape[2] // kernel[1]), kernel=kernel)
        self.factor[ours] = self.factor[src] * (math.prod(kernel) if kind == "SumPool2d" else 1)
        return ours

    def delay(self, name: str, node, src: str) -> str:
        """A ``Delay`` (seconds, one value for all its neurons) as a ``delay`` node of
        ``delay / dt`` steps, a whole number; none for 0."""
        d = np.asarray(node.delay, dtype=np.float64)
        if d.size not in (1, math.prod(self.shape[src])):
            self.fail(name, f"delay of shape {d.shape} for its {self.shape[src]} input")
        steps = d / self.dt
        if np.ptp(steps) > 1e-6 * max(1.0, float(np.max(steps))):
            self.fail(name, f"its delay varies over its neurons ({d.min():g} to {d.max():g} s); "
                      "snn-export delays a synapse layer's spikes by one amount")
        k = float(np.mean(steps))
        if k < 0:
            self.fail(name, f"delay {float(np.mean(d)):g} s: a delay must be 0 or more")
        if abs(k - round(k)) > 1e-6 * max(1.0, k):
            self.fail(name, f"delay {float(np.mean(d)):g} s is not a whole number of steps of "
                      f"dt={self.dt:g} s: check --dt")
        if round(k) >= self.how.time_steps:
            self.fail(name, f"delay of {round(k)} steps: nothing it delays arrives within the "
                      f"{self.how.time_steps} steps of a sample (--time-steps)")
        if round(k) == 0:
            return src
        ours = self.add(name, "delay", (src,), self.shape[src], steps=int(round(k)))
        self.factor[ours] = self.factor[src]
        return ours

    def pair(self, name: str, node, field: str, most: int = 2) -> list[int]:
        """A geometry field of ``node`` as (height, width): one integer, or ``most`` (2)."""
        v = np.asarray(getattr(node, field))
        if v.ndim > 1 or v.size not in (1, most) or not np.issubdtype(v.dtype, np.number) \
                or np.any(v != np.round(v)):
            self.fail(name, f"{field} {v.tolist()!r}: expected one integer" +
                      (f" or {most}" if most > 1 else ""))
        return [int(x) for x in np.broadcast_to(v, (2,))]

    def unit_synapse(self, name: str, src: str) -> str:
        """Unit synapses from spikes, the input or a pooled value straight into a neuron."""
        shape, f = self.shape[src], self.factor[src]
        if len(shape) == 3:
            c = shape[0]
            ours = self.add(f"{name}_in", "conv", (src,), shape, out_channels=c, kernel=[1, 1],
                            groups=c, bias=True)
            self.tensors[f"{ours}.weight"] = torch.full((c, 1, 1, 1), f, dtype=torch.float64)
        else:
            ours = self.add(f"{name}_in", "linear", (src,), shape, out_features=shape[0],
                            bias=True)
            self.tensors[f"{ours}.weight"] = torch.eye(shape[0], dtype=torch.float64) * f
        self.tensors[f"{ours}.bias"] = torch.zeros(shape[0], dtype=torch.float64)
        return ours

    def per_channel(self, name: str, values: np.ndarray, what: str) -> torch.Tensor:
        """A per-neuron array as one value per output channel (conv) or feature."""
        if values.ndim == 3:
            flat = values.reshape(values.shape[0], -1)
            if np.any(np.ptp(flat, axis=1) > 1e-9 * np.abs(flat).max(initial=1e-300)):
                self.fail(name, f"its {what} varies within a channel; snn-export deploys one "
                          "value per channel of a convolution")
            values = flat[:, 0]
        return torch.as_tensor(values.copy())

    def neuron(self, name: str, node, srcs: list[str]) -> str:
        """The ``lif`` (or ``li``) for NIR neuron ``node``. The input synapses' biases and a
        leak into a neuron without current memory (constant inputs into the current) become
        the first input synapse's bias; the bias of a synapse layer whose output a ``Delay``
        holds back starts as late (:meth:`delayed_bias`)."""
        inputs = [self.neuron_input(name, s) for s in srcs]
        shape = self.shape[inputs[0]]
        if any(self.shape[s] != shape for s in inputs):
            self.fail(name, f"its inputs have different shapes {[self.shape[s] for s in inputs]}")
        try:
            n = nir_dialects.neuron(name, node, shape, self.how.dialect, self.dt,
                                    integrator=name == self.voltage_readout)
        except nir_dialects.FieldShapeError as exc:
            raise SnnExportError(f"{self.where}: {exc}, which its input "
                                 f"{', '.join(map(repr, srcs))} gives") from None
        except SnnExportError as exc:
            raise SnnExportError(f"{self.where}: {exc}") from None
        self.warnings += [f"{self.where}: {w}" for w in n.warnings]
        gain = self.per_channel(name, n.gain, "gain (r, w_in or threshold)")
        drive = self.per_channel(name, n.drive, "leak")
        if n.attrs["tau_syn"] is not None and torch.any(drive != 0):
            self.fail(name, "its leak (v_leak) drives the voltage of a neuron with a synaptic "
                      "current; snn-export's neurons take a constant drive into the current "
                      "only (as a bias): set v_leak to 0 or move it into the input's bias")
        layers = [self.layer[s] for s in inputs]
        late = [self.late(s) for s in inputs]
        w_rec, b_rec = self.recurrent_weights(name, shape)
        biases = (sum(self.tensors[f"{s}.bias"] for s, k in zip(layers, late) if not k) + b_rec) \
            * gain + drive
        held = [(self.tensors[f"{s}.bias"] * gain, k) for s, k in zip(layers, late) if k]
        for s in layers:
            if s in self.consumer:
                self.fail(name, f"its input {s!r} already feeds {self.consumer[s]!r}; "
                          "snn-export needs one neuron layer per synapse layer")
            w = self.tensors[f"{s}.weight"]
            self.tensors[f"{s}.weight"] = w * gain.reshape(-1, *[1] * (w.dim() - 1))
            self.tensors[f"{s}.bias"] = torch.zeros_like(gain)
        self.tensors[f"{layers[0]}.bias"] = biases
        extra = [self.delayed_bias(name, b, k, shape) for b, k in held if torch.any(b != 0)]
        if w_rec is not None and n.op != "lif":
            self.fail(name, "a leaky integrator emits no spikes to feed back")
        ours = self.add(name, n.op, (*inputs, *extra), shape, **n.attrs,
                        **({"recurrent": True} if w_rec is not None else {}))
        if w_rec is not None:
            self.tensors[f"{ours}.weight"] = w_rec * gain[:, None]
        for s in (*layers, *extra):
            self.consumer[s] = ours
        return ours

    def recurrent_weights(self, name: str, shape: tuple) -> tuple[torch.Tensor | None, float]:
        """The weights (neurons, neurons) and bias of neuron ``name``'s recurrent ``Affine``
        or ``Linear`` (its own spikes of the step before), or ``(None, 0.0)``."""
        if name not in self.recurrent:
            return None, 0.0
        syn_name = self.recurrent[name]
        syn = self.g.nodes[syn_name]
        n = math.prod(shape)
        w = torch.as_tensor(np.asarray(syn.weight, dtype=np.float64))
        if len(shape) != 1 or tuple(w.shape) != (n, n):
            self.fail(syn_name, f"a recurrent weight {tuple(w.shape)} into {name!r} {shape}: "
                      f"snn-export reads recurrent Affine or Linear ({n}, {n}) into a flat "
                      "layer")
        bias = np.asarray(getattr(syn, "bias", np.zeros(n)), dtype=np.float64)
        if bias.shape not in ((), (n,)):
            self.fail(syn_name, f"bias of shape {bias.shape} for {n} outputs")
        return w, torch.as_tensor(np.broadcast_to(bias, (n,)).copy())

    def find_recurrent(self, preds: dict) -> None:
        """Take the recurrent loops out of ``preds``: a neuron whose spikes come back to it
        through one ``Affine`` or ``Linear`` that nothing else reads or feeds (snnTorch's
        ``RLeaky``) gets it as its recurrent weights (:attr:`recurrent`)."""
        succs = {name: [] for name in preds}
        for dst, srcs in preds.items():
            for src in srcs:
                succs[src].append(dst)
        for name, node in self.g.nodes.items():
            if type(node).__name__ in ("Affine", "Linear") and len(preds[name]) == 1 and \
                    succs[name] == preds[name] and \
                    type(self.g.nodes[preds[name][0]]).__name__ in nir_dialects.NEURONS:
                neuron = preds[name][0]
                if neuron in self.recurrent:
                    self.fail(name, f"a second recurrent loop of {neuron!r}")
                self.recurrent[neuron] = name
                preds[neuron].remove(name)
                del preds[name]

    def late(self, src: str) -> int:
        """Steps of the ``delay`` nodes between a neuron's input ``src`` and its synapse
        layer."""
        steps = 0
        while self.kind(src) == "delay":
            steps, src = steps + int(self.node(src).get("steps")), self.node(src).inputs[0]
        return steps

    def delayed_bias(self, name: str, bias: torch.Tensor, steps: int, shape: tuple) -> str:
        """A bias (one per channel or feature) that starts ``steps`` steps late: unit
        synapses of weight ``bias`` from an always-on ``const`` node through a ``delay``."""
        on = (1,) if len(shape) == 1 else (1, *shape[1:])
        const = self.add(f"{name}_on", "const", (), on, shape=list(on))
        delay = self.add(f"{name}_on_delay", "delay", (const,), on, steps=steps)
        if len(shape) == 3:
            ours = self.add(f"{name}_on_in", "conv", (delay,), shape, out_channels=shape[0],
                            kernel=[1, 1], bias=True)
            self.tensors[f"{ours}.weight"] = bias.reshape(-1, 1, 1, 1).clone()
        else:
            ours = self.add(f"{name}_on_in", "linear", (delay,), shape, out_features=shape[0],
                            bias=True)
            self.tensors[f"{ours}.weight"] = bias.reshape(-1, 1).clone()
        self.tensors[f"{ours}.bias"] = torch.zeros_like(bias)
        return ours

    def neuron_input(self, name: str, src: str) -> str:
        """What neuron ``name`` reads of ``src``: a conv or linear node; an average or sum
        pool of a conv's output, which folds into the conv (:mod:`snn_export.folding`; a
        sum's window size goes into the conv's weights and bias); either behind delays; or
        unit synapses."""
        inner = src
        while self.kind(inner) == "delay":
            inner = self.node(inner).inputs[0]
        kind, pooled = self.kind(inner), None
        if kind == "avgpool":
            pooled = self.node(inner).inputs[0]
        if kind in ("conv", "linear"):
            self.layer[src] = inner
        elif pooled != INPUT and pooled is not None and self.kind(pooled) == "conv" and \
                pooled not in self.consumer:
            self.layer[src] = pooled
            for t in ("weight", "bias"):
                self.tensors[f"{pooled}.{t}"] = self.tensors[f"{pooled}.{t}"] * self.factor[src]
        else:
            src = self.unit_synapse(name, src)
            self.layer[src] = src
        return src

    def build(self) -> tuple[ModelGraph, dict, list[str]]:
        g = self.g
        preds = {name: [] for name in g.nodes}
        for src, dst in g.edges:
            if src not in g.nodes or dst not in g.nodes:
                raise SnnExportError(f"{self.where}: edge {src!r} -> {dst!r} names a missing "
                                     "node")
            preds[dst].append(src)
        self.find_recurrent(preds)
        try:
            order = list(graphlib.TopologicalSorter(preds).static_order())
        except graphlib.CycleError as exc:
            raise SnnExportError(f"{self.where}: recurrent edges ({' -> '.join(exc.args[1])}) "
                                 "are not supported; snn-export deploys feedforward graphs") \
                from None
        inputs = [n for n in order if type(g.nodes[n]).__name__ == "Input"]
        outputs = [n for n in order if type(g.nodes[n]).__name__ == "Output"]
        if self.how.readout == "voltage" and len(outputs) == 1 and preds[outputs[0]]:
            self.voltage_readout = preds[outputs[0]][0]  # (NIR name; checked at Output)
        if len(inputs) != 1 or len(outputs) != 1:
            after = ", ".join(repr(d) for s, d in g.edges if s in inputs)
            before = ", ".join(repr(s) for s, d in g.edges if d in outputs)
            raise SnnExportError(f"{self.where}: needs one Input and one Output node, found "
                                 f"{len(inputs)} Input (before {after}) and {len(outputs)} "
                                 f"Output (after {before}); nir.read adds them around a node "
                                 "whose edges are missing")
        input_shape = _input_shape(g.nodes[inputs[0]], self.where)
        self.ours[inputs[0]], self.shape[INPUT], self.factor[INPUT] = INPUT, input_shape, 1.0
        readout = ""
        for name in order:
            node, kind = g.nodes[name], type(g.nodes[name]).__name__
            if kind == "Input":
                continue
            srcs = [self.ours[p] for p in preds[name] if p in self.ours]
            if len(srcs) != len(preds[name]) or not srcs:
                self.fail(name, "is not reached from the Input node")
            if kind == "Output":
                if len(srcs) != 1 or self.kind(srcs[0]) not in ("lif", "li"):
                    self.fail(name, "must follow one neuron node: snn-export reads out its "
                              "spike counts, or a leaky integrator's voltage")
                readout = srcs[0]
            elif any(self.kind(s) == "li" for s in srcs):
                self.fail(name, f"reads {next(s for s in srcs if self.kind(s) == 'li')!r}, a "
                          "leaky integrator: it emits no spikes, so only the readout (the node "
                          "before Output) may be one")
            elif kind in nir_dialects.NEURONS:
                self.ours[name] = self.neuron(name, node, srcs)
            elif kind in SYNAPSES:
                if len(srcs) != 1:
                    self.fail(name, f"sums {len(srcs)} inputs; snn-export needs one input per "
                              "synapse layer (sum into the neuron instead)")
                self.ours[name] = self.synapse(name, node, srcs[0])
            else:
                self.fail(name, "is not supported; snn-export imports "
                          f"{', '.join(SYNAPSES + nir_dialects.NEURONS)}, Input, Output")
        dangling = [n.name for n in self.nodes if n.op in ("conv", "linear")
                    and n.name not in self.consumer]
        if dangling:
            raise SnnExportError(f"{self.where}: {dangling[0]!r} feeds no neuron (each synapse "
                                 "layer must feed a neuron; two in a row are not merged)")
        graph = ModelGraph(input_shape, self.how.input_bits, self.how.input_scale, self.nodes,
                           readout)
        graph.validate(self.where)
        return graph, self.tensors, self.warnings


def to_model_graph(nir_graph, how: NirInput, where: str = "NIR graph") \
        -> tuple[ModelGraph, dict, list[str]]:
    """The graph, its float64 tensors (``"<node>.weight"``, ``"<node>.bias"``) and warnings."""
    return _Builder(nir_graph, how, where).build()
