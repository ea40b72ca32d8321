"""Emulator: input checks, exactness bound, batching, CPU == CUDA (also: tests/test_golden.py)."""
import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from snn_export import fixed_point as fp
from snn_export.graph import INPUT, Dense, Network, Neurons
from snn_export.sim import emulator

from .conftest import random_network
from .strategies import input_specs, inputs, merge, networks


def test_batches_do_not_interact():
    rng = np.random.default_rng(0)
    net = random_network(rng, [6, 5, 4])
    x = rng.integers(0, 16, (37, 6))
    whole = emulator.run(net, x).spikes.values()
    pieces = emulator.run(net, x, batch_size=5).spikes.values()
    alone = emulator.run(net, x[7:8]).spikes.values()
    for w, p, a in zip(whole, pieces, alone):
        np.testing.assert_array_equal(w, p)
        np.testing.assert_array_equal(w[7:8], a)


def test_rejects_bad_input():
    net = random_network(np.random.default_rng(0), [6, 5])
    with pytest.raises(ValueError, match=r"expected \(samples, 6\) or \(samples, 6, 6\)"):
        emulator.run(net, np.zeros((2, 7), dtype=int))
    with pytest.raises(ValueError, match="integers within 0..15"):
        emulator.run(net, np.full((2, 6), 16))


def test_bound_on_partial_sums_is_checked(monkeypatch):
    net = Network((12,), 8, 1, [Neurons("a", (1,), fp.LIFParams(1, 0, 0), np.zeros(1, int))],
                  [Dense("a.dense", INPUT, "a", np.full((1, 12), 255), weight_exp=7)])
    bound = 255 * 255 * 12 * 2**7  # weight * input level * fan-in * 2**weight_exp
    monkeypatch.setattr(emulator, "EXACT_BOUND", bound + 1)
    emulator.check_exact(net)
    monkeypatch.setattr(emulator, "EXACT_BOUND", bound)
    with pytest.raises(ValueError, match="a.dense: accumulations up to .* not exact in float64"):
        emulator.check_exact(net)


def test_time_varying_input_equals_static_when_frames_repeat():
    rng = np.random.default_rng(4)
    net = random_network(rng, [6, 5, 4], time_steps=7)
    x = rng.integers(0, 16, (9, 6))
    static = emulator.run(net, x)
    varying = emulator.run(net, np.repeat(x[:, None], 7, axis=1))
    for name in static.spikes:
        np.testing.assert_array_equal(static.spikes[name], varying.spikes[name])
        np.testing.assert_array_equal(static.states[name]["v"], varying.states[name]["v"])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(spec=input_specs(), data=st.data())
def test_cuda_equals_cpu_on_random_networks(spec, data):
    """The fuzzing strategies' networks (extreme parameters, wraps, saturation) on both devices."""
    net = merge([data.draw(networks(spec, prefix=f"n{k}")) for k in range(data.draw(st.integers(1, 4)))])
    x = data.draw(inputs(spec, samples=8))
    cpu, gpu = emulator.run(net, x), emulator.run(net, x, device="cuda")
    for name in cpu.spikes:
        np.testing.assert_array_equal(cpu.spikes[name], gpu.spikes[name], err_msg=name)
        for reg, value in cpu.states[name].items():
            np.testing.assert_array_equal(value, gpu.states[name][reg], err_msg=f"{name}.{reg}")
