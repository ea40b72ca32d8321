"""Real Lava: stock netx loads the files, and Lava agrees with the emulator spike for spike."""
import json
import shutil

import h5py
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from snn_export.cli import main
from snn_export.deploy import netx_hdf5
from snn_export.sim import emulator, lava_builder, lava_runner
from snn_export.sim.verify import compare

from .conftest import random_network

pytestmark = pytest.mark.lava


def _netx():
    lava_builder.import_lava()
    from lava.lib.dl import netx  # stock netx
    return netx


def test_stock_netx_loads_the_description(tmp_path):
    netx = _netx()
    net = random_network(np.random.default_rng(3), [7, 9, 4])
    path = tmp_path / "n.net"
    netx_hdf5.write(net, path)
    loaded = netx.hdf5.Network(net_config=str(path), input_message_bits=net.input_bits)
    assert len(loaded.layers) == 2
    for (syn, group), theirs in zip(netx_hdf5.chain(net), loaded.layers):
        params = theirs.synapse.proc_params
        applied = params["weights"].astype(np.int64) * 2 ** params["weight_exp"]
        np.testing.assert_array_equal(applied, syn.weight)
        neuron = theirs.neuron
        assert neuron.vth.init == group.params.vth
        assert neuron.du.init == group.params.du and neuron.dv.init == group.params.dv
        np.testing.assert_array_equal(neuron.bias_mant.init, group.bias)
        assert neuron.bias_exp.init == 6


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1), depth=st.integers(1, 3), extreme=st.booleans())
def test_random_networks_bit_exact_in_lava(tmp_path, seed, depth, extreme):
    rng = np.random.default_rng(seed)
    sizes = [int(rng.integers(1, 12)) for _ in range(depth + 1)]
    net = random_network(rng, sizes, time_steps=int(rng.integers(1, 9)),
                         input_bits=int(rng.integers(1, 9)), extreme=extreme)
    x = rng.integers(0, 2**net.input_bits, (5, sizes[0]))
    path = tmp_path / f"r{seed}.net"
    netx_hdf5.write(net, path)
    lava = lava_runner.run_netx(path, x, net.time_steps, net.input_bits, progress=False)
    emu = emulator.run(netx_hdf5.read(path), x)
    _, first, total = compare(emu, lava)
    assert total == 0, first


def test_a_changed_weight_is_reported_at_its_first_spike(tmp_path):
    rng = np.random.default_rng(11)
    net = random_network(rng, [5, 6, 3], time_steps=8)
    good, bad = tmp_path / "good.net", tmp_path / "bad.net"
    netx_hdf5.write(net, good)
    shutil.copy(good, bad)
    with h5py.File(bad, "r+") as f:
        f["layer/1/weight"][...] = f["layer/1/weight"][()] + 100
    x = rng.integers(0, 16, (4, 5))
    lava = lava_runner.run_netx(bad, x, net.time_steps, net.input_bits, progress=False)
    emu = emulator.run(net, x)
    layers, first, total = compare(emu, lava)
    assert total > 0 and layers[0].differing > 0
    assert first.layer == "layer1" and first.step == 2  # the first step layer 1 sees input
    assert (first.emulator, first.lava) in ((0, 1), (1, 0))


def test_cli_verify_200_samples_bit_exact(trained, tmp_path, capsys):
    out = tmp_path / "deployed"
    code = main([str(trained), "--target", "lava", "-o", str(out), "--verify", "200", "--json"])
    summary = json.loads(capsys.readouterr().out)
    assert code == 0
    assert summary["samples"] == 200 and summary["bit_exact"] is True and summary["mismatches"] == 0
    acc = summary["accuracy"]
    assert acc["float"] >= 0.90
    assert abs(acc["lava"] - acc["float"]) <= 0.01 + 1e-9  # at most 2 of 200 samples
    assert acc["lava"] == acc["emulator"]
    assert all(layer["differing"] == 0 and layer["spikes_lava"] > 0 for layer in summary["layers"])
    assert sorted(p.name for p in out.iterdir()) == ["firing_rates.png", "network.net",
                                                     "raster.png", "report.html", "report.md"]
    report = (out / "report.md").read_text()
    assert "200 samples in Lava's CPU simulator and in the emulator: **bit-exact**" in report
    for layer in summary["layers"]:  # the per-group table, as --json says
        assert (f"| {layer['layer']} | {layer['spikes_emulator']} | {layer['spikes_lava']} "
                "| 0 | 0 |") in report


def _aligned(rng: np.random.Generator, sizes, time_steps: int) -> "emulator.Network":
    """A chain as lowering deploys one: no neuron biases, biases through Dense synapses from
    the always-on ``bias_source`` delayed to each layer's depth, and a skip synapse from the
    first layer to the last delayed to align with the chain."""
    from snn_export.deploy.lower_graph import BIAS_SHAPE, BIAS_SOURCE, const
    from snn_export.graph import Dense

    net = random_network(rng, sizes, time_steps=time_steps)
    for k, g in enumerate(net.neurons):
        bias = 2 * (g.bias[:, None] // 10)
        net.synapses.append(Dense(f"{g.name}.bias", BIAS_SOURCE, g.name, bias,
                                  delays=np.full(bias.shape, k) if k else None))
        g.bias[:] = 0
    last = net.neurons[-1]
    skip = 2 * rng.integers(-64, 64, (last.size, net.neurons[0].size))
    net.synapses.append(Dense("skip", "layer1", last.name, skip,
                              delays=np.full(skip.shape, len(sizes) - 3)))
    net.neurons.insert(0, const(BIAS_SOURCE, BIAS_SHAPE))
    return net


@settings(max_examples=5, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), depth=st.integers(2, 4), steps=st.integers(1, 9))
def test_samples_back_to_back_equal_clean_runs(seed, depth, steps):
    """Each group reset at the first step of its window: every sample's spikes (from the
    group's depth on) equal a clean run's, and the last sample's states too."""
    rng = np.random.default_rng(seed)
    net = _aligned(rng, [int(rng.integers(1, 12)) for _ in range(depth + 1)], depth + steps)
    assert lava_runner.back_to_back(net) is not None
    x = rng.integers(0, 2**net.input_bits, (12, net.input_size))
    lava = lava_runner.run(net, x, progress=False)
    assert lava.state_sample == 11
    _, first, total = compare(emulator.run(net, x), lava)
    assert total == 0, first
