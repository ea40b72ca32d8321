"""Emulator: input checks, exactness bound, batching, CPU == CUDA (also: tests/test_golden.py)."""
import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from snn_export import fixed_point as fp
from snn_export.graph import INPUT, Dense, Network, Neurons, Sparse
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
    emulator.sum_bounds(net)
    monkeypatch.setattr(emulator, "EXACT_BOUND", bound)
    with pytest.raises(ValueError, match="a.dense: accumulations up to .* not exact in float64"):
        emulator.sum_bounds(net)


def test_sums_beyond_float32_are_summed_in_float64(monkeypatch):
    """Partial sums up to ~2**25.6: float32 would round them (the run forced to float32
    differs), so the emulator must choose float64 here, and float32 for 8-bit spikes."""
    rng = np.random.default_rng(0)
    n_in = 800
    big = Dense("a.dense", INPUT, "a", 2 * rng.integers(100, 128, (4, n_in)))
    small = Dense("b.dense", "a", "b", 2 * rng.integers(-127, 128, (3, 4)))
    groups = [Neurons(n, (k,), fp.LIFParams(fp.VTH_MAX, 4095, 0), np.zeros(k, int))
              for n, k in (("a", 4), ("b", 3))]
    net = Network((n_in,), 8, 2, groups, [big, small])
    dtypes = {k: fp.exact_dtype(b) for k, b in emulator.sum_bounds(net).items()}
    assert dtypes == {"a.dense": torch.float64, "b.dense": torch.float32}
    x = rng.integers(200, 256, (20, n_in))
    exact = emulator.run(net, x).states["a"]["u"]
    monkeypatch.setattr(fp, "FLOAT32_EXACT", float("inf"))
    assert (emulator.run(net, x).states["a"]["u"] != exact).any()


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


def densified(net: Network) -> Network:
    """``net`` with every Sparse replaced by the Dense of the same matrices (absent: weight
    and delay zero)."""
    synapses = []
    for s in net.synapses:
        if isinstance(s, Sparse):
            w, d = np.zeros(s.shape, dtype=np.int64), None
            w[s.rows, s.cols] = s.weight
            if s.delays is not None:
                d = np.zeros(s.shape, dtype=np.int64)
                d[s.rows, s.cols] = s.delays
            s = Dense(s.name, s.source, s.target, w, s.weight_exp, s.num_weight_bits,
                      s.sign_mode, delays=d)
        synapses.append(s)
    return Network(net.input_shape, net.input_bits, net.time_steps, net.neurons, synapses)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(spec=input_specs(), data=st.data())
def test_sparse_synapses_compute_what_the_dense_matrix_does(spec, data):
    net = data.draw(networks(spec))
    assume(any(isinstance(s, Sparse) for s in net.synapses))
    x = data.draw(inputs(spec))
    got, expected = emulator.run(net, x), emulator.run(densified(net), x)
    for name in expected.spikes:
        np.testing.assert_array_equal(got.spikes[name], expected.spikes[name], err_msg=name)
        for key, value in expected.states[name].items():
            np.testing.assert_array_equal(got.states[name][key], value, err_msg=name)


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(spec=input_specs(), data=st.data())
def test_a_delay_shared_by_every_synapse_equals_the_slotted_delay_line(spec, data):
    """A uniform delay reads the source ``delay`` steps back (source frames are stored); the
    same delays with one more zero-weight synapse one step later use per-synapse slots:
    both must be Lava's DelayDense."""
    net = data.draw(networks(spec))
    dense = [k for k, s in enumerate(net.synapses) if isinstance(s, Dense)]
    assume(dense)
    k = dense[0]
    syn = net.synapses[k]
    delay = data.draw(st.integers(1, max(net.time_steps - 2, 1)))
    uniform = np.full(syn.weight.shape, delay)
    slotted = uniform.copy()
    slotted.flat[0] = delay - 1
    weight = syn.weight.copy()
    weight.flat[0] = 0
    x = data.draw(inputs(spec))
    runs = []
    for delays in (uniform, slotted):
        synapses = list(net.synapses)
        synapses[k] = Dense(syn.name, syn.source, syn.target, weight, syn.weight_exp,
                            syn.num_weight_bits, syn.sign_mode, delays)
        runs.append(emulator.run(Network(net.input_shape, net.input_bits, net.time_steps,
                                         net.neurons, synapses), x))
    assume(sum(int(s.sum()) for s in runs[0].spikes.values()) > 0)
    for name in runs[0].spikes:
        np.testing.assert_array_equal(runs[0].spikes[name], runs[1].spikes[name], err_msg=name)


@pytest.mark.parametrize("change, message", [
    (dict(rows=np.array([0, 3])), "an index lies outside the .3, 2. matrix"),
    (dict(cols=np.array([1, 1]), rows=np.array([2, 2])), "a .row, col. pair is listed twice"),
    (dict(weight=np.array([1])), "rows, cols and weight must be 1-D arrays of one length"),
    (dict(shape=(2, 3)), r"shape \(2, 3\), expected \(3, 2\)"),
    (dict(weight=np.array([300, 1])), "weights outside Lava's 9-bit range"),
    (dict(delays=np.array([0, 63])), "delays 0..63 outside 0..62"),
    (dict(delays=np.array([-1, 2])), "delays -1..2 outside 0..62"),
    (dict(delays=np.array([1, 2, 3])), r"delays of shape \(3,\) and dtype int64, expected 2 "
                                       "integers"),
    (dict(delays=np.array([1.0, 2.0])), "delays of shape .* and dtype float64, expected 2")])
def test_sparse_validation_names_the_synapse_group(change, message):
    fields = {**dict(name="g.s", source=INPUT, target="g", rows=np.array([0, 2]),
                     cols=np.array([1, 1]), weight=np.array([4, -6]), shape=(3, 2)), **change}
    net = Network((2,), 1, 2, [Neurons("g", (3,), fp.LIFParams(1, 0, 0), np.zeros(3, int))],
                  [Sparse(**fields)])
    with pytest.raises(ValueError, match="synapses g.s: " + message):
        net.validate()
