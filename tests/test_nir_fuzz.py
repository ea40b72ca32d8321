"""Malformed NIR graphs, as a hostile or broken writer would make them: wrong shapes, wrong
types and out-of-range values in every kind of node field, NaN and infinities, node types
snn-export does not import, and broken edges. snn-export exits 1 with one line naming the
file and the node, no traceback, and writes nothing."""
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from snn_export.cli import main

nir = pytest.importorskip("nir")


def _lif(shape, **kw):
    return nir.LIF(tau=np.full(shape, 10.0), r=np.ones(shape), v_leak=np.zeros(shape),
                   v_threshold=np.ones(shape), **kw)


def _valid():
    """A small CNN: conv, LIF, sum pool, flatten, affine, LIF."""
    rng = np.random.default_rng(0)
    nodes = {"input": nir.Input({"input": np.array([1, 8, 8])}),
             "conv": nir.Conv2d(input_shape=(8, 8), weight=rng.normal(0, 0.5, (4, 1, 3, 3)),
                                stride=1, padding=1, dilation=1, groups=1, bias=np.zeros(4)),
             "lif1": _lif((4, 8, 8)),
             "pool": nir.SumPool2d(np.array([2, 2]), np.array([2, 2]), np.array([0, 0])),
             "flat": nir.Flatten({"input": np.array([4, 4, 4])}, 0, -1),
             "fc": nir.Affine(rng.normal(0, 0.5, (10, 64)), np.linspace(-0.2, 0.2, 10)),
             "lif2": _lif(10),
             "output": nir.Output({"output": np.array([10])})}
    edges = [("input", "conv"), ("conv", "lif1"), ("lif1", "pool"), ("pool", "flat"),
             ("flat", "fc"), ("fc", "lif2"), ("lif2", "output")]
    return nodes, edges


BAD_FIELDS = {  # (node, field): values nir writes but snn-export must refuse
    ("fc", "weight"): [np.ones((10, 63)), np.ones(10), np.ones((10, 64, 1)), np.ones((0, 64)),
                       np.ones((10, 64)) * 1j],
    ("fc", "bias"): [np.ones(9), np.ones((10, 2)), np.ones(0)],
    ("conv", "weight"): [np.ones((4, 2, 3, 3)), np.ones((4, 3, 3)), np.ones((4, 1, 9, 9)),
                         np.ones((0, 1, 3, 3))],
    ("conv", "stride"): [0, -1, np.array([1, 0]), 100, np.array([1, 2, 3])],
    ("conv", "padding"): [-1, np.array([-1, 0]), 50, "same", "x"],
    ("conv", "dilation"): [0, -2, 20],
    ("conv", "groups"): [0, -1, 3, 2, 1.5],
    ("conv", "bias"): [np.ones(3), np.ones((4, 2)), np.ones((4, 1)), np.ones((1, 1))],
    ("pool", "kernel_size"): [np.array([2, 2, 2])],
    ("input", "input_type"): [{"input": v} for v in (np.array([0]), np.array([-5]),
                                                     np.array([1, 1, 8, 8, 1]), np.array([]))],
    **{("lif2", f): [np.zeros(10), -np.ones(10), np.ones(9), np.ones((10, 2))]
       for f in ("tau", "v_threshold")},
    **{("lif2", f): [np.ones(9), np.ones((10, 2)), np.full(10, 1e300)] for f in ("r", "v_leak")},
    ("lif1", "tau"): [np.ones((4, 8)), np.zeros((4, 8, 8))],
}
UNSUPPORTED = {"lif2": [nir.I(r=np.ones(10))],  # (LI and CubaLI are readouts, not hidden)
               "lif1": [nir.LI(tau=np.full((4, 8, 8), 10.0), r=np.ones((4, 8, 8)),
                               v_leak=np.zeros((4, 8, 8)))]}
EDGES = {"lif2": lambda e: e + [("lif2", "lif2")],  # recurrence
         "fc": lambda e: [x for x in e if x != ("flat", "fc")]}  # cut: nir adds an Input


def _mutations() -> list:
    """pytest params: the node the error must name, a function that breaks the graph."""
    out = []
    for (node, field), values in BAD_FIELDS.items():
        out += [pytest.param(node, lambda n, e, node=node, field=field, v=v:
                             setattr(n[node], field, v), id=f"{node}.{field}-{k}")
                for k, v in enumerate(values)]
    out += [pytest.param(node, lambda n, e, node=node, new=new: n.__setitem__(node, new),
                         id=f"{node}-as-{type(new).__name__}")
            for node, news in UNSUPPORTED.items() for new in news]
    out += [pytest.param(node, lambda n, e, cut=cut: e.__setitem__(slice(None), cut(e)),
                         id=f"edges-{node}") for node, cut in EDGES.items()]
    return out


def _refused_in_one_line(path, tmp_path, capsys, node: str) -> str:
    capsys.readouterr()
    code = main([str(path), "--target", "lava", "--dialect", "norse", "--time-steps", "8",
                 "-o", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1 and "Traceback" not in err, err
    named = err.removeprefix(f"snn-export: error: {path}: ")  # the file, then the node:
    assert named != err and re.search(rf"\b{node}\b", named), err  # 'fc' or nir's fc.input
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]
    return err


@pytest.mark.parametrize("node, mutate", _mutations())
def test_malformed_nir_graphs_are_one_line_naming_the_node(node, mutate, tmp_path, capsys):
    nodes, edges = _valid()
    mutate(nodes, edges)
    path = tmp_path / "g.nir"
    nir.write(path, nir.NIRGraph(nodes=nodes, edges=edges, type_check=False))
    _refused_in_one_line(path, tmp_path, capsys, node)


def test_the_valid_graph_deploys(tmp_path, capsys):
    """(So that the refusals above are the mutations' doing.)"""
    path = tmp_path / "g.nir"
    nir.write(path, nir.NIRGraph(*_valid()))
    assert main([str(path), "--target", "lava", "--dialect", "norse", "--time-steps", "8",
                 "-o", str(tmp_path / "out"), "-q"]) == 0


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_non_finite_nir_parameters_are_named(data, tmp_path_factory, capsys):
    """NaN or an infinity in any array of any node (an infinite tau excepted: no leak):
    one line naming the node and the field."""
    nodes, edges = _valid()
    node, field = data.draw(st.sampled_from(
        [(n, f) for n in ("conv", "fc", "lif1", "lif2") for f, v in vars(nodes[n]).items()
         if isinstance(v, np.ndarray) and v.dtype.kind == "f"]))
    values = np.array(getattr(nodes[node], field), dtype=np.float64)
    bad = [np.nan, -np.inf] + ([] if field == "tau" else [np.inf])
    values.flat[data.draw(st.integers(0, values.size - 1))] = data.draw(st.sampled_from(bad))
    setattr(nodes[node], field, values)
    tmp_path = tmp_path_factory.mktemp("nir")
    path = tmp_path / "g.nir"
    nir.write(path, nir.NIRGraph(nodes=nodes, edges=edges))
    err = _refused_in_one_line(path, tmp_path, capsys, node)
    assert f"field {field!r} holds 1 NaN or infinite" in err, err
