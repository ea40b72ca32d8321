"""A spiking network described by a :class:`~snn_export.model_graph.ModelGraph`, trainable in
PyTorch.

Timing: the standard one of PyTorch SNN libraries (snnTorch, norse, SpikingJelly) and of the
seed papers: a node's input current at step ``t`` is its sources' spikes at step ``t``
through its synapses, plus its bias (into the current, as a Linear or Conv bias is), from
step 1 (a ``const`` node fires at every step, like the input). The deployed network computes
the same spikes, each group delayed by its depth on the chip
(:mod:`snn_export.deploy.lower_graph`). The graph is run node by node over all steps at
once, so convolutions and batch statistics cover the batch and all steps together.

Modes:
- ``quantized_mode = False``: float weights, float neuron dynamics. Batch norm uses batch
  statistics in ``train()`` mode and running statistics in ``eval()`` mode.
- ``quantized_mode = True``: the deployed integer computation exactly: synaptic chains
  folded (:mod:`snn_export.folding`), quantized (:func:`snn_export.fixed_point.quantize_group`)
  and stepped with :func:`~snn_export.fixed_point.lif_step` /
  :func:`~snn_export.fixed_point.atrlif_step`, with straight-through and surrogate gradients.
  Joins and max-pooling are Boolean on binary spikes, as the deployed gate neurons compute them.

An ``add`` of spikes (SEW's ADD join) is not a tensor of its own: a synapse reading it runs
once per spike term and the results are summed, as the deployed synapse groups do (in
quantized mode each term's convolution wraps to 24 bits on its own, like Lava's Conv).

A leaky integrator readout (``li``) outputs its membrane voltage (batch, T, ...) instead of
spikes: in float mode the float neuron without threshold; in quantized mode the deployed
integer LIF (threshold :data:`~snn_export.fixed_point.VTH_MAX`), its voltage ``v`` in Lava's
internal units (exact integers), the value the emulator and Lava read after the last step.

Other graded nodes (real-valued shortcuts, float multiplies and activations, pooling over
time) run in float mode only: the published forms of the seed architectures, trained for
comparison; quantized mode refuses them, as the compliance check does.
"""
from __future__ import annotations

import contextlib
import functools
import math
from dataclasses import dataclass, replace
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from snn_export import fixed_point as fp
from snn_export.errors import SnnExportError
from snn_export.folding import FloatSynapse, fold
from snn_export.gates import GATES
from snn_export.graph import INPUT
from snn_export.model_graph import (GRADED, GROUPS, JOINS, SYNAPTIC, ModelGraph,
                                    conv_geometry, op_entry, pair, refuse_graded,
                                    require_spike_inputs, shapes, spike_terms)

from .lif_scan import Linear, lif_scan
from .surrogate import spike_fn

BN_MOMENTUM = 0.1


def _module(node, in_shape: tuple) -> nn.Module | None:
    """The trainable parameters of a synaptic node (PyTorch's own layers)."""
    return op_entry(_MODULES, node, "training (parameters)")(node, in_shape)


def _conv_module(node, in_shape: tuple) -> nn.Module:
    g = conv_geometry(node)
    return nn.Conv2d(in_shape[0], int(node.get("out_channels")), g["kernel"], g["stride"],
                     g["padding"], g["dilation"], g["groups"], bias=bool(node.get("bias", True)))


def _linear_module(node, in_shape: tuple) -> nn.Module:
    return nn.Linear(in_shape[0], int(node.get("out_features")), bias=bool(node.get("bias", True)))


def _batchnorm_module(node, in_shape: tuple) -> nn.Module:
    bn = nn.BatchNorm2d if len(in_shape) == 3 else nn.BatchNorm1d
    return bn(in_shape[0], eps=float(node.get("eps", 1e-5)))


def _neuron_module(node, in_shape: tuple) -> nn.Module | None:
    """A recurrent lif's weights from its own spikes (neurons, neurons); none otherwise."""
    size = math.prod(in_shape)
    return nn.Linear(size, size, bias=False) if node.get("recurrent") else None


def _time_linear_module(node, in_shape: tuple) -> nn.Module:
    # weight (steps, steps): output step t reads every step s
    return nn.Linear(int(node.get("steps")), int(node.get("steps")))


def _no_parameters(node, in_shape: tuple) -> None:
    return None


# op -> its trainable parameters (node, input shape) -> module or None
_MODULES = {**{op: _no_parameters for op in (*GROUPS, *SYNAPTIC, *GRADED)},
            "conv": _conv_module, "linear": _linear_module, "batchnorm": _batchnorm_module,
            "time_linear": _time_linear_module, "lif": _neuron_module}


def per_frame(fn, train: torch.Tensor) -> torch.Tensor:
    """``fn`` applied to the frames of ``train`` (batch, T, ...) as one batch of frames.
    (``reshape``, not ``unflatten``: an ONNX trace keeps the batch axis dynamic.)"""
    out = fn(train.flatten(0, 1))
    return out.reshape(*train.shape[:2], *out.shape[1:])


class GraphSNN(nn.Module):
    """forward(x, time_steps) -> spikes (batch, T, *shape) of every spiking node, and the
    voltage of a leaky integrator readout (``li``).

    x: integer input levels, (batch, *input_shape) presented at every step, or
    (batch, T, *input_shape) one frame per step.
    """

    def __init__(self, graph: ModelGraph, surrogate: str = "atan", alpha: float = 2.0):
        super().__init__()
        graph.validate()
        self.graph = graph
        self.shapes = shapes(graph)
        self.ops = nn.ModuleDict()
        for node in graph.nodes:
            module = _module(node, self.shapes[node.inputs[0]]) if node.inputs else None
            if module is not None:
                self.ops[node.name] = module
        # graded nodes that only the float mode runs (an add of spikes is deployable)
        self.graded_nodes = {n.name for n in graph.nodes
                             if n.op in GRADED and spike_terms(graph, n.name) is None}
        self.spike = spike_fn(surrogate, alpha)
        self.surrogate = (surrogate, alpha)
        self.quantized_mode = False

    def tensors(self) -> dict[str, torch.Tensor]:
        """Parameters and buffers named ``"<node>.<tensor>"`` (what folding reads)."""
        return dict(self.ops.state_dict(keep_vars=True))

    def shaped(self, x: torch.Tensor) -> torch.Tensor:
        """Flattened samples (batch, features) or event frames (batch, T, features) in the
        graph's input shape."""
        if x.dim() in (2, 3) and len(self.graph.input_shape) == 3:
            x = x.reshape(*x.shape[:x.dim() - 1], *self.graph.input_shape)
        return x

    @property
    def voltage_readout(self) -> bool:
        """Whether the readout is a leaky integrator (its output: its voltage)."""
        return self.graph.kind(self.graph.readout) == "voltage"

    def output(self, x: torch.Tensor, time_steps: int) -> torch.Tensor:
        """The readout node's spikes, or voltage (:attr:`voltage_readout`), (batch, T,
        classes); x may also be flattened (:meth:`shaped`)."""
        return self(self.shaped(x), time_steps)[self.graph.readout].flatten(2)

    def forward(self, x: torch.Tensor, time_steps: int) -> dict[str, torch.Tensor]:
        g = self.graph
        x = x.float()  # input levels and spikes are exact in float32
        if x.dim() == len(g.input_shape) + 1:
            x = x.unsqueeze(1).expand(-1, time_steps, *x.shape[1:])
        trains, values = {INPUT: x}, {}
        tensors = self.tensors()
        for node in g.nodes:
            out = op_entry(_FORWARD, node, "training")(self, node, x, time_steps, trains,
                                                       tensors, values)
            if out is not None:
                trains[node.name] = out
        return {n.name: trains[n.name] for n in g.nodes if n.op in GROUPS}

    def _reads_graded(self, name: str) -> bool:
        """Whether graded nodes (other than adds of spikes) lie between ``name`` and the
        spikes it is computed from."""
        if name == INPUT or self.graph.kind(name) == "spikes":
            return False
        return name in self.graded_nodes or \
            any(self._reads_graded(s) for s in self.graph.node(name).inputs)

    def _value(self, name: str, trains: dict, cache: dict) -> torch.Tensor:
        """The float value (batch, T, ...) of a non-spiking node, for models with graded
        nodes (float mode only)."""
        if name in cache:
            return cache[name]
        g = self.graph
        if name == INPUT:  # levels as the float values they stand for (folding does the same)
            return self._source(name, trains) * g.input_scale
        if g.kind(name) == "spikes":
            return self._source(name, trains)
        n = g.node(name)
        compute = op_entry(_VALUES, n, "training (values)")
        ins = [self._value(s, trains, cache) for s in n.inputs]
        out = compute(self, n, ins)
        cache[name] = out
        return out

    def _terms(self, src: str, trains: dict) -> list[torch.Tensor]:
        """The spike trains that synapses from ``src`` read: one, or one per spike term of an
        add."""
        return [trains[t] for t in spike_terms(self.graph, src) or [src]]

    def _source(self, src: str, trains: dict) -> torch.Tensor:
        return sum(self._terms(src, trains))

    def _fold(self, node, expr: str, trains: dict,
              tensors: dict) -> tuple[FloatSynapse | None, torch.Tensor | None]:
        """Fold one input chain: ``(synapse, None)``, or ``(None, a)`` where batch norm in
        float training mode computes its synaptic input ``a`` (batch, T, *target; its bias
        included) itself.

        Batch norm in ``train()`` mode updates its running statistics from this batch and,
        in float mode, normalises with the batch's own (quantized mode folds the running
        statistics, as the deployed network does); an avgpool after it pools ``a``; a delay
        after it is refused in training (its bias is in ``a``, and delays hold back spikes
        only)."""
        tail, late = expr, 0
        while tail != INPUT and self.graph.node(tail).op == "delay":
            tail, late = self.graph.node(tail).inputs[0], late + int(self.graph.node(tail).get(
                "steps"))
        if tail == INPUT:
            return fold(self.graph, expr, tensors, self.shapes), None
        pool = self.graph.node(tail) if self.graph.node(tail).op == "avgpool" else None
        e = self.graph.node(pool.inputs[0] if pool and pool.inputs[0] != INPUT else tail)
        if not (e.op == "batchnorm" and self.training):
            return fold(self.graph, expr, tensors, self.shapes), None
        if late:  # (a would hold the bias, which a delay does not hold back: FloatSynapse)
            raise SnnExportError(f"node {node.name!r}: a delay after batch norm does not train "
                                 "(batch statistics); put the delay in front of the conv or "
                                 "linear")
        pre = fold(self.graph, e.inputs[0], tensors, self.shapes)
        src = delayed(self._source(pre.source, trains), pre.delay).to(pre.bias.dtype)
        bn = self.ops[e.name]
        with torch.no_grad() if self.quantized_mode else contextlib.nullcontext():
            z = replace(pre, weight=pre.weight.to(pre.bias.dtype)).apply(src.flatten(0, 1))
            # torch's own kernel: the batch's statistics normalise z and update the running
            # ones; those of z + bias: (1 - m) (mean + m / (1 - m) bias) + m mean(z)
            bn.running_mean.add_(pre.bias.detach(), alpha=BN_MOMENTUM / (1 - BN_MOMENTUM))
            a = F.batch_norm(z, bn.running_mean, bn.running_var, bn.weight, bn.bias, True,
                             BN_MOMENTUM, bn.eps)
        bn.num_batches_tracked += 1
        if self.quantized_mode:
            return fold(self.graph, expr, tensors, self.shapes), None
        if pool:
            a = F.avg_pool2d(a, pair(pool.get("kernel")))
        return None, a.unflatten(0, src.shape[:2])

    def _synaptic_input(self, syn: FloatSynapse, weight: torch.Tensor, src: torch.Tensor,
                        dtype: torch.dtype, wraps: bool) -> torch.Tensor:
        """Synaptic input (batch, T, *target) in ``dtype`` from source frames (batch, T,
        *source); ``wraps``: the sums wrap to 24 bits (Lava's Conv)."""
        b, t = src.shape[:2]
        frames = src.reshape(b * t, *src.shape[2:]).to(dtype)
        out = replace(syn, weight=weight.to(dtype)).apply(frames)
        if wraps:
            out = fp.ste(out, fp.wrap24(out.detach()))
        return out.reshape(b, t, *out.shape[1:])

    def _neurons(self, node, trains: dict, tensors: dict, values: dict) -> torch.Tensor:
        """A neuron group's spikes. Quantized, its synaptic input is summed in float32 on the
        CPU where every partial sum of these integers, the bias included, stays below 2**24
        (exact, and a fast convolution), else in float64; a convolution's sums wrap to 24
        bits as Lava's Conv does, where they can reach 2**23."""
        if any(self._reads_graded(e) for e in node.inputs):
            if node.get("recurrent"):
                raise SnnExportError(f"node {node.name!r}: a recurrent lif reads spikes only "
                                     "(its inputs here are graded values)")
            a = sum(self._value(e, trains, values) for e in node.inputs)
            return self._float_dynamics(node, a)
        folded = [self._fold(node, e, trains, tensors) for e in node.inputs]
        syns = [syn for syn, _ in folded if syn is not None]
        weights, bias = [s.weight for s in syns], sum(s.bias for s in syns)
        recurrent = tensors[f"{node.name}.weight"] if node.get("recurrent") else None
        settings = {"op": node.op, **node.attrs}
        params = None
        if self.quantized_mode:  # (a recurrent weight shares the group's exponent)
            q = fp.quantize_group(weights + [recurrent] * (recurrent is not None), bias,
                                  settings)
            weights, bias, params = q.weights[:len(weights)], q.bias, q.neuron
            recurrent = q.weights[-1] if recurrent is not None else None
        terms = [(s, w, delayed(src, s.delay)) for s, w in zip(syns, weights)
                 for src in self._terms(s.source, trains)]
        wraps, dtype = [False] * len(terms), torch.float32
        if self.quantized_mode:
            bounds = [_sum_bound(w, src) for _, w, src in terms]
            wraps = [s.kind == "conv" and b >= fp.STATE_MAX for (s, _, _), b in zip(terms, bounds)]
            total = sum(fp.STATE_MAX if w else b for w, b in zip(wraps, bounds)) + \
                float(bias.detach().abs().max())
            dtype = (fp.exact_dtype(max([total, *bounds])) if bias.device.type == "cpu"
                     else torch.float64)
        inputs = [a for _, a in folded if a is not None] + \
            [self._synaptic_input(*term, dtype, w) for term, w in zip(terms, wraps)]
        a = functools.reduce(torch.add, inputs)
        if syns:  # the bias drives the current
            a = a.add_(bias.to(a.dtype).reshape(-1, *[1] * (a.dim() - 3)))
        if recurrent is not None:
            return self._recurrent(node, a, recurrent, params)
        if not self.quantized_mode:
            return self._float_dynamics(node, a)
        return op_entry(_DYNAMICS, node, "training (neurons)").quantized(self, a, params)

    def _float_dynamics(self, node, a: torch.Tensor) -> torch.Tensor:
        """The float neuron (CUBA LIF with hard reset, ATRLIF's adaptive threshold, or the
        leaky integrator) driven by the current ``a`` (batch, T, ...), bias included."""
        tau_syn = node.get("tau_syn")
        keep_u = 0.0 if tau_syn is None else 1 - 1 / float(tau_syn)
        keep_v = 1 - 1 / float(node.get("tau_mem"))
        run = op_entry(_DYNAMICS, node, "training (neurons)").float
        return run(self, node, a, keep_u, keep_v, float(node.get("threshold", math.inf)))

    def _recurrent(self, node, a: torch.Tensor, weight: torch.Tensor,
                   params: fp.LIFParams | None) -> torch.Tensor:
        """A recurrent lif's spikes, one step at a time: its input at step ``t`` adds
        ``weight`` times its own spikes of step ``t - 1`` (none at step 1). Float (``params``
        None): the float neuron; quantized: Lava's integer step, the recurrent sum exact in
        float64 (integer weights times binary spikes), as the chip's Dense from the group
        to itself delivers it."""
        quantized = params is not None
        a = a.double() if quantized else a
        weight = weight.to(a.dtype)
        s = a.new_zeros(a.shape[0], weight.shape[1])
        if quantized:
            u, v = fp.initial_state(params, a[:, 0]).values()
        else:
            tau_syn, th = node.get("tau_syn"), float(node.get("threshold"))
            keep_u = 0.0 if tau_syn is None else 1 - 1 / float(tau_syn)
            keep_v = 1 - 1 / float(node.get("tau_mem"))
            u = v = torch.zeros_like(a[:, 0])
        out = []
        for a_t in a.unbind(1):
            i = a_t + (s @ weight.T).reshape(a_t.shape)
            if quantized:
                u, v, spikes = fp.lif_step(u, v, i, 0.0, params, self.spike)
            else:
                u = u * keep_u + i if keep_u else i
                v = v * keep_v + u
                spikes = self.spike(v - th, th)
                v = v * (1 - spikes)
            s = spikes.flatten(1)
            out.append(spikes)
        return torch.stack(out, 1)

    def _gate(self, node, trains: dict) -> torch.Tensor:
        """Joins and max-pooling on binary spikes (the deployed gate neurons' function)."""
        require_spike_inputs(self.graph, node)
        boolean = op_entry(GATES, node, "training (gates)").boolean
        return boolean(node, *(self._source(src, trains) for src in node.inputs))


def delayed(train: torch.Tensor, steps: int) -> torch.Tensor:
    """``train`` (batch, T, ...) ``steps`` steps late: step ``t`` holds step ``t - steps``,
    zeros before."""
    if not steps:
        return train
    late = train.new_zeros(train.shape[0], min(steps, train.shape[1]), *train.shape[2:])
    return torch.cat([late, train[:, :max(train.shape[1] - steps, 0)]], 1)


def _sum_bound(weight: torch.Tensor, src: torch.Tensor) -> float:
    """The largest magnitude a partial sum of integer ``weight`` over integer frames ``src``
    can reach."""
    lo, hi = torch.aminmax(src.detach())
    return float(weight.detach().abs().max()) * weight[0].numel() * max(-float(lo), float(hi))


# --- The op tables: what each op means in training ---

def _forward_neurons(model, node, x, time_steps, trains, tensors, values):
    return model._neurons(node, trains, tensors, values)


def _forward_gate(model, node, x, time_steps, trains, tensors, values):
    return model._gate(node, trains)


def _forward_const(model, node, x, time_steps, trains, tensors, values):
    return x.new_ones(x.shape[0], time_steps, *model.shapes[node.name])


def _forward_synaptic(model, node, x, time_steps, trains, tensors, values):
    """No spikes of its own: the neurons reading it fold it (or compute it, :meth:`_value`)."""
    return None


def _forward_graded(model, node, x, time_steps, trains, tensors, values):
    """Computed where read (:meth:`_value`); quantized mode refuses it unless it is an add of
    spikes."""
    if model.quantized_mode:
        refuse_graded(model.graph, node, ": the model runs only in float (its published, "
                      "non-deployable form); see `snn-export --check`")
    return None


# op -> (model, node, x, time_steps, trains, tensors, values) -> its spikes, or None
_FORWARD = {"lif": _forward_neurons, "alif": _forward_neurons, "li": _forward_neurons,
            **{op: _forward_gate for op in (*JOINS, "maxpool")}, "const": _forward_const,
            **{op: _forward_synaptic for op in SYNAPTIC},
            **{op: _forward_graded for op in GRADED}}


def _value_layer(model, n, ins):  # conv, linear, batchnorm: the node's own PyTorch layer
    return per_frame(model.ops[n.name], ins[0])


def _value_avgpool(model, n, ins):
    return per_frame(lambda f: F.avg_pool2d(f, pair(n.get("kernel"))), ins[0])


def _value_flatten(model, n, ins):
    return ins[0].flatten(2)


def _value_delay(model, n, ins):
    return delayed(ins[0], int(n.get("steps")))


def _value_add(model, n, ins):
    return ins[0] + ins[1]


def _value_mul(model, n, ins):
    return ins[0] * ins[1]


def _value_sigmoid(model, n, ins):
    return torch.sigmoid(ins[0])


def _value_relu(model, n, ins):
    return torch.relu(ins[0])


def _value_minmax(model, n, ins):
    x = ins[0]
    low = x.amin((-2, -1), keepdim=True)
    return (x - low) / (x.amax((-2, -1), keepdim=True) - low + 1e-6)


def _value_invert(model, n, ins):
    return 1 - ins[0]


def _value_attention(model, n, ins):  # tokens: positions; features: channels
    q, k, v = (t.flatten(3) for t in ins)
    scores = torch.einsum("btcp,btcr->btpr", q, k) / q.shape[-1]
    return torch.einsum("btpr,btcr->btcp", scores, v).reshape(ins[0].shape)


def _value_time_linear(model, n, ins):  # every step reads all steps (not causal)
    x = ins[0]
    if x.shape[1] != int(n.get("steps")):
        raise SnnExportError(f"node {n.name!r} (time_linear) maps {n.get('steps')} "
                             f"steps; run the model with time_steps={n.get('steps')}")
    return model.ops[n.name](x.movedim(1, -1)).movedim(-1, 1)


def _value_time_mean(model, n, ins):  # every step sees the mean over all steps (not causal)
    x = ins[0]
    return x.mean(1, keepdim=True).expand_as(x)


def _value_of_group(model, n, ins):
    raise SnnExportError(f"node {n.name!r} ({n.op}) is a neuron group: its consumers read its "
                         "spikes (GraphSNN._source), not a graded value")


# op -> (model, node, input values) -> the node's float value (batch, T, ...)
_VALUES = {**{op: _value_of_group for op in GROUPS},
           "conv": _value_layer, "linear": _value_layer, "batchnorm": _value_layer,
           "avgpool": _value_avgpool, "flatten": _value_flatten, "delay": _value_delay,
           "add": _value_add,
           "mul": _value_mul, "sigmoid": _value_sigmoid, "relu": _value_relu,
           "minmax": _value_minmax, "invert": _value_invert, "attention": _value_attention,
           "time_linear": _value_time_linear, "time_mean": _value_time_mean}


def _float_lif(model, node, a, keep_u, keep_v, th0):
    def step(a_t, state, out):
        u, v = state or (0.0, 0.0)
        u = torch.add(a_t, u, alpha=keep_u) if keep_u else a_t
        v = torch.add(u, v, alpha=keep_v)
        over = torch.sub(v, th0, out=out)
        return (u, v.masked_fill_(over > 0, 0.0)), over
    return lif_scan(a, step, Linear(keep_u, keep_v, 1.0, th0, model.surrogate))


def _float_alif(model, node, a, keep_u, keep_v, th0):
    keep_theta = 1 - 1 / float(node.get("tau_theta"))
    keep_r = 1 - 1 / float(node.get("tau_r"))
    u = v = r = torch.zeros_like(a[:, 0])
    theta = torch.full_like(u, th0)
    out = []
    for a_t in a.unbind(1):  # (a[:, t]: backward fills a zero T-step tensor per step)
        u = u * keep_u + a_t if keep_u else a_t
        v = v * keep_v + u
        theta = (theta - th0) * keep_theta + th0
        r = r * keep_r
        s = model.spike(v - r - theta, th0)
        r = r + 2 * theta * s
        theta = theta + float(node.get("theta_step")) * s
        out.append(s)
    return torch.stack(out, 1)


def _quantized_lif(model, a, params):
    lo, hi = torch.aminmax(a.detach())
    bound = fp.lif_current_bound(params, max(-float(lo), float(hi)), a.shape[1])
    v_bound = fp.lif_voltage_bound(params, bound, 0.0, a.shape[1])  # (the bias is in a)

    def step(a_t, state, out):  # (a_t float32 or float64, exact integers)
        if state is None:  # float64 u, v and the step's scratch space
            like = a_t.new_zeros(a_t.shape, dtype=torch.float64)
            state = (*fp.initial_state(params, like).values(), like)
        fp.lif_step(*state[:2], a_t, 0.0, params, current_bound=bound, over=out,
                    inplace=True, spikes=state[2], voltage_bound=v_bound)
        return state, out
    return lif_scan(a, step, Linear(*fp.lif_gradient_factors(params), model.surrogate))


def _float_li(model, node, a, keep_u, keep_v, th0):
    """The leaky integrator's voltage (batch, T, ...): the float LIF without threshold."""
    u = v = torch.zeros_like(a[:, 0])
    out = []
    for a_t in a.unbind(1):
        u = u * keep_u + a_t if keep_u else a_t
        v = v * keep_v + u
        out.append(v)
    return torch.stack(out, 1)


def _quantized_li(model, a, params):
    """The deployed leaky integrator's voltage ``v`` (internal units, float64 integers; it
    spikes and resets only if it reaches ``vth << 6``, as on the chip)."""
    a = a.double()
    u, v = fp.initial_state(params, a[:, 0]).values()
    out = []
    for a_t in a.unbind(1):
        u, v, _ = fp.lif_step(u, v, a_t, 0.0, params, model.spike)
        out.append(v)
    return torch.stack(out, 1)


def _quantized_atrlif(model, a, params):
    a = a.double()
    i, v, theta, r = fp.initial_state(params, a[:, 0]).values()
    out = []
    for a_t in a.unbind(1):
        i, v, theta, r, s = fp.atrlif_step(i, v, theta, r, a_t, 0.0, params, model.spike)
        out.append(s)
    return torch.stack(out, 1)


@dataclass(frozen=True)
class _Dynamics:
    """A neuron op in training. float: ``(model, node, a, keep_u, keep_v, threshold) ->
    spikes``, the float neuron (``keep_*``: what the current and voltage keep per step);
    quantized: ``(model, a, params) -> spikes``, the deployed integer neuron (``a``: synaptic
    input, bias included, in the units of Lava's Dense output: exact integers, float32 or
    float64)."""

    float: Callable
    quantized: Callable


_DYNAMICS = {"lif": _Dynamics(_float_lif, _quantized_lif),
             "li": _Dynamics(_float_li, _quantized_li),
             "alif": _Dynamics(_float_alif, _quantized_atrlif)}  # Lava's ATRLIF
