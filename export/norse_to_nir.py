"""norse 1.1's ``norse.torch.to_nir``, repaired so that ``nir.write`` accepts its graph.

norse 1.1.0 writes 0-d neuron parameters (``nir.write`` refuses them: "Scalar datasets
don't support chunk/filter options"), an empty node for ``torch.nn.Flatten``, ``Conv2d``
nodes without ``input_shape`` and ``Input`` and ``Output`` types with the batch axis. :func:`to_nir`
runs the sample through the module once to learn every layer's shape and fixes exactly
those. Parameter values are left as norse wrote them, including its time-constant convention
(``tau = dt / tau_inv``, norse issue #411), which ``snn-export --dialect norse`` reads.
"""
from __future__ import annotations

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


def to_nir(module: torch.nn.Module, sample: torch.Tensor, dt: float = 1e-3):
    """``norse.torch.to_nir(module, sample, dt=dt)`` as a graph ``nir.write`` accepts.
    sample: one batch of input (batch, *input shape)."""
    import norse.torch

    nir = import_nir()
    shapes = _shapes(module, sample)
    graph = norse.torch.to_nir(module, sample, dt=dt)
    nodes = {}
    for name, node in graph.nodes.items():
        if node is None:
            sub = module.get_submodule(name)
            if not isinstance(sub, torch.nn.Flatten):
                raise ValueError(f"norse.torch.to_nir does not export {name!r} "
                                 f"({type(sub).__name__})")
            nodes[name] = nir.Flatten(input_type={"input": np.array(shapes[name][0])},
                                      start_dim=0, end_dim=-1)
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
                params = {k: np.broadcast_to(np.asarray(v, dtype=np.float32),
                                             shapes[name][1]).copy() for k, v in params.items()}
            nodes[name] = type(node)(**params)
    return nir.NIRGraph(nodes=nodes, edges=list(graph.edges))
