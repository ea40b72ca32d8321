"""Neuron group roles: lowering records what it builds (layers, gates with their logic,
relays with their source and delay, always-on groups, attention masks), and the graph file
and NIR keep it."""
import re

import h5py
import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings

from snn_export import fixed_point as fp
from snn_export.deploy import graph_hdf5
from snn_export.deploy.lower_graph import BIAS_SOURCE, gate, lower_graph
from snn_export.errors import SnnExportError
from snn_export.graph import INPUT, MAX_DELAY, Conv, Network, Neurons, Role
from snn_export.model_graph import ModelGraph, latencies
from snn_export.train.architectures import (attention_net, biasnn_resnet, orrc_resnet,
                                            sew_resnet, syna_resnet)
from snn_export.train.graph_model import GraphSNN

from . import golden
from .test_graph_deploy import graphs, with_bias_sources

SHAPE = (1, 8, 8)
ARCHITECTURES = {
    "syna_c": lambda: syna_resnet(SHAPE, 4, 4, 1 / 15, (2, 4)),
    "syna_s": lambda: syna_resnet(SHAPE, 4, 4, 1 / 15, (2, 4), form="spatial"),
    "biasnn": lambda: biasnn_resnet(SHAPE, 4, 4, 1 / 15, (2, 4)),
    "orrc": lambda: orrc_resnet(SHAPE, 4, 4, 1 / 15, (2, 4), blocks=2),
    "attention_net": lambda: attention_net(SHAPE, 4, 4, 1 / 15, 3),
    "and_join": lambda: sew_resnet(SHAPE, 4, 4, 1 / 15, (2, 4), join="and"),
    "iand_syna_c": lambda: sew_resnet(SHAPE, 4, 4, 1 / 15, (2, 4), join="iand",
                                      attention="syna_c"),
    "orrc_with_consts": lambda: with_bias_sources(orrc_resnet(SHAPE, 4, 4, 1 / 15, (2, 4))),
}


def old_mask_groups(net: Network) -> list[str]:
    """The masks as the report found them before groups had roles (by synapse names and
    gate parameters): the second input (``<gate>.in1``) of an AND or AND NOT gate, through
    relays named ``<source>_delay<d>``. Kept as the oracle the roles must agree with."""
    and_params = gate("", (1,), "and").params
    found = []
    for s in net.synapses:
        if s.name != f"{s.target}.in1" or s.source == INPUT:
            continue
        if net.group(s.target).params == and_params or np.any(np.asarray(s.weight) < 0):
            source = re.sub(r"_delay\d+$", "", s.source)
            source = source if any(g.name == source for g in net.neurons) else s.source
            if source not in found:
                found.append(source)
    return found


def lowered(graph: ModelGraph, seed: int = 0) -> Network:
    torch.manual_seed(seed)
    model = GraphSNN(graph).eval()
    return lower_graph(graph, model.tensors(), latencies(graph)[graph.readout] + 3)


def check_roles(graph: ModelGraph, net: Network) -> None:
    """Every group's role is what its node (or the relay it is) says."""
    ops = {n.name: n.op for n in graph.nodes}
    for g in net.neurons:
        role = g.role
        if g.name == BIAS_SOURCE:
            assert role == Role("always_on") and not net.incoming(g.name)
        elif g.name in ops:
            op = ops[g.name]
            expected = Role("layer") if op in ("lif", "alif") else \
                Role("integrator") if op == "li" else \
                Role("always_on") if op == "const" else Role("gate", logic=op)
            assert (role.kind, role.logic, role.source, role.delay) == \
                (expected.kind, expected.logic, None, 0), g.name
        else:  # a relay: <source>_delay<d>, fed by the relay one step shallower (bias
            # relays: MAX_DELAY + 1 steps, through a delayed synapse)
            assert role.kind == "relay" and role.logic is None and not role.mask, g.name
            assert g.name == f"{role.source}_delay{role.delay}"
            assert role.source in ops or role.source == BIAS_SOURCE
            step = MAX_DELAY + 1 if role.source == BIAS_SOURCE else 1
            (syn,) = net.incoming(g.name)
            assert syn.source == (role.source if role.delay == step
                                  else f"{role.source}_delay{role.delay - step}")
            assert net.group(role.source).shape == g.shape
    gating = {n.inputs[1] for n in graph.nodes if n.op in ("and", "andnot")}
    assert set(net.masks()) == gating == set(old_mask_groups(net))
    assert len(net.masks()) == len(set(net.masks()))


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_lowering_records_each_groups_role(arch):
    graph = ARCHITECTURES[arch]()
    net = lowered(graph)
    check_roles(graph, net)
    kinds = {g.role.kind for g in net.neurons}
    assert "layer" in kinds and "gate" in kinds
    assert net.group(BIAS_SOURCE).role.kind == "always_on"  # batch norm biases
    assert any(g.role.kind == "always_on" and g.name != BIAS_SOURCE for g in net.neurons) \
        == (arch == "orrc_with_consts")
    # Dense and Sparse synapses carry the alignment delays; only a Conv reading a const
    # source (depth 0) needs relays
    assert ("relay" in kinds) == (arch == "orrc_with_consts")
    if arch != "attention_net":  # the shortcuts meet the backbone's depth
        assert any(getattr(s, "delays", None) is not None and ".in" in s.name
                   for s in net.synapses)
    if arch.startswith("orrc"):
        assert not net.masks()
    else:
        assert net.masks()
    if arch == "biasnn":
        assert all(net.group(m).kind == "atrlif" for m in net.masks())


def test_delayed_synapses_relays_and_maxpool_gates():
    """A maxpool gate; a gate input three steps shallower, delayed by its Sparse synapses;
    a convolution of an add of spikes (SEW's ADD) reading the same source: Lava's Conv has
    no delays, so relays x_delay1..3 carry them."""
    lif = {"tau_mem": 1.0, "tau_syn": None, "threshold": 0.5}
    conv = {"op": "conv", "out_channels": 2, "kernel": 3, "padding": 1, "bias": False}
    graph = ModelGraph.from_dict({"name": "graph", "input": {"shape": [1, 4, 4], "bits": 1,
                                                             "scale": 1.0}, "nodes": [
        {"name": "cx", "inputs": ["input"], **conv}, {"name": "x", "op": "lif",
                                                      "inputs": ["cx"], **lif},
        {"name": "c1", "inputs": ["x"], **conv}, {"name": "y1", "op": "lif",
                                                  "inputs": ["c1"], **lif},
        {"name": "c2", "inputs": ["y1"], **conv}, {"name": "y2", "op": "lif",
                                                   "inputs": ["c2"], **lif},
        {"name": "c3", "inputs": ["y2"], **conv}, {"name": "y3", "op": "lif",
                                                   "inputs": ["c3"], **lif},
        {"name": "j", "op": "and", "inputs": ["y3", "x"]},
        {"name": "pool", "op": "maxpool", "inputs": ["j"], "kernel": 2},
        {"name": "flat", "op": "flatten", "inputs": ["pool"]},
        {"name": "fc", "op": "linear", "inputs": ["flat"], "out_features": 3},
        {"name": "out", "op": "lif", "inputs": ["fc"], **lif},
        {"name": "sum", "op": "add", "inputs": ["y3", "x"]},
        {"name": "c4", "inputs": ["sum"], **conv}, {"name": "z", "op": "lif",
                                                     "inputs": ["c4"], **lif}]})
    net = lowered(graph)
    check_roles(graph, net)
    relays = {g.name: g.role for g in net.neurons if g.role.kind == "relay"}
    assert relays == {f"x_delay{d}": Role("relay", source="x", delay=d) for d in (1, 2, 3)}
    into_j = {s.name: s for s in net.synapses if s.target == "j"}
    assert into_j["j.in1"].source == "x" and set(into_j["j.in1"].delays) == {3}
    assert into_j["j.in0"].source == "y3" and isinstance(into_j["j.in0"], Conv)  # undelayed
    assert {s.source for s in net.synapses if s.target == "z"} == {"y3", "x_delay3"}
    assert net.group("j").role == Role("gate", logic="and")
    assert net.group("pool").role == Role("gate", logic="maxpool")
    assert net.group("x").role == Role("layer", mask=True) and net.masks() == ["x"]
    assert net.group("out").role == Role("layer")


@settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck))
@given(case=graphs())
def test_every_lowered_graph_has_roles_matching_its_nodes(case):
    graph, seed = case
    check_roles(graph, lowered(graph, seed))


@pytest.mark.parametrize("role, message", [
    (Role("neuron"), "unknown role 'neuron'"),
    (Role("gate"), "role gate with logic None"),
    (Role("gate", logic="xor"), "role gate with logic 'xor'"),
    (Role("layer", logic="or"), "role layer with logic 'or'"),
    (Role("relay", source="a"), "role relay with source 'a' and delay 0"),
    (Role("always_on", source="a", delay=1), "role always_on with source 'a'"),
    (Role("layer", mask=1), "role mask 1 is not a bool"),
])
def test_invalid_roles_are_refused_naming_the_group(role, message):
    group = Neurons("g", (2,), fp.LIFParams(1, 0, 0), np.zeros(2, int), role=role)
    with pytest.raises(ValueError, match=f"neurons g: {re.escape(message)}"):
        group.validate()
    net = Network((2,), 1, 2, [group], [])
    with pytest.raises(ValueError, match="neurons g: "):
        net.validate()


def test_a_relay_of_an_unknown_group_is_refused():
    group = Neurons("g_delay1", (2,), fp.LIFParams(1, 0, 0), np.zeros(2, int),
                    role=Role("relay", source="g", delay=1))
    with pytest.raises(ValueError, match="neurons g_delay1: relay of unknown group 'g'"):
        Network((2,), 1, 2, [group], []).validate()


def test_default_role_is_a_plain_layer():
    group = Neurons("g", (2,), fp.LIFParams(1, 0, 0), np.zeros(2, int))
    assert group.role == Role() == Role("layer", None, None, 0, False)
    assert Network((2,), 1, 2, [group], []).masks() == []


def assert_same_roles(a: Network, b: Network) -> None:
    assert [(g.name, g.role) for g in a.neurons] == [(g.name, g.role) for g in b.neurons]


@pytest.mark.parametrize("arch", ["syna_c", "orrc_with_consts"])
def test_graph_file_keeps_roles(arch, tmp_path):
    net = lowered(ARCHITECTURES[arch]())
    graph_hdf5.write(net, tmp_path / "g.h5")
    with h5py.File(tmp_path / "g.h5", "r") as f:
        assert f.attrs["format_version"] == graph_hdf5.FORMAT_VERSION == 4
    back = graph_hdf5.read(tmp_path / "g.h5")
    assert_same_roles(net, back)
    assert back.masks() == net.masks()


def test_version_1_and_2_files_read_with_every_group_a_layer(tmp_path):
    path = golden.FOLDER / "atrlif_attention.h5"  # written as version 1
    with h5py.File(path, "r") as f:
        assert f.attrs["format_version"] == 1
    assert all(g.role == Role() for g in graph_hdf5.read(path).neurons)
    # a lowered network written as version 2 (no role attributes) reads as layers
    net = lowered(ARCHITECTURES["syna_c"]())
    graph_hdf5.write(net, tmp_path / "g.h5")
    with h5py.File(tmp_path / "g.h5", "r+") as f:
        f.attrs["format_version"] = 2
        for h in f["neurons"].values():
            for key in ("role", "mask", "logic", "source", "delay"):
                if key in h.attrs:
                    del h.attrs[key]
    back = graph_hdf5.read(tmp_path / "g.h5")
    assert [g.name for g in back.neurons] == [g.name for g in net.neurons]
    assert all(g.role == Role() for g in back.neurons) and not back.masks()


def test_a_bad_role_in_a_graph_file_is_refused_by_name(tmp_path):
    net = lowered(ARCHITECTURES["syna_c"]())
    graph_hdf5.write(net, tmp_path / "g.h5")
    with h5py.File(tmp_path / "g.h5", "r+") as f:
        f["neurons/0"].attrs["role"] = "neuron"
    with pytest.raises(SnnExportError, match=f"g.h5: neurons {net.neurons[0].name}: "
                                             "unknown role 'neuron'"):
        graph_hdf5.read(tmp_path / "g.h5")
    with h5py.File(tmp_path / "g.h5", "r+") as f:
        del f["neurons/0"].attrs["role"]
    with pytest.raises(SnnExportError, match=r"/neurons/0: .*role"):
        graph_hdf5.read(tmp_path / "g.h5")


@pytest.mark.parametrize("arch", ["syna_s", "biasnn", "orrc_with_consts"])
def test_nir_keeps_roles(arch, tmp_path):
    pytest.importorskip("nir")
    from snn_export.deploy import from_nir, to_nir
    net = lowered(ARCHITECTURES[arch]())
    to_nir.write(net, tmp_path / "g.nir")
    back = from_nir.read(tmp_path / "g.nir")
    assert_same_roles(net, back)
    assert back.masks() == net.masks()
