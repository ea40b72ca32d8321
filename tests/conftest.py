"""Shared fixtures: a trained digits checkpoint and random fixed-point networks."""
from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from snn_export import fixed_point as fp
from snn_export.graph import INPUT, Dense, Network, Neurons

HAVE_LAVA = importlib.util.find_spec("lava") is not None


def pytest_collection_modifyitems(config, items):
    if HAVE_LAVA:
        return
    skip = pytest.mark.skip(reason="Lava is not installed (lava extra, Python 3.10)")
    for item in items:
        if "lava" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def trained(tmp_path_factory):
    """A digits checkpoint trained for the acceptance tests (about 20 s on 2 cores)."""
    from snn_export import checkpoint
    from snn_export.train.trainer import TrainConfig, train

    ckpt = train(TrainConfig(epochs=15), progress=False)
    path = tmp_path_factory.mktemp("trained") / "model.pt"
    checkpoint.save(ckpt, path)
    return path


def random_network(rng: np.random.Generator, sizes, time_steps=6, input_bits=4,
                   extreme=False) -> Network:
    """A random netx-expressible chain (Dense + LIF layers ``layer1..``) with weights,
    biases and neuron constants across their full ranges."""
    neurons, synapses, source = [], [], INPUT
    for k, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        name = f"layer{k + 1}"
        w = fp.WEIGHT_STEP * rng.integers(fp.MANT_MIN, fp.MANT_MAX + 1, (n_out, n_in))
        b_lim = fp.BIAS_MANT_MAX if extreme else 300
        bias = rng.integers(-b_lim, b_lim + 1, n_out)
        vth = int(rng.integers(1, fp.VTH_MAX + 1)) if extreme else int(rng.integers(50, 3000))
        params = fp.LIFParams(vth=vth, du=int(rng.integers(0, 4096)), dv=int(rng.integers(0, 4097)))
        neurons.append(Neurons(name, (n_out,), params, bias))
        synapses.append(Dense(f"{name}.dense", source, name, w))
        source = name
    return Network((sizes[0],), input_bits, time_steps, neurons, synapses)


def save_graph_checkpoint(path, graph, time_steps=6):
    """A model.pt of a user's graph model (parameters from PyTorch's initialisation)."""
    from snn_export import checkpoint
    from snn_export.train.graph_model import GraphSNN

    model = GraphSNN(graph)
    checkpoint.save({"architecture": graph.to_dict(), "state_dict": model.state_dict(),
                     "quantization": {"weight_bits": 8, "decay_bits": 12, "aware": True},
                     "dataset": {"name": "digits", "input_size": int(np.prod(graph.input_shape)),
                                 "input_bits": graph.input_bits,
                                 "input_scale": graph.input_scale, "num_classes": 10},
                     "time_steps": time_steps, "training": {}}, path)
    return path
