"""norse 1.1's ``norse.torch.to_nir``, repaired so that ``nir.write`` accepts its graph and
it says what the module computes.

norse 1.1.0 writes 0-d neuron parameters (``nir.write`` refuses them: "Scalar datasets
don't support chunk/filter options"), an empty node for ``torch.nn.Flatten`` and
``torch.nn.AvgPool2d``, ``Conv2d`` nodes without ``input_shape`` and ``Input`` and ``Output``
types with the batch axis, and empty nodes for ``LICell`` (written here as a ``CubaLI``)
and ``LIFRecurrentCell`` (written as its input ``Linear``, a ``CubaLIF`` and the recurrent
``Linear`` from the neurons back to themselves);
it fails on a ``Conv2d`` or ``Linear`` without bias, and writes
``v_reset = 0`` whatever the cell's parameters say. :func:`to_nir` runs the sample through
the module once to learn every layer's shape and fixes exactly those (a missing bias is
exported as zeros; ``v_reset`` is read from the cell). Other parameter values are left as
norse wrote them, including its time-constant convention (``tau = dt / tau_inv``, norse
issue #411), which ``snn-export --dialect norse`` reads.
"""
from __future__ import annotations

import contextlib
import dataclasses

import numpy as np
import torch

from .nir_import import import_nir

NOT_PARAMETERS = ("input_type", "output_type", "metadata")


def _shapes(module: torch.nn.Module, sample: torch.Tensor) -> dict[str, tuple]:
    """Each submodule's (input shape, output shape), without the batch axis."""
    shapes, hooks = {}, []

    def record(name):
        def hook(_, args, out):
            out = out[0] if isinstance(out, tuple) else out  # norse cells return (z, state)
            shapes[name] = (tuple(args[0].shape[1:]), tuple(out.shape[1:]))
        return hook

    for name, sub in module.named_modules():
        if name:
            hooks.append(sub.register_forward_hook(record(name)))
    try:
        with torch.no_grad():
            module(sample)
    finally:
        for h in hooks:
            h.remove()
    return shapes


def _numpy(value):
    return value.detach().cpu().numpy() if isinstance(value, torch.Tensor) else value


@contextlib.contextmanager
def _zero_biases(module: torch.nn.Module):
    """Within the block, every ``Conv2d`` and ``Linear`` without bias has a zero one."""
    bare = [m for m in module.modules()
            if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)) and m.bias is None]
    for m in bare:
        m.bias = torch.nn.Parameter(m.weight.new_zeros(m.weight.shape[0]), requires_grad=False)
    try:
        yield
    finally:
        for m in bare:
            m.bias = None


def _unexported(nir, name: str, sub: torch.nn.Module, in_shape: tuple, dt: float):
    """The NIR node for a module norse leaves empty: Flatten, AvgPool2d, and ``LICell`` as
    a ``CubaLI`` in norse's conventions (those of its ``LIFCell``'s ``CubaLIF``: ``tau =
    dt / tau_inv``, ``r = w_in = 1``)."""
    import norse.torch

    if isinstance(sub, norse.torch.LICell):
        full = lambda v: np.broadcast_to(np.asarray(_numpy(v), dtype=np.float32),
                                         in_shape).copy()
        p = sub.p
        return nir.CubaLI(tau_syn=full(dt / p.tau_syn_inv), tau_mem=full(dt / p.tau_mem_inv),
                          r=full(1.0), v_leak=full(p.v_leak), w_in=full(1.0))
    if isinstance(sub, torch.nn.Flatten):
        return nir.Flatten(input_type={"input": np.array(in_shape)}, start_dim=0, end_dim=-1)
    if isinstance(sub, torch.nn.AvgPool2d):
        if sub.ceil_mode or sub.divisor_override:
            raise ValueError(f"{name!r} (AvgPool2d): ceil_mode and divisor_override have no "
                             "NIR equivalent")
        pair = lambda v: np.broadcast_to(np.asarray(v), (2,)).copy()
        return nir.AvgPool2d(pair(sub.kernel_size), pair(sub.stride or sub.kernel_size),
                             pair(sub.padding))
    raise ValueError(f"norse.torch.to_nir does not export {name!r} ({type(sub).__name__})"
                     + ("; NIR has no max-pooling node: use AvgPool2d"
                        if isinstance(sub, torch.nn.MaxPool2d) else ""))


def to_nir(module: torch.nn.Module, sample: torch.Tensor, dt: float = 1e-3):
    """``norse.torch.to_nir(module, sample, dt=dt)`` as a graph ``nir.write`` accepts.
    sample: one batch of input (batch, *input shape)."""
    import norse.torch

    nir = import_nir()
    shapes = _shapes(module, sample)
    with _zero_biases(module):
        graph = norse.torch.to_nir(module, sample, dt=dt)
    nodes, edges = {}, list(graph.edges)
    for name, node in graph.nodes.items():
        sub = module.get_submodule(name) if name in shapes else None
        if node is None and isinstance(sub, norse.torch.LIFRecurrentCell):
            nodes.update(_recurrent_cell(nir, name, sub, dt, shapes[name][1]))
            edges = [(a, f"{name}.input" if b == name else b) for a, b in edges] + \
                [(f"{name}.input", name), (name, f"{name}.recurrent"),
                 (f"{name}.recurrent", name)]
        elif node is None:
            nodes[name] = _unexported(nir, name, sub, shapes[name][0], dt)
        elif isinstance(node, nir.Input):
            nodes[name] = nir.Input(input_type={"input": np.array(sample.shape[1:])})
        elif isinstance(node, nir.Output):
            src = next(a for a, b in graph.edges if b == name)
            nodes[name] = nir.Output(output_type={"output": np.array(shapes[src][1])})
        else:
            params = {f.name: _numpy(getattr(node, f.name)) for f in dataclasses.fields(node)
                      if f.name not in NOT_PARAMETERS}
            if isinstance(node, nir.Conv2d):
                params["input_shape"] = np.array(shapes[name][0][1:])
            elif not isinstance(node, (nir.Affine, nir.Linear)):  # neurons: per-neuron arrays
                if "v_reset" in params:  # (norse writes 0)
                    params["v_reset"] = _numpy(module.get_submodule(name).p.v_reset)
                params = {k: np.broadcast_to(np.asarray(v, dtype=np.float32),
                                             shapes[name][1]).copy() for k, v in params.items()}
            nodes[name] = type(node)(**params)
    return nir.NIRGraph(nodes=nodes, edges=edges)


def _recurrent_cell(nir, name: str, cell, dt: float, out_shape: tuple) -> dict:
    """norse's ``LIFRecurrentCell`` (norse writes an empty node) as its input weights
    (``<name>.input``), its neurons (a ``CubaLIF`` in the conventions of norse's
    ``LIFCell``) and the weights from its own spikes of the step before
    (``<name>.recurrent``), which add into the current as its input does."""
    full = lambda v: np.broadcast_to(np.asarray(_numpy(v), dtype=np.float32),
                                     out_shape).copy()
    p = cell.p
    return {f"{name}.input": nir.Linear(weight=_numpy(cell.input_weights)),
            name: nir.CubaLIF(tau_syn=full(dt / p.tau_syn_inv), tau_mem=full(dt / p.tau_mem_inv),
                              r=full(1.0), v_leak=full(p.v_leak), v_threshold=full(p.v_th),
                              v_reset=full(p.v_reset), w_in=full(1.0)),
            f"{name}.recurrent": nir.Linear(weight=_numpy(cell.recurrent_weights))}
