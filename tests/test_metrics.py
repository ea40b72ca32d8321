"""Firing rates, synaptic operations (ACs and MACs) and seed 004's energy estimate."""
import pytest

from snn_export.metrics import E_AC_PJ, E_MAC_PJ, energy_pj, summary, synaptic_ops
from snn_export.model_graph import ModelGraph

LIF = {"tau_mem": 2.0, "threshold": 1.0}


def graph(join=None):
    nodes = [{"name": "c1", "op": "conv", "inputs": ["input"], "out_channels": 2, "kernel": 3,
              "padding": 1},
             {"name": "s1", "op": "lif", "inputs": ["c1"], **LIF},
             {"name": "c2", "op": "conv", "inputs": ["s1"], "out_channels": 2, "kernel": 1},
             {"name": "s2", "op": "lif", "inputs": ["c2"], **LIF}]
    last = "s2"
    if join:
        nodes.append({"name": "j", "op": join, "inputs": ["s2", "s1"]})
        last = "j"
    nodes += [{"name": "pool", "op": "avgpool", "inputs": [last], "kernel": 2},
              {"name": "flat", "op": "flatten", "inputs": ["pool"]},
              {"name": "fc", "op": "linear", "inputs": ["flat"], "out_features": 3},
              {"name": "out", "op": "lif", "inputs": ["fc"], **LIF}]
    return ModelGraph.from_dict({"name": "graph", "input": {"shape": [1, 4, 4], "bits": 4,
                                                            "scale": 1 / 15}, "nodes": nodes})


def test_encoding_layer_counts_macs_and_spiking_layers_count_acs():
    rates = {"s1": 0.25, "s2": 0.1, "out": 0.0}
    ops = {o.layer: o for o in synaptic_ops(graph(), rates, time_steps=10)}
    assert ops["c1"].flops == 2 * 4 * 4 * 1 * 9 and ops["c1"].source == "input"
    assert ops["c1"].macs == 10 * 288 and ops["c1"].acs == 0
    assert ops["c2"].flops == 2 * 16 * 2 and ops["c2"].acs == pytest.approx(10 * 64 * 0.25)
    assert ops["fc"].source == "s2" and ops["fc"].flops == 3 * 8
    assert ops["fc"].acs == pytest.approx(10 * 24 * 0.1)
    total = energy_pj(list(ops.values()))
    assert total == pytest.approx(E_MAC_PJ * 2880 + E_AC_PJ * (160 + 24))


def test_add_of_spikes_reads_the_sum_of_its_terms_rates():
    ops = {o.layer: o for o in synaptic_ops(graph("add"), {"s1": 0.25, "s2": 0.1, "j": 0},
                                            time_steps=10)}
    assert ops["fc"].source == "j" and ops["fc"].acs == pytest.approx(10 * 24 * 0.35)


def test_summary_is_plain_data():
    rates = {"s1": 0.5, "s2": 0.5, "j": 0.5, "out": 0.1}
    s = summary(graph("or"), rates, time_steps=4)
    assert s["firing_rates"] == rates and [o["layer"] for o in s["ops"]] == ["c1", "c2", "fc"]
    assert s["macs"] == 4 * 288 and s["acs"] == pytest.approx(4 * 0.5 * (64 + 24))
    assert s["energy_uj"] == pytest.approx((E_MAC_PJ * s["macs"] + E_AC_PJ * s["acs"]) * 1e-6)
