"""Explicit op tables (issue 17, part 3): every stage that gives the model graph's ops their
meaning dispatches through a module-level table keyed by op. Each table has an entry for every
op in :data:`~snn_export.model_graph.OPS` (a handler, or a refusal by name), so that adding an
op without deciding what each stage does with it fails here; and a lookup of an op that a
table lacks raises :class:`SnnExportError` naming the node and the op, never a silent
default."""
import itertools

import pytest
import torch

from snn_export import folding, metrics, model_graph
from snn_export.deploy import compliance, lower_graph
from snn_export.errors import SnnExportError
from snn_export.gates import GATES, UNIT
from snn_export.model_graph import JOINS, OPS, ModelGraph, Node, op_entry
from snn_export.train import graph_model

# (stage, table keyed by op): each must hold every op in OPS
STAGES = [
    ("model_graph: shape inference and validation", model_graph._SHAPES),
    ("graph_model: forward (neurons, gates, const, graded)", graph_model._FORWARD),
    ("graph_model: trainable parameters", graph_model._MODULES),
    ("graph_model: float values of synaptic and graded nodes", graph_model._VALUES),
    ("lower_graph: lowering", lower_graph._LOWER),
    ("compliance: graph rules", compliance._CHECKS),
    ("folding: synaptic chains", folding._FOLD),
    ("metrics: synaptic operations", metrics._FLOPS),
]
GATE_OPS = {*JOINS, "maxpool"}
NEURON_OPS = {"lif", "alif", "li"}
# the tables that only some ops reach, and the ops that reach them
SUB_TABLES = [("gates: Boolean function and gate neuron", GATES, GATE_OPS),
              ("graph_model: neuron dynamics", graph_model._DYNAMICS, NEURON_OPS)]


@pytest.mark.parametrize("stage, table", STAGES, ids=[s for s, _ in STAGES])
def test_every_stage_has_an_entry_for_every_op(stage, table):
    missing = [op for op in OPS if op not in table]
    assert not missing, f"{stage}: no entry (handler or refusal) for op(s) {missing}"
    stale = sorted(set(table) - set(OPS))
    assert not stale, f"{stage}: entries for op(s) {stale} that model_graph.OPS does not have"
    assert all(callable(table[op]) for op in OPS), stage


def test_sub_tables_cover_the_ops_that_reach_them():
    gate_handlers = (graph_model._forward_gate,)
    lower_gates = (lower_graph._Lowering.join_synapses, lower_graph._Lowering.pool_synapses)
    assert {op for op, h in graph_model._FORWARD.items() if h in gate_handlers} == GATE_OPS
    assert {op for op, h in lower_graph._LOWER.items() if h in lower_gates} == GATE_OPS
    assert {op for op, h in graph_model._FORWARD.items()
            if h is graph_model._forward_neurons} == NEURON_OPS
    assert {op for op, h in lower_graph._LOWER.items()
            if h is lower_graph._Lowering.neuron_group} == NEURON_OPS
    for stage, table, ops in SUB_TABLES:
        missing = sorted(ops - set(table))
        assert not missing, f"{stage}: no entry for op(s) {missing}"


def test_gate_table_gives_training_and_the_chip_the_same_function():
    """Each join's Boolean function in training equals its deployed gate neuron (spikes iff
    the weighted input of the step exceeds vth) on every input pattern, and the thresholds
    and signs are the ones lowering always used."""
    assert lower_graph.GATE_VTH == {"or": 1, "and": 2 * UNIT - 1, "andnot": 1, "maxpool": 1,
                                    "relay": 1}
    assert GATES["andnot"].weights == (UNIT, -UNIT)
    node = Node("g", "or", ("a", "b"))
    for op in JOINS:
        gate = GATES[op]
        for bits in itertools.product((0.0, 1.0), repeat=len(gate.weights)):
            trained = gate.boolean(node, *(torch.tensor(b) for b in bits))
            chip = sum(w * b for w, b in zip(gate.weights, bits)) > gate.vth
            assert float(trained) == float(chip), (op, bits)
    window = torch.tensor([[0.0, 1.0], [0.0, 0.0]]).reshape(1, 1, 1, 2, 2)
    pooled = GATES["maxpool"].boolean(Node("p", "maxpool", ("a",), {"kernel": 2}), window)
    assert pooled.flatten().tolist() == [1.0]
    (tap,) = GATES["maxpool"].weights  # on chip: one spike in the window suffices, none is silent
    assert 0 <= GATES["maxpool"].vth < tap


TABLES = STAGES + [(stage, table) for stage, table, _ in SUB_TABLES]


@pytest.mark.parametrize("stage, table", TABLES, ids=[s for s, _ in TABLES])
def test_lookup_of_an_unknown_op_names_the_node_and_the_op(stage, table):
    node = Node("mystery", "xor", ("input",))
    with pytest.raises(SnnExportError, match=r"node 'mystery' \(xor\).*op 'xor'"):
        op_entry(table, node, stage)


def _graph_with_an_unknown_op():
    """A valid graph, then a node with op "xor" added behind validation's back."""
    graph = ModelGraph((4,), 8, 1.0, [
        Node("fc", "linear", ("input",), {"out_features": 3}),
        Node("out", "lif", ("fc",), {"tau_mem": 2.0, "threshold": 1.0})])
    model = graph_model.GraphSNN(graph)
    graph.nodes.append(Node("mystery", "xor", ("out",)))
    graph._by_name["mystery"] = graph.nodes[-1]
    return graph, model


def test_every_stage_refuses_an_unknown_op_by_name():
    graph, model = _graph_with_an_unknown_op()
    sizes = {"input": (4,), "fc": (3,), "out": (3,)}
    runs = {
        "shape": lambda: model_graph._shape("graph", graph.node("mystery"), [(3,)], ["spikes"]),
        "forward": lambda: model(torch.ones(1, 4), 3),
        "compliance": lambda: compliance.check_graph(graph),
        "folding": lambda: folding.fold(graph, "mystery", model.tensors(), sizes),
        "lowering": lambda: lower_graph.lower_graph(graph, model.tensors(), 3),
        "metrics": lambda: metrics.synaptic_ops(graph, {"out": 0.5}, 3),
    }
    for stage, run in runs.items():
        with pytest.raises(SnnExportError, match=r"'mystery' \(xor\)"):
            run()
