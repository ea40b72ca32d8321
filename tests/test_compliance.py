"""The spike-only compliance check: every rule on models built as users write them, and the
text, JSON and JUnit reports CI reads."""
import json
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from snn_export import fixed_point as fp
from snn_export.deploy.compliance import (GRAPH_RULES, RULES, SUITE, Loihi2Limits, Violation,
                                          check_graph, check_network, resources, to_json,
                                          to_junit, to_text)
from snn_export.errors import SnnExportError
from snn_export.graph import INPUT, MAX_DELAY, Conv, Dense, Network, Neurons, Sparse
from snn_export.model_graph import ModelGraph

from .conftest import save_graph_checkpoint


# --- Float graphs, as a user's model describes them ---

def conv(name, src, channels=4, kernel=3):
    return {"name": name, "op": "conv", "inputs": [src], "out_channels": channels,
            "kernel": kernel, "padding": kernel // 2}


def op(name, kind, *inputs, **attrs):
    return {"name": name, "op": kind, "inputs": list(inputs), **attrs}


def lif(name, *inputs):
    return op(name, "lif", *inputs, tau_mem=2.0, threshold=1.0)


def block(name, src, channels=4, kernel=3):
    """conv -> batchnorm -> lif; the lif is ``name``."""
    return [conv(f"{name}_conv", src, channels, kernel), op(f"{name}_bn", "batchnorm",
                                                           f"{name}_conv"),
            lif(name, f"{name}_bn")]


def head(src):
    return [op("flat", "flatten", src), op("fc", "linear", "flat", out_features=10),
            lif("out", "fc")]


def graph(nodes, shape=(2, 8, 8)):
    return ModelGraph.from_dict({"name": "graph", "input": {"shape": list(shape), "bits": 8,
                                                            "scale": 1 / 255},
                                 "nodes": nodes, "readout": "out"})


def residual(join):
    """A stem and two blocks whose output joins the stem's spikes (``layer3_shortcut``)."""
    return graph([*block("layer1", INPUT), *block("layer2", "layer1"),
                  *block("layer3", "layer2"), op("layer3_shortcut", join, "layer3", "layer1"),
                  *head("layer3_shortcut")])


def found(violations):
    return [(v.rule, v.layer) for v in violations]


def test_or_residual_block_is_compliant():
    assert check_graph(residual("or")) == []


def test_attention_mask_by_alif_and_andnot_is_compliant():
    g = graph([*block("layer1", INPUT),
               op("pool", "avgpool", "layer1", kernel=8),  # (4, 1, 1) channel summary
               conv("att_conv", "pool", kernel=1),
               op("mask", "alif", "att_conv", tau_mem=2.0, threshold=1.0, theta_step=0.5,
                  tau_theta=4.0, tau_r=2.0),
               op("gated", "andnot", "layer1", "mask"), *head("gated")])
    assert check_graph(g) == []


def test_sew_resnet_add_join():
    v = check_graph(residual("add"))
    assert v[0].line() == ("layer3_shortcut: ADD join produces values 0..2 (rule "
                           "spike-only/graded-join); use OR or AND, or allow graded spikes")


def test_nested_add_counts_every_spike_input():
    g = graph([*block("a", INPUT), *block("b", "a"), *block("c", "b"),
               op("ab", "add", "a", "b"), op("abc", "add", "ab", "c"), *head("abc")])
    assert [v.message.split(";")[0] for v in check_graph(g)] == [
        "ADD join produces values 0..2", "ADD join produces values 0..3"]


def test_allow_suppresses_only_that_rule():
    nodes = [*block("layer1", INPUT), *block("layer2", "layer1"),
             op("layer2_shortcut", "add", "layer2", "layer1"),
             conv("c3", "layer2_shortcut"), op("r3", "relu", "c3"), lif("layer3", "r3"),
             *head("layer3")]
    assert found(check_graph(graph(nodes))) == [("spike-only/graded-join", "layer2_shortcut"),
                                                ("spike-only/float-activation", "r3")]
    allowed = check_graph(graph(nodes), allow=frozenset({"spike-only/graded-join"}))
    assert found(allowed) == [("spike-only/float-activation", "r3")]


def test_allow_rejects_unknown_rule_ids():
    with pytest.raises(SnnExportError, match="unknown rule id.*spike-only/graded-joins"):
        check_graph(residual("or"), allow=frozenset({"spike-only/graded-joins"}))


def ms_resnet():
    """MS-ResNet: the shortcut adds batchnorm outputs (real values) across blocks, and the
    sum feeds the next block's LIF."""
    return graph([conv("stem", INPUT), op("stem_bn", "batchnorm", "stem"), lif("s1", "stem_bn"),
                  conv("c1", "s1"), op("bn1", "batchnorm", "c1"),
                  op("res1", "add", "bn1", "stem_bn"), lif("s2", "res1"),
                  conv("c2", "s2"), op("bn2", "batchnorm", "c2"),
                  op("res2", "add", "bn2", "res1"), lif("s3", "res2"), *head("s3")])


def ma_attention():
    """Sigmoid-weighted multiplicative attention on spikes."""
    return graph([*block("layer1", INPUT), conv("att_conv", "layer1", kernel=1),
                  op("att", "sigmoid", "att_conv"), op("weighted", "mul", "layer1", "att"),
                  *block("layer2", "weighted"), *head("layer2")])


def temporal_attention():
    """Attention computed from the mean over all time steps."""
    return graph([*block("layer1", INPUT), op("over_time", "time_mean", "layer1"),
                  *block("t_att", "over_time", kernel=1), op("gated", "and", "layer1", "t_att"),
                  *head("gated")])


def float_multiply():
    """Spikes gated by a float product instead of an AND neuron."""
    return graph([*block("layer1", INPUT), *block("layer2", "layer1"),
                  op("gate", "mul", "layer2", "layer1"), *head("gate")])


NON_COMPLIANT = {  # model -> the rules and layers it must be refused for, in graph order
    "sew_add": (lambda: residual("add"), [("spike-only/graded-join", "layer3_shortcut")]),
    "ms_resnet": (ms_resnet, [("spike-only/graded-shortcut", "res1"),
                              ("spike-only/graded-shortcut", "res2")]),
    "ma_attention": (ma_attention, [("spike-only/float-activation", "att"),
                                    ("spike-only/float-multiply", "weighted"),
                                    ("spike-only/graded-input", "layer2_conv")]),
    "temporal_attention": (temporal_attention, [("causal/temporal-pool", "over_time"),
                                                ("spike-only/graded-input", "t_att_conv")]),
    "float_multiply": (float_multiply, [("spike-only/float-multiply", "gate")]),
}


@pytest.mark.parametrize("model", NON_COMPLIANT)
def test_cli_refuses_non_compliant_model_files(model, tmp_path, capsys):
    """From model.pt: exit 2, one line per violation naming the file, layer and rule, and
    no output written."""
    from snn_export.cli import main

    build, expected = NON_COMPLIANT[model]
    g = build()
    path = save_graph_checkpoint(tmp_path / f"{model}.pt", g)
    out = tmp_path / "out"
    code = main([str(path), "--target", "lava", "-o", str(out)])
    stderr = capsys.readouterr().err
    assert code == 2 and not out.exists()
    violations = check_graph(g)
    assert found(violations) == expected
    lines = [line for line in stderr.splitlines() if "(rule " in line]
    assert lines == [f"{path}: {v.line()}" for v in violations]


def test_ms_resnet_membrane_shortcut():
    v = check_graph(ms_resnet())
    assert found(v) == [("spike-only/graded-shortcut", "res1"),
                        ("spike-only/graded-shortcut", "res2")]
    assert "bn1 (batchnorm, synaptic)" in v[0].message and "res1 (add, graded)" in v[1].message
    assert v[1].line().startswith("res2: ADD of real values")
    assert "join the spikes with OR or AND" in v[1].line()


def test_sigmoid_weighted_ma_attention():
    v = check_graph(ma_attention())
    assert "replace it with a lif or alif neuron" in v[0].line()
    assert "binary mask" in v[1].line() and "gate with and or andnot" in v[1].line()
    assert "between weighted and layer2_conv" in v[2].line()


def test_temporal_attention_over_all_steps():
    v = check_graph(temporal_attention())
    assert "needs the whole sample" in v[0].message and "pool over space" in v[0].message


def test_float_multiply_of_spikes_says_use_and():
    v = check_graph(float_multiply())
    assert "use an and node (and(layer2, layer1))" in v[0].line()


def test_relu_between_synapses():
    g = graph([conv("c1", INPUT), op("bn1", "batchnorm", "c1"), op("act", "relu", "bn1"),
               *block("layer2", "act"), *head("layer2")])
    assert found(check_graph(g)) == [("spike-only/float-activation", "act"),
                                     ("spike-only/graded-input", "layer2_conv")]


def test_conv_reading_graded_values():
    g = graph([conv("c1", INPUT), op("bn1", "batchnorm", "c1"), *block("layer2", "bn1"),
               *head("layer2")])
    v = check_graph(g)
    assert found(v) == [("spike-only/graded-input", "layer2_conv")]
    assert v[0].line() == ("layer2_conv: conv reads the synaptic values of c1 (conv, "
                           "synaptic), not spikes (rule spike-only/graded-input); put a lif "
                           "or alif neuron between c1 and layer2_conv")


def test_join_and_maxpool_need_spike_inputs():
    g = graph([*block("layer1", INPUT, channels=2), op("mix", "or", "layer1", INPUT),
               conv("c2", "mix"), op("bn2", "batchnorm", "c2"),
               op("pool", "maxpool", "bn2", kernel=2), *block("layer3", "pool"),
               *head("layer3")], shape=(2, 4, 4))
    v = check_graph(g)
    assert found(v) == [("spike-only/join-input", "mix"), ("spike-only/join-input", "pool")]
    assert v[0].line() == ("mix: OR input [the graph input] is not binary spikes (rule "
                           "spike-only/join-input); put a lif or alif neuron in front of it")


def test_graph_rules_are_documented():
    assert set(GRAPH_RULES) <= set(RULES)
    assert all(text and "\n" not in text for text in RULES.values())


# --- Integer networks ---

def chain(sizes, input_bits=8):
    neurons, synapses, source = [], [], INPUT
    for k, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:]), 1):
        neurons.append(Neurons(f"layer{k}", (n_out,), fp.LIFParams(vth=100, du=4095, dv=2048),
                               np.zeros(n_out, dtype=np.int64)))
        synapses.append(Dense(f"layer{k}.dense", source, f"layer{k}",
                              np.full((n_out, n_in), 2, dtype=np.int64)))
        source = f"layer{k}"
    return Network((sizes[0],), input_bits, 4, neurons, synapses)


def test_valid_network_is_compliant_and_resources_add_up():
    net = chain([16, 8, 4])
    assert check_network(net) == []
    rows = resources(net)
    assert [(r.layer, r.neurons, r.synapses, r.fan_in, r.cores) for r in rows] == [
        ("layer1", 8, 128, 16, 1), ("layer2", 4, 32, 8, 1)]
    assert rows[0].memory_bits == 128 * fp.WEIGHT_BITS


def test_conv_counts_its_dense_equivalent():
    net = Network((2, 8, 8), 8, 4, [Neurons("c", (4, 8, 8), fp.LIFParams(100, 4095, 2048),
                                            np.zeros(256, dtype=np.int64))],
                  [Conv("c.conv", INPUT, "c", np.ones((4, 2, 3, 3), dtype=np.int64),
                        padding=(1, 1))])
    net.validate()
    (row,) = resources(net)
    assert (row.fan_in, row.synapses) == (2 * 9, 256 * 2 * 9)


def test_delays_cost_6_bits_per_synapse_and_6_bits_at_most():
    """Dense and Sparse alike: a delayed group stores 8 + 6 bits per synapse; a delay past
    MAX_DELAY breaks bits/delay."""
    net = chain([6, 5, 4])
    dense = net.synapses[1]
    rows, cols = np.nonzero(np.arange(dense.weight.size).reshape(dense.weight.shape) % 3)
    net.synapses[0].delays = np.full(net.synapses[0].weight.shape, 2)
    net.synapses[1] = Sparse("layer2.sparse", "layer1", "layer2", rows, cols,
                             dense.weight[rows, cols], dense.weight.shape,
                             delays=np.arange(rows.size) % (MAX_DELAY + 1))
    assert check_network(net) == []
    res = resources(net)
    assert [(r.synapses, r.memory_bits) for r in res] == [
        (30, 30 * (fp.WEIGHT_BITS + 6)), (rows.size, rows.size * (fp.WEIGHT_BITS + 6))]
    net.synapses[1].delays[-1] = MAX_DELAY + 1
    v = check_network(net)
    assert found(v) == [("bits/delay", "layer2.sparse")]
    assert f"delays 0..{MAX_DELAY + 1} steps" in v[0].message


def test_every_out_of_range_value_is_reported():
    """Values that pass construction (or are set after it) but break a bit width."""
    net = chain([6, 5, 4, 3], input_bits=9)
    object.__setattr__(net.neurons[0].params, "vth", fp.VTH_MAX + 1)
    object.__setattr__(net.neurons[2].params, "du", fp.DECAY_UNITY)
    net.neurons[1].bias[:] = fp.BIAS_MANT_MAX + 1
    net.synapses[0].weight[0, 0] = 300
    net.synapses[1].weight_exp = 8
    net.synapses[1].num_weight_bits = 9
    net.synapses[2].delays = np.full(net.synapses[2].weight.shape, MAX_DELAY + 1)
    with pytest.raises(ValueError):
        net.validate()  # stops at the first
    v = check_network(net)
    assert found(v) == [("bits/input", INPUT), ("bits/threshold", "layer1"),
                        ("bits/bias", "layer2"), ("bits/decay", "layer3"),
                        ("bits/weight", "layer1.dense"), ("bits/weight", "layer2.dense"),
                        ("bits/weight-exp", "layer2.dense"), ("bits/delay", "layer3.dense")]
    assert v[1].line() == ("layer1: vth=131072 is outside the 17-bit range 0..131071 (rule "
                           "bits/threshold); raise the layer's weight exponent so the "
                           "threshold fits")
    assert "bias mantissas 4096..4096" in v[2].message
    assert "delays 63..63 steps" in v[7].message


def test_atrlif_thresholds_are_12_bit():
    params = fp.ATRLIFParams(theta_0=10, theta_step=5, d_i=0, d_v=0, d_theta=0, d_r=0)
    object.__setattr__(params, "theta_step", fp.DECAY_UNITY)
    net = chain([4, 2])
    net.neurons[0].params = params
    assert found(check_network(net)) == [("bits/threshold", "layer1")]


def test_group_too_big_for_a_chip():
    limits = Loihi2Limits()
    size = limits.cores_per_chip * limits.neurons_per_core + 1
    net = chain([4, 2])
    net.neurons.append(Neurons("huge", (size,), fp.LIFParams(100, 4095, 2048),
                               np.zeros(size, dtype=np.int64)))
    assert resources(net)[-1].cores == limits.cores_per_chip + 1
    v = check_network(net)
    assert found(v) == [("resources/cores", "huge")]
    assert "needs 130 cores on 2 chips (128 cores each), but --system chip (one Loihi 2 " \
           "chip) has 1 chip" in v[0].line()


def test_synaptic_memory_sets_the_cores():
    limits = Loihi2Limits(synaptic_memory_bits=100 * fp.WEIGHT_BITS, cores_per_chip=4)
    net = chain([50, 10])  # 500 synapses: 5 cores' memory for 10 neurons
    assert resources(net, limits)[0].cores == 5
    assert found(check_network(net, limits)) == [("resources/cores", "layer1")]


def test_fan_in_over_the_limit():
    limits = Loihi2Limits()
    net = chain([limits.max_fan_in + 1, 1])
    v = check_network(net)
    assert found(v) == [("resources/fan-in", "layer1")]
    assert f"fan-in of {limits.max_fan_in + 1} synapses per neuron" in v[0].line()


# --- Reports ---

VIOLATIONS = [Violation("spike-only/graded-join", "layer3_shortcut",
                        "ADD join produces values 0..2; use OR or AND, or allow graded spikes"),
              Violation("spike-only/float-activation", "act",
                        "RELU of bn1 is a float activation; replace it with a lif"),
              Violation("spike-only/graded-join", "ab", "ADD join produces values 0..3; "
                        "use OR or AND, or allow graded spikes")]


def test_text_has_one_line_per_violation():
    lines = to_text(VIOLATIONS, "model.pt").splitlines()
    assert lines[:3] == [f"model.pt: {v.line()}" for v in VIOLATIONS]
    assert lines[3] == "model.pt: not compliant: 3 violation(s) of 2 rule(s)"
    assert to_text([], "model.pt").startswith("model.pt: compliant")


def test_json_round_trips():
    data = to_json(VIOLATIONS, "model.pt")
    assert json.loads(json.dumps(data)) == data
    assert data["compliant"] is False and data["source"] == "model.pt"
    assert data["violations"][1] == {"rule": "spike-only/float-activation", "layer": "act",
                                     "message": VIOLATIONS[1].message,
                                     "rationale": RULES["spike-only/float-activation"]}
    assert to_json([], "model.pt") == {"source": "model.pt", "compliant": True,
                                       "violations": []}


def test_junit_lists_every_rule_and_every_failure():
    suite = ET.fromstring(to_junit(VIOLATIONS, "model.pt"))
    assert (suite.tag, suite.get("name")) == ("testsuite", SUITE)
    cases = {case.get("name"): case for case in suite.iter("testcase")}
    assert list(cases) == list(RULES) and suite.get("tests") == str(len(RULES))
    assert suite.get("failures") == "2"
    joins = cases["spike-only/graded-join"].findall("failure")
    assert [f.get("message") for f in joins] == [VIOLATIONS[0].line(), VIOLATIONS[2].line()]
    assert cases["bits/bias"].findall("failure") == []
    assert all(case.get("classname") == "model.pt" for case in cases.values())


def test_junit_of_the_graph_rules_only():
    suite = ET.fromstring(to_junit([], "model.pt", checked=GRAPH_RULES))
    assert [c.get("name") for c in suite.iter("testcase")] == list(GRAPH_RULES)
    assert suite.get("failures") == "0"


def test_readme_architecture_table_matches_the_check():
    """The README's table of seed architectures states what the check says of each."""
    from pathlib import Path

    from snn_export.train.architectures import ARCHITECTURES

    readme = (Path(__file__).parent.parent / "README.md").read_text()
    for arch, build in ARCHITECTURES.items():
        kwargs = {"channels": 8} if arch == "attention_net" else {}
        rules = sorted({v.rule for v in check_graph(build((1, 28, 28), 10, 8, 1 / 255,
                                                          **kwargs))})
        cells = "yes | -" if not rules else "no | " + ", ".join(f"`{r}`" for r in rules)
        assert f"| `{arch}` | {cells} |" in readme, arch
