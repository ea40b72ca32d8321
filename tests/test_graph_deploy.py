"""Residual and attention graphs: folding passes, gate neurons, delay alignment, the trained
model's integer output equal to the emulator's, and real Lava runs of exported model.pt files."""
import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from snn_export import checkpoint
from snn_export import fixed_point as fp
from snn_export.cli import main
from snn_export.deploy import graph_hdf5
from snn_export.deploy.lower_graph import BLOCK, distinct, integer_weights, lower_graph
from snn_export.errors import SnnExportError
from snn_export.folding import (FloatSynapse, fold_avgpool_after_conv, fold_avgpool_into_conv,
                                fold_avgpool_into_dense, fold_batchnorm)
from snn_export.graph import INPUT
from snn_export.model_graph import (ModelGraph, Node, alignment_delays, latencies, origin,
                                    shapes)
from snn_export.sim import emulator
from snn_export.sim.verify import differing_from_model
from snn_export.train.architectures import (ATTENTION, HEADS, JOIN_OPS, attention_net,
                                            sew_resnet)
from snn_export.train.graph_model import GraphSNN
from snn_export.train.trainer import TrainConfig, train


def conv_syn(w, **geometry):
    g = {"kernel": tuple(w.shape[2:]), "stride": (1, 1), "padding": (0, 0),
         "dilation": (1, 1), "groups": 1, **geometry}
    return FloatSynapse("x", "conv", w, torch.zeros(w.shape[0], dtype=w.dtype), g)


def test_fold_batchnorm_equals_conv_then_eval_batchnorm():
    torch.manual_seed(0)
    conv, bn = torch.nn.Conv2d(3, 4, 3, bias=True).double(), torch.nn.BatchNorm2d(4).double()
    bn.running_mean.uniform_(-1, 1), bn.running_var.uniform_(0.5, 2), bn.weight.data.uniform_(-2, 2)
    bn.eval()
    x = torch.rand(5, 3, 7, 7, dtype=torch.float64)
    syn = FloatSynapse("x", "conv", conv.weight, conv.bias, {
        "kernel": (3, 3), "stride": (1, 1), "padding": (0, 0), "dilation": (1, 1), "groups": 1})
    folded = fold_batchnorm(syn, bn.weight, bn.bias, bn.running_mean, bn.running_var, bn.eps)
    got = folded.apply(x) + folded.bias.reshape(-1, 1, 1)
    torch.testing.assert_close(got, bn(conv(x)))


@pytest.mark.parametrize("geometry", [{}, {"stride": (2, 1), "padding": (1, 2)},
                                      {"dilation": (2, 2), "padding": (1, 1)}, {"groups": 2}])
@pytest.mark.parametrize("k", [(2, 2), (1, 3)])
def test_fold_avgpool_into_conv_equals_pool_then_conv(geometry, k):
    torch.manual_seed(1)
    w = torch.randn(4, 4 // geometry.get("groups", 1), 3, 2, dtype=torch.float64)
    syn = conv_syn(w, **geometry)
    x = torch.rand(2, 4, 6 * k[0], 6 * k[1], dtype=torch.float64)
    expected = syn.apply(F.avg_pool2d(x, k))
    torch.testing.assert_close(fold_avgpool_into_conv(syn, k).apply(x), expected)


@settings(max_examples=150, deadline=None)
@given(kernel=st.tuples(st.integers(1, 3), st.integers(1, 3)),
       stride=st.tuples(st.integers(1, 2), st.integers(1, 2)),
       padding=st.tuples(st.integers(0, 2), st.integers(0, 2)),
       dilation=st.tuples(st.integers(1, 2), st.integers(1, 2)), groups=st.integers(1, 2),
       k=st.tuples(st.integers(1, 3), st.integers(1, 3)),
       size=st.tuples(st.integers(5, 13), st.integers(5, 13)))
def test_fold_avgpool_after_conv_equals_conv_then_pool(kernel, stride, padding, dilation,
                                                       groups, k, size):
    """Pooling a conv's output (floor: rows left over dropped) is one larger conv."""
    w = torch.randn(2 * groups, 2, *kernel, dtype=torch.float64,
                    generator=torch.Generator().manual_seed(sum(size)))
    syn = conv_syn(w, stride=stride, padding=padding, dilation=dilation, groups=groups)
    x = torch.rand(2, 2 * groups, *size, dtype=torch.float64)
    conv = syn.apply(x)
    assume(conv.shape[2] >= k[0] and conv.shape[3] >= k[1])
    torch.testing.assert_close(fold_avgpool_after_conv(syn, k).apply(x), F.avg_pool2d(conv, k))


def test_a_pool_of_the_input_into_a_neuron_is_refused_by_node():
    graph = ModelGraph((1, 4, 4), 1, 1.0, [Node("p", "avgpool", (INPUT,), {"kernel": 2}),
                                          Node("s", "lif", ("p",), {"tau_mem": 2.0,
                                                                    "threshold": 1.0})], "s")
    model = GraphSNN(graph).train()
    with pytest.raises(SnnExportError, match="node 'p' \\(avgpool\\): a neuron's input"):
        model(torch.ones(2, 1, 4, 4), 3)


@pytest.mark.parametrize("dilation", [(1, 1), (2, 3)])
def test_fold_global_avgpool_into_1x1_conv_is_a_broadcast_view(dilation):
    torch.manual_seed(2)
    syn = conv_syn(torch.randn(4, 2, 1, 1, dtype=torch.float64), dilation=dilation)
    x = torch.rand(3, 2, 6, 6, dtype=torch.float64)
    folded = fold_avgpool_into_conv(syn, (6, 6))
    assert folded.weight.shape == (4, 2, 6, 6) and folded.weight.stride()[2:] == (0, 0)
    torch.testing.assert_close(folded.apply(x), syn.apply(F.avg_pool2d(x, (6, 6))))


@pytest.mark.parametrize("shape, broadcast", [((3, 5, 1, 1), (3, 5, 4, 4)),
                                              ((BLOCK + 7,), (BLOCK + 7,))])
def test_integer_weights_equal_quantize_weight(shape, broadcast):
    """Block by block, and once per distinct weight of a broadcast view."""
    torch.manual_seed(3)
    w = torch.randn(shape).expand(broadcast)
    q = integer_weights(distinct(w), -6)
    assert q.dtype == torch.int64 and q.shape == shape
    assert torch.equal(q.expand(broadcast), fp.quantize_weight(w, -6).long())


def test_fold_avgpool_into_dense_equals_pool_flatten_linear():
    w = torch.randn(5, 3 * 2 * 2, dtype=torch.float64)
    syn = FloatSynapse("x", "dense", w, torch.zeros(5, dtype=torch.float64))
    x = torch.rand(4, 3, 4, 6, dtype=torch.float64)
    expected = F.avg_pool2d(x, (2, 3)).flatten(1) @ w.T
    torch.testing.assert_close(fold_avgpool_into_dense(syn, (3, 4, 6), (2, 3)).apply(x), expected)


def spiking_graph(op: str) -> ModelGraph:
    """Two LIF groups of 4 neurons fed by identity-like weights, joined by ``op``; the
    second is one hop deeper, so the first is delayed by a relay."""
    lif = {"tau_mem": 1.0, "tau_syn": None, "threshold": 0.5}
    return ModelGraph.from_dict({"name": "graph", "input": {"shape": [4], "bits": 1,
                                                            "scale": 1.0}, "nodes": [
        {"name": "fa", "op": "linear", "inputs": ["input"], "out_features": 4, "bias": False},
        {"name": "a", "op": "lif", "inputs": ["fa"], **lif},
        {"name": "fb", "op": "linear", "inputs": ["input"], "out_features": 4, "bias": False},
        {"name": "b0", "op": "lif", "inputs": ["fb"], **lif},
        {"name": "fb2", "op": "linear", "inputs": ["b0"], "out_features": 4, "bias": False},
        {"name": "b", "op": "lif", "inputs": ["fb2"], **lif},
        {"name": "j", "op": op, "inputs": ["a", "b"]}]})


@pytest.mark.parametrize("op, truth", [("or", [0, 1, 1, 1]), ("and", [0, 0, 0, 1]),
                                       ("andnot", [0, 1, 0, 0])])
def test_gate_neurons_compute_their_truth_table_one_step_after_aligned_inputs(op, truth):
    g = spiking_graph(op)
    assert latencies(g) == {INPUT: 0, "a": 1, "b0": 1, "b": 2, "j": 3}
    assert alignment_delays(g)["j"] == {"a": 1, "b": 0}
    eye = torch.eye(4, dtype=torch.float64)
    # a spikes for inputs 1 and 3, b for inputs 2 and 3: (a, b) = (0,0), (1,0), (0,1), (1,1)
    tensors = {"fa.weight": eye * torch.tensor([0, 1, 0, 1.0]), "fb.weight": eye,
               "fb2.weight": eye * torch.tensor([0, 0, 1, 1.0])}
    net = lower_graph(g, tensors, time_steps=5)
    (delayed,) = [s for s in net.synapses if s.target == "j" and s.source == "a"]
    assert set(delayed.delays) == {1}  # a Sparse carries a's alignment delay
    spikes = emulator.run(net, np.ones((1, 4), dtype=np.int64)).spikes
    np.testing.assert_array_equal(spikes["j"][0, 3], truth)  # step 4: inputs of step 1
    np.testing.assert_array_equal(spikes["j"][0, :3], 0)


def test_const_synapses_arrive_in_the_step_the_input_does():
    """A const source fires at every step like the input, so a synapse from it reaches a
    neuron two hops deep through one relay, in the step the input's spikes first can; the
    run lasts the 6 steps plus the readout's depth, 2."""
    lif = {"tau_mem": 1.0, "tau_syn": None, "threshold": 0.5}
    nodes = [n for n in spiking_graph("or").to_dict()["nodes"] if n["name"] in ("fb", "b0",
                                                                               "fb2")]
    arch = {"name": "graph", "input": {"shape": [4], "bits": 1, "scale": 1.0}, "nodes": [
        {"name": "on", "op": "const", "inputs": [], "shape": [1]}, *nodes,
        {"name": "fon", "op": "linear", "inputs": ["on"], "out_features": 4, "bias": False},
        {"name": "b", "op": "lif", "inputs": ["fb2", "fon"], **lif}]}
    g = ModelGraph.from_dict(arch)
    assert latencies(g) == {INPUT: 0, "on": 0, "b0": 1, "b": 2}
    eye = torch.eye(4, dtype=torch.float64)
    from_input = lower_graph(g, {"fb.weight": eye, "fb2.weight": eye,
                                 "fon.weight": 0 * eye[:, :1]}, time_steps=6)
    from_bias = lower_graph(g, {"fb.weight": 0 * eye, "fb2.weight": eye,
                                "fon.weight": eye[:, :1]}, time_steps=6)
    assert [n.name for n in from_bias.neurons] == ["on", "b0", "b"]
    assert np.all(from_bias.synapses[-1].delays == 1)  # b.fon: one step later, no relay
    x = np.ones((1, 4), dtype=np.int64)
    first = {k: emulator.run(net, x).spikes["b"][0, :, 0] for k, net in
             (("input", from_input), ("bias", from_bias))}
    np.testing.assert_array_equal(first["input"], [0, 0, 1, 1, 1, 1, 1, 1])
    np.testing.assert_array_equal(first["bias"], first["input"])
    np.testing.assert_array_equal(emulator.run(from_bias, x).spikes["on"][0, :, 0], 1)
    on = arch["nodes"][0]
    for change, message in (({"inputs": ["input"]}, "takes 0 inputs, got 1"),
                            ({"shape": [2, 3]}, "shape [2, 3] is not (n,) or (C, H, W)"),
                            ({"shape": 4}, "shape 4 is not (n,) or (C, H, W)")):
        arch["nodes"][0] = {**on, **change}
        with pytest.raises(SnnExportError, match=re.escape(f"node 'on' (const): {message}")):
            ModelGraph.from_dict(arch)


def test_add_of_spikes_is_distributed_into_one_synapse_group_per_term():
    """out reads add(a, b, b0): three copies of fc's weights, b0's and a's delayed to b's
    step."""
    lif = {"tau_mem": 2.0, "tau_syn": None, "threshold": 1.0}
    g = ModelGraph.from_dict({"name": "graph", "input": {"shape": [4], "bits": 1,
                                                         "scale": 1.0}, "nodes": [
        *spiking_graph("or").to_dict()["nodes"][:-1],
        {"name": "ab", "op": "add", "inputs": ["a", "b"]},
        {"name": "abb0", "op": "add", "inputs": ["ab", "b0"]},
        {"name": "fc", "op": "linear", "inputs": ["abb0"], "out_features": 3},
        {"name": "out", "op": "lif", "inputs": ["fc"], **lif}]})
    torch.manual_seed(0)
    model = GraphSNN(g)
    with torch.no_grad():
        for name in ("fa", "fb", "fb2"):
            model.ops[name].weight.copy_(torch.eye(4))
        model.ops["fc"].weight.uniform_(0.1, 0.6)
        model.ops["fc"].bias.zero_()
    model.eval()
    model.quantized_mode = True
    net = lower_graph(g, model.tensors(), time_steps=8)
    into_out = {s.name: s for s in net.synapses if s.target == "out"}
    assert sorted(into_out) == ["out.fc.0_a", "out.fc.1_b", "out.fc.2_b0"]
    assert {s.source: None if s.delays is None else int(s.delays.max())
            for s in into_out.values()} == {"a": 1, "b": None, "b0": 1}
    weights = [s.weight for s in into_out.values()]
    assert all(np.array_equal(w, weights[0]) for w in weights)
    x = torch.randint(0, 2, (16, 4))
    with torch.no_grad():
        trained = model(x, 8)
    assert trained["out"].sum() > 0
    assert differing_from_model(net, emulator.run(net, x.numpy()), trained) == 0


@st.composite
def graphs(draw):
    shape = (draw(st.integers(1, 2)), *[draw(st.sampled_from([4, 6, 8]))] * 2)
    neuron = {"tau_mem": draw(st.sampled_from([1.0, 2.0, 4.0])),
              "tau_syn": draw(st.sampled_from([None, 2.0])),
              "threshold": draw(st.sampled_from([0.5, 1.0, 1.5]))}
    if draw(st.booleans()):
        channels = tuple(draw(st.lists(st.integers(2, 6), min_size=1, max_size=2)))
        join = draw(st.sampled_from(sorted(JOIN_OPS)))
        g = sew_resnet(shape, 5, 4, 1 / 15, channels, draw(st.integers(1, 2)), neuron,
                       join=join,  # masks gate spikes, not an ADD join's counts
                       attention=None if join == "add" else
                       draw(st.sampled_from([None, *ATTENTION])),
                       head=draw(st.sampled_from(HEADS)))
    else:
        g = attention_net(shape, 5, 4, 1 / 15, draw(st.integers(2, 6)), neuron,
                          head=draw(st.sampled_from(HEADS)))
    g = with_li_readout(g) if draw(st.booleans()) else g
    g = with_delay(g, draw(st.integers(1, 3)), draw(st.integers(0, 99))) \
        if draw(st.booleans()) else g
    g = with_recurrence(g, draw(st.integers(0, 99))) if draw(st.booleans()) else g
    return with_bias_sources(g) if draw(st.booleans()) else g, draw(st.integers(0, 2**31))


def with_delay(graph: ModelGraph, steps: int, pick: int) -> ModelGraph:
    """``graph`` with a ``delay`` of ``steps`` in front of one of its conv or linear nodes
    (the ``pick``-th, cyclically) that does not read the graded input."""
    layers = [n.name for n in graph.nodes if n.op in ("conv", "linear")
              and origin(graph, n.inputs[0]) != INPUT]
    if not layers:
        return graph
    late = layers[pick % len(layers)]
    name = f"{late}_late{sum(n.op == 'delay' for n in graph.nodes)}"
    nodes = []
    for n in graph.nodes:
        if n.name == late:
            nodes.append(Node(name, "delay", n.inputs[:1], {"steps": steps}))
            n = Node(n.name, n.op, (name, *n.inputs[1:]), n.attrs)
        nodes.append(n)
    return ModelGraph(graph.input_shape, graph.input_bits, graph.input_scale, nodes,
                      graph.readout)


def with_recurrence(graph: ModelGraph, pick: int) -> ModelGraph:
    """``graph`` with one of its flat ``lif`` nodes (the ``pick``-th, cyclically) recurrent."""
    out = shapes(graph)
    lifs = [n.name for n in graph.nodes if n.op == "lif" and len(out[n.name]) == 1]
    if not lifs:
        return graph
    chosen = lifs[pick % len(lifs)]
    nodes = [Node(n.name, n.op, n.inputs, {**n.attrs, "recurrent": True})
             if n.name == chosen else n for n in graph.nodes]
    return ModelGraph(graph.input_shape, graph.input_bits, graph.input_scale, nodes,
                      graph.readout)


def with_li_readout(graph: ModelGraph) -> ModelGraph:
    """``graph`` with its ``lif`` readout a leaky integrator (``li``: no threshold)."""
    nodes = [Node(n.name, "li", n.inputs, {k: v for k, v in n.attrs.items() if k != "threshold"})
             if n.name == graph.readout and n.op == "lif" else n for n in graph.nodes]
    return ModelGraph(graph.input_shape, graph.input_bits, graph.input_scale, nodes,
                      graph.readout)


def with_bias_sources(graph: ModelGraph) -> ModelGraph:
    """``graph`` with an extra synapse from an always-on ``const`` source into every lif (a
    bias that starts with the input, as NIR imports have)."""
    out, consts = shapes(graph), {}
    nodes = []
    for n in graph.nodes:
        if n.op == "lif":
            s = out[n.name]
            key = (1,) if len(s) == 1 else (1, *s[1:])
            if key not in consts:
                consts[key] = f"on{len(consts)}"
                nodes.insert(0, Node(consts[key], "const", (), {"shape": list(key)}))
            attrs = {"out_channels": s[0], "kernel": [1, 1]} if len(s) == 3 else \
                {"out_features": s[0]}
            nodes.append(Node(f"{n.name}_on", "conv" if len(s) == 3 else "linear",
                              (consts[key],), {**attrs, "bias": False}))
            n = Node(n.name, n.op, (*n.inputs, f"{n.name}_on"), n.attrs)
        nodes.append(n)
    return ModelGraph(graph.input_shape, graph.input_bits, graph.input_scale, nodes,
                      graph.readout)


@pytest.mark.parametrize("where", ["front", "before_pool", "end"])
def test_a_delay_anywhere_in_a_chain_deploys_as_the_model_computes(where):
    """A delay node in front of a conv, between the conv and its pool, or at the chain's end:
    the neuron reads the source's spikes that many steps late (the bias not held back),
    and the deployed network equals the quantized model."""
    conv = Node("c", "conv", ("l1",), {"out_channels": 2, "kernel": 3, "padding": 1})
    pool = Node("p", "avgpool", ("c",), {"kernel": 2})
    late = Node("d", "delay", ("l1",), {"steps": 2})
    nodes = [Node("c1", "conv", (INPUT,), {"out_channels": 2, "kernel": 3, "padding": 1}),
             Node("l1", "lif", ("c1",), {"tau_mem": 2.0, "threshold": 0.5})]
    if where == "front":
        nodes += [late, Node("c", "conv", ("d",), conv.attrs), pool]
    elif where == "before_pool":
        nodes += [conv, Node("d", "delay", ("c",), {"steps": 2}),
                  Node("p", "avgpool", ("d",), {"kernel": 2})]
    else:
        nodes += [conv, pool, Node("d", "delay", ("p",), {"steps": 2})]
    nodes.append(Node("out", "lif", ("d" if where == "end" else "p",),
                      {"tau_mem": 2.0, "threshold": 0.25}))
    graph = ModelGraph((1, 4, 4), 1, 1.0, nodes)
    torch.manual_seed(3)
    model = GraphSNN(graph).eval()
    x = (torch.rand(5, 8, 1, 4, 4) < 0.5).float()
    model.quantized_mode = True
    with torch.no_grad():
        trained = model(x, 8)
    net = lower_graph(graph, model.tensors(), 8)
    emu = emulator.run(net, emulator.as_frames(net, x.numpy().astype(np.int64).reshape(5, 8, -1)))
    assert trained["out"].sum() > 0
    assert differing_from_model(net, emu, trained) == 0
    relays = [g.name for g in net.neurons if g.role.kind == "relay"]
    assert relays == ["l1_delay1", "l1_delay2"]  # (a Conv's delay is carried by relays)


@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
@given(case=graphs())
def test_trained_model_integer_output_equals_emulator(case):
    graph, seed = case
    torch.manual_seed(seed)
    model = GraphSNN(graph)
    for module in model.ops.values():  # batch norm statistics as after training
        if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
            module.running_mean.uniform_(-0.3, 0.3)
            module.running_var.uniform_(0.05, 0.5)
            module.weight.data.uniform_(0.5, 2)
    model.eval()
    model.quantized_mode = True
    time_steps = 4  # fewer than most graphs' depth on the chip
    x = torch.randint(0, 16, (6, *graph.input_shape))
    with torch.no_grad():
        trained = model(x, time_steps)
    net = lower_graph(graph, model.tensors(), time_steps)
    assume(sum(int(t.sum()) for t in trained.values()) > 0)  # a silent network proves nothing
    assert differing_from_model(net, emulator.run(net, x.numpy()), trained) == 0


@pytest.fixture(scope="module")
def graph_models(tmp_path_factory):
    """Briefly trained ORRC ResNet, SEW ResNet (ADD joins) and attention network checkpoints
    (digits, T = 12)."""
    folder = tmp_path_factory.mktemp("graph_models")
    paths = {}
    for arch, hidden in (("orrc_resnet", (4, 8)), ("sew_resnet", (4, 8)),
                         ("attention_net", (6,))):
        ckpt = train(TrainConfig(arch=arch, hidden=hidden, epochs=3, time_steps=12,
                                 batch_size=128), progress=False)
        paths[arch] = folder / f"{arch}.pt"
        checkpoint.save(ckpt, paths[arch])
    return paths


@pytest.mark.lava
@pytest.mark.slow
@pytest.mark.parametrize("arch, samples, allow", [
    ("orrc_resnet", 100, []), ("attention_net", 100, []),
    ("sew_resnet", 20, ["--allow", "spike-only/graded-join"])])
def test_exported_graph_runs_bit_exact_in_lava(graph_models, arch, samples, allow, tmp_path,
                                               capsys):
    import json
    out = tmp_path / "out"
    code = main([str(graph_models[arch]), "--target", "lava", "-o", str(out), "--verify",
                 str(samples), "--json", "-q", *allow])
    summary = json.loads(capsys.readouterr().out)
    assert code == 0, summary
    assert summary["bit_exact"] and summary["samples"] == samples
    assert summary["model_differing"] == 0
    net = graph_hdf5.read(out / "network.h5")
    gates = {"orrc_resnet": "or", "sew_resnet": "add", "attention_net": "andnot"}[arch]
    assert any(n.op == gates for n in checkpoint_nodes(graph_models[arch]))
    for layer in summary["layers"]:
        assert layer["differing"] == 0 and layer["differing_states"] == 0
    assert {layer["layer"] for layer in summary["layers"]} == {n.name for n in net.neurons}
    silent = {layer["layer"] for layer in summary["layers"] if layer["spikes_lava"] == 0}
    assert all(name.endswith("_mask") for name in silent), f"silent groups: {silent}"


def checkpoint_nodes(path):
    return ModelGraph.from_dict(checkpoint.load(path)["architecture"]).nodes


def test_biases_of_groups_deeper_than_one_delay_chain_through_always_on_relays():
    """70 layers: a bias synapse holds at most MAX_DELAY steps, so layers 64.. read an
    always-on relay of ``bias_source`` that starts 63 steps later; every layer still emits
    the trained model's spikes delayed by its depth (3 steps of input, 73 on the chip)."""
    lif = {"tau_mem": 2.0, "tau_syn": None, "threshold": 0.5}
    nodes, src = [], INPUT
    for k in range(1, 71):
        nodes += [Node(f"fc{k}", "linear", (src,), {"out_features": 3}),
                  Node(f"l{k}", "lif", (f"fc{k}",), lif)]
        src = f"l{k}"
    graph = ModelGraph((4,), 2, 1.0, nodes)
    torch.manual_seed(0)
    model = GraphSNN(graph).eval()
    with torch.no_grad():
        for k in range(1, 71):
            model.ops[f"fc{k}"].bias.uniform_(0.1, 0.6)
    model.quantized_mode = True
    net = lower_graph(graph, model.tensors(), 3)
    assert net.time_steps == 73
    relay = net.group("bias_source_delay63")
    assert relay.role.source == "bias_source" and relay.role.delay == 63
    late = {s.target: (s.source, int(s.delays.max()) if s.delays is not None else 0)
            for s in net.synapses if s.name.endswith(".bias")}
    assert late["l1"] == ("bias_source", 0) and late["l63"] == ("bias_source", 62)
    assert late["l64"] == ("bias_source_delay63", 0) and late["l70"] == ("bias_source_delay63", 6)
    x = torch.randint(0, 4, (3, 4))
    with torch.no_grad():
        trained = model(x, 3)
    emu = emulator.run(net, x.numpy())
    assert trained["l70"].sum() > 0
    assert differing_from_model(net, emu, trained) == 0


@pytest.mark.lava
@pytest.mark.slow
def test_syna_resnet_trained_at_4_steps_deploys_bit_exact(tmp_path, capsys):
    """Issue 18's done-when: a 3-stage SynA-ResNet, deeper on the chip than its 4 steps,
    trains at T = 4, exports, and runs in Lava spike for spike as in the emulator and as
    the trained model's quantized forward, each group delayed by its depth."""
    import json

    from snn_export.train.cli import main as train_main
    model = tmp_path / "syna.pt"
    assert train_main(["--arch", "syna_resnet", "--hidden", "8", "16", "32", "--time-steps",
                       "4", "--epochs", "2", "-o", str(model), "-q"]) == 0
    graph = ModelGraph.from_dict(checkpoint.load(model)["architecture"])
    assert latencies(graph)[graph.readout] > 4
    capsys.readouterr()
    assert main([str(model), "--target", "lava", "-o", str(tmp_path / "out"), "--verify", "5",
                 "--json", "-q"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["bit_exact"] and summary["model_differing"] == 0, summary
    assert sum(layer["spikes_lava"] for layer in summary["layers"]) > 0


def test_a_node_named_like_the_bias_source_is_refused_by_name():
    lif = {"tau_mem": 2.0, "tau_syn": None, "threshold": 0.5}
    graph = ModelGraph((4,), 2, 1.0, [Node("fc", "linear", (INPUT,), {"out_features": 3}),
                                      Node("bias_source", "lif", ("fc",), lif)])
    model = GraphSNN(graph)
    with torch.no_grad():
        model.ops["fc"].bias.fill_(0.5)
    with pytest.raises(SnnExportError, match="node 'bias_source': the name is reserved"):
        lower_graph(graph, model.tensors(), 3)
