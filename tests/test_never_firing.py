"""LIF groups that can never fire are named (a warning): the bound is sharp on one neuron,
sound against the emulator on random networks, and the CLI says it for a checkpoint whose
threshold is absurd against its weights."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from snn_export import fixed_point as fp
from snn_export.cli import main
from snn_export.deploy.never_firing import never_firing
from snn_export.graph import INPUT, Dense, Network, Neurons
from snn_export.sim import emulator

from .conftest import random_network
from .test_cli import LIF, graph_checkpoint


def _one_neuron(vth: int, weight: int = 6, bits: int = 4) -> Network:
    """A neuron without memory (du 4095, dv 4096) reading one input: v = 64 w x."""
    params = fp.LIFParams(vth=vth, du=fp.DECAY_UNITY - 1, dv=fp.DECAY_UNITY)
    return Network((1,), bits, 5, [Neurons("n", (1,), params, np.zeros(1, int))],
                   [Dense("n.dense", INPUT, "n", np.array([[weight]]))])


def test_the_bound_is_sharp_on_one_neuron():
    top = 15 * 6  # the largest input level times the weight
    assert len(never_firing(_one_neuron(top))) == 1  # v reaches vth << 6 at most: no spike
    assert never_firing(_one_neuron(top - 1)) == []
    spikes = emulator.run(_one_neuron(top - 1), np.array([[15]])).spikes["n"]
    assert spikes[0, 1:].all()  # and it does fire once the input arrives (step 2 on)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), scale=st.sampled_from([1, 30, 1000]))
def test_groups_named_never_fire_in_the_emulator(seed, scale):
    """On random chains whose thresholds are scaled up, every group named stays silent on
    random inputs and on the largest one."""
    rng = np.random.default_rng(seed)
    net = random_network(rng, [12, 10, 8, 6], time_steps=8)
    for g in net.neurons:
        object.__setattr__(g, "params", fp.LIFParams(min(g.params.vth * scale, fp.VTH_MAX),
                                                     g.params.du, g.params.dv))
    named = {name.strip(" ,") for line in never_firing(net)
             for name in line.split(" can never")[0].removeprefix("neurons ").split(", ")}
    x = np.concatenate([rng.integers(0, 16, (30, 12)), np.full((1, 12), 15)])
    spikes = emulator.run(net, x).spikes
    assert all(spikes[name].sum() == 0 for name in named), named


def test_groups_fed_only_by_silent_groups_are_named_after_them():
    p = fp.LIFParams(vth=fp.VTH_MAX, du=0, dv=0)  # the most memory, the highest threshold
    net = Network((4,), 4, 6, [Neurons("a", (3,), p, np.full(3, 300)),
                               Neurons("b", (2,), fp.LIFParams(1, 0, 0), np.zeros(2, int))],
                  [Dense("a.dense", INPUT, "a", np.full((3, 4), 254)),
                   Dense("b.dense", "a", "b", np.full((2, 3), 254))])
    assert never_firing(net) == []  # a: 6 steps of 64 * 4 * 15 * 254 and more
    net.synapses[0] = Dense("a.dense", INPUT, "a", np.full((3, 4), 2))  # now far too little
    lines = never_firing(net)
    assert [line.split(":")[0] for line in lines] == ["neurons a can never fire in 6 steps",
                                                      "neurons b can never fire either"]


def test_a_threshold_absurd_for_its_weights_is_a_warning(tmp_path, capsys):
    nodes = [{"name": "flat", "op": "flatten", "inputs": ["input"]},
             {"name": "fc", "op": "linear", "inputs": ["flat"], "out_features": 10},
             {"name": "out", "op": "lif", "inputs": ["fc"], **{**LIF, "threshold": 1e9}}]
    model = graph_checkpoint(tmp_path / "m.pt", nodes)
    assert main([str(model), "--target", "lava", "--check"]) == 0
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("snn-export: warning: neurons out can never "
                                               "fire in 7 steps"), err


@pytest.mark.parametrize("threshold", [1.0, 0.05])
def test_ordinary_thresholds_are_not_named(tmp_path, capsys, threshold):
    nodes = [{"name": "flat", "op": "flatten", "inputs": ["input"]},
             {"name": "fc", "op": "linear", "inputs": ["flat"], "out_features": 10},
             {"name": "out", "op": "lif", "inputs": ["fc"], **{**LIF, "threshold": threshold}}]
    model = graph_checkpoint(tmp_path / "m.pt", nodes)
    assert main([str(model), "--target", "lava", "--check"]) == 0
    assert capsys.readouterr().err == ""
