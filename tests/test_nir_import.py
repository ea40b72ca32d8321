"""NIR in: graphs written in the test run by real norse and real snnTorch, read by snn-export
with each tool's conventions. The imported model must emit the tool's own spikes on every
layer at every step (both run the standard timing), and deploy like a model.pt."""
import json
import re

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from snn_export import readout
from snn_export.cli import main
from snn_export.deploy.lower_graph import lower_graph
from snn_export.errors import SnnExportError
from snn_export.sim import emulator
from snn_export.readout import predict
from snn_export.sim.verify import differing_from_model

nir = pytest.importorskip("nir")
from snn_export.export import nir_dialects, nir_import  # noqa: E402  (needs nir)

T = 24
SETTINGS = settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck))


def dyadic_(module: torch.nn.Module, rng: np.random.Generator, scale: float) -> None:
    """Weights and biases on a 2**-6 grid: sums of spikes are exact in float32 in any order,
    so the comparison is exact rather than within a tolerance."""
    with torch.no_grad():
        for p in (module.weight, module.bias):
            if p is not None:
                p.copy_(torch.as_tensor(np.round(rng.normal(0, scale, p.shape) * 64) / 64))


def source_spikes(step, layers, x) -> dict[int, torch.Tensor]:
    """Each listed layer's spikes (batch, T, neurons) when ``step(frame)`` runs the source
    network one step at a time."""
    out = {i: [] for i in layers}
    hooks = [layers[i].register_forward_hook(
        lambda _m, _a, o, i=i: out[i].append((o[0] if isinstance(o, tuple) else o).flatten(1)))
        for i in layers]
    with torch.no_grad():
        for t in range(x.shape[1]):
            step(x[:, t])
    for h in hooks:
        h.remove()
    return {i: torch.stack(v, 1) for i, v in out.items()}


def differing(model, ours_of: dict, theirs: dict, x) -> int:
    """Spikes that differ between the imported model and the source."""
    with torch.no_grad():
        ours = model(x, x.shape[1])
    return sum(int((ours[name].flatten(2) != theirs[i]).sum()) for i, name in ours_of.items())


def spikes(seed: int, shape) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(4, T, *shape, generator=g) < 0.3).float()


def imported(path, dialect: str, **how):
    model, ckpt, warnings = nir_import.load(nir_import.read_graph(path),
                                           nir_import.NirInput(dialect, T, **how), str(path))
    return model, ckpt, warnings


@SETTINGS
@given(seed=st.integers(0, 2**16), syn=st.integers(2, 5), mem=st.integers(2, 5),
       dt_exp=st.integers(8, 11), th=st.sampled_from([0.75, 1.0, 4 / 3, 2.0]))
def test_norse_network_spikes_as_in_norse(seed, syn, mem, dt_exp, th, tmp_path_factory):
    """norse's LIFCell (CubaLIF), LIFBoxCell (LIF) and IAFCell (IF) with its dt and
    time-constant convention (tau = dt / tau_inv, norse issue #411), each with biases, in
    the current from the first step."""
    nt = pytest.importorskip("norse.torch")
    from snn_export.export import norse_to_nir

    rng = np.random.default_rng(seed)
    dt = 2.0 ** -dt_exp  # a = dt / tau is a power of two: both sides compute it exactly
    p = nt.LIFParameters(tau_syn_inv=torch.tensor(2.0 ** (dt_exp - syn)),
                         tau_mem_inv=torch.tensor(2.0 ** (dt_exp - mem)),
                         v_th=torch.tensor(th))
    box = nt.LIFBoxParameters(tau_mem_inv=torch.tensor(2.0 ** (dt_exp - 2)),
                              v_th=torch.tensor(th))
    net = nt.SequentialState(torch.nn.Conv2d(2, 4, 3, padding=1), nt.LIFCell(p, dt=dt),
                             torch.nn.Flatten(), torch.nn.Linear(4 * 6 * 6, 12),
                             nt.LIFBoxCell(box, dt=dt), torch.nn.Linear(12, 5),
                             nt.IAFCell(nt.IAFParameters(v_th=torch.tensor(th))))
    for k, scale in ((0, 1.5), (3, 1.0), (5, 1.0)):
        dyadic_(net[k], rng, scale)
    x = spikes(seed, (2, 6, 6))
    path = tmp_path_factory.mktemp("norse") / "net.nir"
    nir.write(path, norse_to_nir.to_nir(net, x[:, 0], dt=dt))
    state = [None]

    def step(frame):
        _, state[0] = net(frame, state[0])

    theirs = source_spikes(step, {1: net[1], 4: net[4], 6: net[6]}, x)
    model, _, warnings = imported(path, "norse", dt=dt)
    assert not warnings
    layers = {1: "n1", 4: "n4", 6: "n6"}
    assert [n.op for n in model.graph.nodes if n.name in layers.values()] == ["lif"] * 3
    assert not any(n.op == "const" for n in model.graph.nodes)  # biases are biases
    assert differing(model, layers, theirs, x) == 0
    assert sum(int(theirs[i].sum()) for i in layers) > 0
    # the conventions matter: under NIR's own reading, norse's time constants are < 1 step
    with pytest.raises(SnnExportError, match="shorter than one step"):
        imported(path, "nir", dt=dt)


def test_norse_cnn_with_pooling_no_bias_and_its_own_reset_spikes_as_in_norse(tmp_path):
    """What norse 1.1's exporter gets wrong, repaired by export/norse_to_nir.py: a Conv2d
    without bias (norse fails), AvgPool2d (norse writes an empty node) between the conv and
    its neuron, and a cell's v_reset (norse writes 0): the spikes are norse's."""
    nt = pytest.importorskip("norse.torch")
    from snn_export.export import norse_to_nir

    rng = np.random.default_rng(4)
    dt = 2.0**-10
    p = nt.LIFBoxParameters(tau_mem_inv=torch.tensor(2.0**8), v_th=torch.tensor(1.25),
                            v_leak=torch.tensor(0.25), v_reset=torch.tensor(0.25))
    net = nt.SequentialState(torch.nn.Conv2d(2, 4, 3, padding=1, bias=False),
                             torch.nn.AvgPool2d(2), nt.LIFBoxCell(p, dt=dt), torch.nn.Flatten(),
                             torch.nn.Linear(36, 5), nt.LIFBoxCell(p, dt=dt))
    for k, scale in ((0, 1.5), (4, 1.0)):
        dyadic_(net[k], rng, scale)
    x = spikes(8, (2, 6, 6))
    nir.write(tmp_path / "net.nir", norse_to_nir.to_nir(net, x[:, 0], dt=dt))
    assert net[0].bias is None  # (the export's zero bias is gone again)
    state = [None]

    def step(frame):
        _, state[0] = net(frame, state[0])

    theirs = source_spikes(step, {2: net[2], 5: net[5]}, x)
    model, _, warnings = imported(tmp_path / "net.nir", "norse", dt=dt)
    assert not warnings  # v_leak = v_reset: norse's start is the deployed neuron's
    assert differing(model, {2: "n2", 5: "n5"}, theirs, x) == 0
    assert all(int(theirs[i].sum()) > 0 for i in (2, 5))
    with pytest.raises(ValueError, match="NIR has no max-pooling node"):
        norse_to_nir.to_nir(nt.SequentialState(torch.nn.MaxPool2d(2), nt.LIFBoxCell()), x[:, 0])


@SETTINGS
@given(seed=st.integers(0, 2**16), alpha=st.sampled_from([0.5, 0.75, 0.875]),
       beta=st.sampled_from([0.5, 0.75, 0.875, 0.9375]))
def test_snntorch_network_spikes_as_in_snntorch(seed, alpha, beta, tmp_path_factory):
    """snnTorch's Leaky (LIF) and Synaptic (CubaLIF) with reset to zero, per-neuron
    thresholds, r = tau / dt and w_in = tau_syn / dt at snnTorch's dt = 1e-4 s, and biases."""
    snn = pytest.importorskip("snntorch")
    from snntorch.export_nir import export_to_nir

    rng = np.random.default_rng(seed)
    th = torch.as_tensor(rng.choice([0.75, 4 / 3, 2.0], 5), dtype=torch.float32)

    def leaky(shape, threshold, **kw):  # NIR needs per-neuron parameter arrays
        return snn.Leaky(beta=torch.full(shape, beta), threshold=threshold, init_hidden=True,
                         reset_mechanism="zero", reset_delay=False, **kw)

    net = torch.nn.Sequential(
        torch.nn.Conv2d(2, 4, 3), leaky((4, 4, 4), torch.full((4, 4, 4), 4 / 3)),
        torch.nn.Flatten(), torch.nn.Linear(64, 5),
        snn.Synaptic(alpha=torch.full((5,), alpha), beta=torch.full((5,), beta), threshold=th,
                     init_hidden=True, reset_mechanism="zero", reset_delay=False),
        torch.nn.Linear(5, 3), leaky((3,), torch.ones(3), output=True))
    for k, scale in ((0, 1.0), (3, 1.0), (5, 1.5)):
        dyadic_(net[k], rng, scale)
    x = spikes(seed, (2, 6, 6))
    path = tmp_path_factory.mktemp("snntorch") / "net.nir"
    nir.write(path, export_to_nir(net, x[:, 0], ignore_dims=[0]))
    for m in net:
        if hasattr(m, "reset_mem"):
            m.reset_mem()
    theirs = source_spikes(net, {1: net[1], 4: net[4], 6: net[6]}, x)
    model, _, _ = imported(path, "snntorch")
    # snnTorch writes tau = dt / (1 - beta) in float32 (dt = 1e-4 is not a binary fraction),
    # so the beta read back is off by ~1e-7: a voltage that lands that close to the
    # threshold may flip. The conventions themselves are exact (norse's test has no slack).
    total = sum(int(v.sum()) for v in theirs.values())
    assert total > 0
    assert differing(model, {1: "n1", 4: "n4", 6: "n6"}, theirs, x) <= 0.02 * total


def test_snntorch_cnn_pooling_before_its_neuron_spikes_as_in_snntorch(tmp_path):
    """snnTorch's CNN tutorial order, Conv2d -> AvgPool2d -> Leaky, as snnTorch writes it:
    the pool folds into the conv and the spikes are snnTorch's."""
    snn = pytest.importorskip("snntorch")
    from snntorch.export_nir import export_to_nir

    rng = np.random.default_rng(3)
    leaky = lambda shape, **kw: snn.Leaky(beta=torch.full(shape, 0.875), init_hidden=True,
                                          threshold=torch.ones(shape), reset_mechanism="zero",
                                          reset_delay=False, **kw)
    net = torch.nn.Sequential(torch.nn.Conv2d(2, 4, 3, padding=1), torch.nn.AvgPool2d(2),
                              leaky((4, 3, 3)), torch.nn.Flatten(), torch.nn.Linear(36, 5),
                              leaky((5,), output=True))
    for k, scale in ((0, 1.5), (4, 1.0)):
        dyadic_(net[k], rng, scale)
    x = spikes(7, (2, 6, 6))
    nir.write(tmp_path / "cnn.nir", export_to_nir(net, x[:, 0], ignore_dims=[0]))
    for m in net:
        if hasattr(m, "reset_mem"):
            m.reset_mem()
    theirs = source_spikes(net, {2: net[2], 5: net[5]}, x)
    model, _, _ = imported(tmp_path / "cnn.nir", "snntorch")
    assert [n.op for n in model.graph.nodes][:3] == ["conv", "avgpool", "lif"]
    total = sum(int(v.sum()) for v in theirs.values())
    assert total > 0  # (beta read back from float32 tau: see the test above)
    assert differing(model, {2: "n2", 5: "n5"}, theirs, x) <= 0.02 * total


def snntorch_recurrent(seed: int, n_in: int = 5):
    """Linear -> RLeaky (all-to-all recurrent Linear, reset to zero at once) -> Linear ->
    Leaky, weights and biases on a 2**-6 grid."""
    snn = pytest.importorskip("snntorch")
    rng = np.random.default_rng(seed)
    cell = snn.RLeaky(beta=torch.full((6,), 0.75), threshold=torch.ones(6), linear_features=6,
                      init_hidden=True, reset_mechanism="zero", reset_delay=False)
    net = torch.nn.Sequential(torch.nn.Linear(n_in, 6), cell, torch.nn.Linear(6, 3),
                              snn.Leaky(beta=torch.full((3,), 0.5), threshold=torch.ones(3),
                                        init_hidden=True, reset_mechanism="zero",
                                        reset_delay=False, output=True))
    for m, scale in ((net[0], 1.2), (net[1].recurrent, 0.8), (net[2], 1.2)):
        dyadic_(m, rng, scale)
    return net


def test_snntorch_rleaky_spikes_as_in_snntorch_and_deploys(tmp_path):
    """snnTorch's RLeaky exports as a neuron whose spikes come back through an Affine (a
    cycle in the NIR graph, with a bias): imported as a recurrent lif, it spikes as snnTorch
    does (its spikes of step t - 1 reach it at step t); deployed, a Dense from the group to
    itself, the network equals the quantized model. (snnTorch 1.0 cannot export
    RSynaptic: nirtorch fails, "Cannot find the input of an empty graph".)"""
    from snntorch.export_nir import export_to_nir

    net = snntorch_recurrent(8)
    x = spikes(9, (5,))
    nir.write(tmp_path / "r.nir", export_to_nir(net, x[:, 0], ignore_dims=[0]))
    graph_ = nir_import.read_graph(tmp_path / "r.nir")
    assert ("1.w_rec", "1.lif") in graph_.edges and ("1.lif", "1.w_rec") in graph_.edges
    for m in net:
        if hasattr(m, "reset_mem"):
            m.reset_mem()
    theirs = source_spikes(net, {1: net[1], 3: net[3]}, x)
    model, _, warnings = imported(tmp_path / "r.nir", "snntorch")
    assert not warnings and model.graph.node("n1_lif").get("recurrent")
    total = sum(int(v.sum()) for v in theirs.values())
    assert total > 0  # (beta read back from float32 tau: see the test above)
    assert differing(model, {1: "n1_lif", 3: "n3"}, theirs, x) <= 0.02 * total
    deployed = lower_graph(model.graph, model.tensors(), T)
    loop = [s for s in deployed.synapses if s.source == s.target == "n1_lif"]
    assert len(loop) == 1 and np.any(loop[0].weight)
    emu = emulator.run(deployed, emulator.as_frames(deployed, x.numpy().astype(np.int64)))
    model.quantized_mode = True
    with torch.no_grad():
        quantized = model(x, T)
    assert differing_from_model(deployed, emu, quantized) == 0


def test_norse_recurrent_cell_spikes_as_in_norse_and_deploys(tmp_path):
    """norse's LIFRecurrentCell (norse writes an empty node; norse_to_nir writes its input
    Linear, a CubaLIF and the recurrent Linear back to it): spike for spike as in norse,
    and deployed as its quantized forward."""
    nt = pytest.importorskip("norse.torch")
    from snn_export.export import norse_to_nir

    rng, dt = np.random.default_rng(6), 2.0**-10
    p = nt.LIFParameters(tau_syn_inv=torch.tensor(2.0**8), tau_mem_inv=torch.tensor(2.0**9))
    net = nt.SequentialState(nt.LIFRecurrentCell(5, 4, p=p, dt=dt), torch.nn.Linear(4, 3),
                             nt.LIFCell(p, dt=dt))
    with torch.no_grad():
        for w in (net[0].input_weights, net[0].recurrent_weights):
            w.copy_(torch.as_tensor(np.round(rng.normal(0, 1.5, w.shape) * 64) / 64))
        net[0].recurrent_weights.fill_diagonal_(0.0)  # (norse's default: no autapses)
    dyadic_(net[1], rng, 1.5)
    x = spikes(10, (5,))
    nir.write(tmp_path / "r.nir", norse_to_nir.to_nir(net, x[:, 0], dt=dt))
    state = [None]

    def step(frame):
        _, state[0] = net(frame, state[0])

    theirs = source_spikes(step, {0: net[0], 2: net[2]}, x)
    model, _, warnings = imported(tmp_path / "r.nir", "norse", dt=dt)
    assert not warnings and model.graph.node("n0").get("recurrent")
    assert differing(model, {0: "n0", 2: "n2"}, theirs, x) == 0
    assert all(int(theirs[i].sum()) > 0 for i in (0, 2))
    deployed = lower_graph(model.graph, model.tensors(), T)
    emu = emulator.run(deployed, emulator.as_frames(deployed, x.numpy().astype(np.int64)))
    model.quantized_mode = True
    with torch.no_grad():
        assert differing_from_model(deployed, emu, model(x, T)) == 0


def test_only_a_loop_through_one_synapse_layer_is_recurrence():
    """A loop through two neurons stays refused; a recurrent weight that is not (n, n) on a
    flat layer is named."""
    a = nir.Affine(np.eye(3), np.zeros(3))
    two = graph({"input": nir.Input({"input": np.array([3])}), "fc": a, "lif": lif(3),
                 "fc2": a, "lif2": lif(3), "back": a,
                 "output": nir.Output({"output": np.array([3])})},
                [("input", "fc"), ("fc", "lif"), ("lif", "fc2"), ("fc2", "lif2"),
                 ("lif2", "back"), ("back", "lif"), ("lif2", "output")])
    with pytest.raises(SnnExportError, match="recurrent edges .* are not supported"):
        nir_import.load(two, nir_import.NirInput("nir", T, dt=1e-3), "g.nir")
    wrong = nir.NIRGraph(nodes={"input": nir.Input({"input": np.array([3])}), "fc": a,
                                "lif": lif(3), "rec": nir.Linear(np.ones((3, 2))),
                                "output": nir.Output({"output": np.array([3])})},
                         edges=[("input", "fc"), ("fc", "lif"), ("lif", "rec"), ("rec", "lif"),
                                ("lif", "output")], type_check=False)
    with pytest.raises(SnnExportError, match=re.escape("NIR node 'rec' (Linear): a recurrent "
                                                       "weight (3, 2) into 'lif' (3,)")):
        nir_import.load(wrong, nir_import.NirInput("nir", T, dt=1e-3), "g.nir")


def test_snntorch_grouped_convolution_read_from_its_file(tmp_path):
    """A grouped Conv2d as snnTorch writes it: nir 1.0.8's own type check refuses the file
    (it takes C_in / groups for the input channels); the import checks shapes itself."""
    snn = pytest.importorskip("snntorch")
    from snntorch.export_nir import export_to_nir

    rng = np.random.default_rng(5)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(4, 6, 3, padding=1, groups=2),
        snn.Leaky(beta=torch.full((6, 5, 5), 0.875), threshold=torch.ones(6, 5, 5),
                  init_hidden=True, reset_mechanism="zero", reset_delay=False, output=True))
    dyadic_(net[0], rng, 1.5)
    x = spikes(9, (4, 5, 5))
    path = tmp_path / "grouped.nir"
    nir.write(path, export_to_nir(net, x[:, 0], ignore_dims=[0]))
    with pytest.raises(ValueError, match="type mismatch"):
        nir.read(path)  # (nir's own reading)
    net[1].reset_mem()
    theirs = source_spikes(net, {1: net[1]}, x)
    model, _, _ = imported(path, "snntorch")
    assert model.graph.nodes[0].get("groups") == 2
    assert int(theirs[1].sum()) > 0
    assert differing(model, {1: "n1"}, theirs, x) <= 0.02 * int(theirs[1].sum())


def test_imported_model_deploys_as_its_quantized_forward(tmp_path):
    """The deployed integer network (emulator) equals the imported model's quantized
    forward, spike for spike, each group delayed by its depth: the same path as a model.pt,
    biases included."""
    snn = pytest.importorskip("snntorch")
    from snntorch.export_nir import export_to_nir

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(20, 16),
                              snn.Leaky(beta=torch.full((16,), 0.9), threshold=torch.ones(16),
                                        init_hidden=True, reset_mechanism="zero"),
                              torch.nn.Linear(16, 4),
                              snn.Synaptic(alpha=torch.full((4,), 0.8), beta=torch.full((4,), 0.9),
                                           threshold=torch.ones(4), init_hidden=True,
                                           reset_mechanism="zero", output=True))
    with torch.no_grad():
        net[0].weight.mul_(4)
        net[2].weight.mul_(4)
    nir.write(tmp_path / "s.nir", export_to_nir(net, torch.zeros(1, 20), ignore_dims=[0]))
    model, ckpt, warnings = imported(tmp_path / "s.nir", "snntorch", input_bits=3,
                                     input_scale=0.25)
    assert not warnings
    deployed = lower_graph(model.graph, model.tensors(), T)
    # one always-on source; the second layer's bias synapse waits a step for its input
    assert [s.delays for s in deployed.synapses if s.name.endswith(".bias")][1].max() == 1
    x = np.random.default_rng(1).integers(0, 8, (6, 20))
    emu = emulator.run(deployed, x)
    model.quantized_mode = True
    with torch.no_grad():
        ours = model(torch.as_tensor(x.astype(np.float64)), T)
    assert differing_from_model(deployed, emu, ours) == 0
    assert sum(int(s.sum()) for s in emu.spikes.values()) > 0


def graph(nodes, edges, metadata=None):
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata=metadata or {})


def lif(n, **kw):
    return nir.LIF(tau=np.full(n, 10.0), r=np.ones(n), v_leak=np.zeros(n),
                   v_threshold=np.ones(n), **kw)


def test_sum_pool_and_threshold_are_exact():
    """SumPool2d's window size goes into the next weights; a Threshold is a memoryless
    neuron: checked against the NIR equations computed directly (dt = 1 s, IF: v += r x)."""
    w = (np.round(np.random.default_rng(0).normal(0, 1, (3, 8)) * 64) / 64).astype(np.float32)
    g = graph({"input": nir.Input({"input": np.array([2, 4, 4])}),
               "pool": nir.SumPool2d(np.array([2, 2]), np.array([2, 2]), np.array([0, 0])),
               "flat": nir.Flatten({"input": np.array([2, 2, 2])}, 0, -1),
               "fc": nir.Affine(w, np.zeros(3, np.float32)),
               "if": nir.IF(r=np.ones(3), v_threshold=np.full(3, 1.5)),
               "gate": nir.Threshold(np.full(3, 0.5)),
               "output": nir.Output({"output": np.array([3])})},
              [("input", "pool"), ("pool", "flat"), ("flat", "fc"), ("fc", "if"),
               ("if", "gate"), ("gate", "output")])
    model, _, _ = nir_import.load(g, nir_import.NirInput("nir", T, dt=1.0), "g")
    x = spikes(3, (2, 4, 4))
    v, fired = torch.zeros(4, 3), []
    for t in range(T):
        pooled = torch.nn.functional.avg_pool2d(x[:, t], 2) * 4
        v = v + pooled.flatten(1) @ torch.as_tensor(w).T
        s = (v > 1.5).float()
        v = v * (1 - s)
        fired.append(s)
    ref = torch.stack(fired, 1)
    with torch.no_grad():
        out = model(x, T)
    np.testing.assert_array_equal(out["if"].numpy(), ref.numpy())
    np.testing.assert_array_equal(out["gate"].numpy(), ref.numpy())
    assert ref.sum() > 0


@pytest.mark.parametrize("pool", ["SumPool2d", "AvgPool2d"])
def test_pooling_between_a_conv_and_its_neuron_folds_into_the_conv(pool):
    """Conv -> pool -> neuron (the order of snnTorch's CNN tutorial): the pool folds into the
    conv (a larger kernel, stride times the window), exact against the NIR equations
    computed directly (dt = 1 s, IF: v += r x), and deployed as the quantized forward."""
    rng = np.random.default_rng(2)
    w = np.round(rng.normal(0, 1, (3, 2, 3, 3)) * 16) / 16
    b = np.round(rng.normal(0, 0.5, 3) * 16) / 16
    fc = np.round(rng.normal(0, 1, (4, 12)) * 16) / 16
    g = graph({"input": nir.Input({"input": np.array([2, 4, 4])}),
               "conv": nir.Conv2d((4, 4), w, 1, 1, 1, 1, b),
               "pool": getattr(nir, pool)(np.array([2, 2]), np.array([2, 2]), np.array([0, 0])),
               "if": nir.IF(r=np.ones((3, 2, 2)), v_threshold=np.full((3, 2, 2), 1.5)),
               "flat": nir.Flatten({"input": np.array([3, 2, 2])}, 0, -1),
               "fc": nir.Affine(fc, np.zeros(4)),
               "out": nir.IF(r=np.ones(4), v_threshold=np.full(4, 1.0)),
               "output": nir.Output({"output": np.array([4])})},
              [("input", "conv"), ("conv", "pool"), ("pool", "if"), ("if", "flat"),
               ("flat", "fc"), ("fc", "out"), ("out", "output")])
    model, _, _ = nir_import.load(g, nir_import.NirInput("nir", T, dt=1.0), "g")
    assert [n.op for n in model.graph.nodes][:3] == ["conv", "avgpool", "lif"]
    x = spikes(5, (2, 4, 4))
    factor = 4 if pool == "SumPool2d" else 1
    v, u, fired = torch.zeros(4, 3, 2, 2, dtype=torch.float64), torch.zeros(4, 4), []
    for t in range(T):
        a = torch.nn.functional.conv2d(x[:, t].double(), torch.as_tensor(w), torch.as_tensor(b),
                                       padding=1)
        v = v + torch.nn.functional.avg_pool2d(a, 2) * factor
        s = (v > 1.5).double()
        v = v * (1 - s)
        u = u + s.flatten(1).float() @ torch.as_tensor(fc, dtype=torch.float32).T
        out = (u > 1.0).float()
        u = u * (1 - out)
        fired.append(out)
    with torch.no_grad():
        ours = model(x, T)
    np.testing.assert_array_equal(ours["out"].numpy(), torch.stack(fired, 1).numpy())
    assert 0 < int(ours["out"].sum()) < ours["out"].numel()
    deployed = lower_graph(model.graph, model.tensors(), T)
    levels = (x[:, 0] > 0).numpy().astype(int)  # 1-bit frames
    emu = emulator.run(deployed, levels)
    model.quantized_mode = True
    with torch.no_grad():
        quantized = model(torch.as_tensor(levels, dtype=torch.float64), T)
    assert differing_from_model(deployed, emu, quantized) == 0
    assert all(emu.spikes[n.name].sum() > 0 for n in model.graph.nodes if n.op == "lif")


def _input_skip_graph(edge: str):
    """input -> conv -> IF -> conv -> IF -> affine -> IF, and a skip from the input into the
    second IF: through its own conv, or straight in (unit synapses)."""
    rng = np.random.default_rng(6)
    conv = lambda cin, cout: nir.Conv2d((4, 4), np.round(rng.normal(0, 1, (cout, cin, 3, 3))
                                                          * 8) / 8, 1, 1, 1, 1, np.zeros(cout))
    neuron = lambda *shape: nir.IF(r=np.ones(shape), v_threshold=np.ones(shape))
    nodes = {"input": nir.Input({"input": np.array([2, 4, 4])}), "c1": conv(2, 2),
             "l1": neuron(2, 4, 4), "c2": conv(2, 2), "l2": neuron(2, 4, 4),
             "flat": nir.Flatten({"input": np.array([2, 4, 4])}, 0, -1),
             "fc": nir.Affine(np.round(rng.normal(0, 1, (3, 32)) * 8) / 8, np.zeros(3)),
             "out": neuron(3), "output": nir.Output({"output": np.array([3])})}
    edges = [("input", "c1"), ("c1", "l1"), ("l1", "c2"), ("c2", "l2"), ("l2", "flat"),
             ("flat", "fc"), ("fc", "out"), ("out", "output")]
    if edge == "conv":
        nodes["skip"] = conv(2, 2)
        edges += [("input", "skip"), ("skip", "l2")]
    else:
        edges += [("input", "l2")]
    return nir.NIRGraph(nodes=nodes, edges=edges, type_check=False)


@pytest.mark.parametrize("edge", ["conv", "direct"])
def test_a_skip_from_binary_input_is_relayed_and_deploys_exactly(edge):
    """A node reading the input through a shorter path than another: binary input is
    relayed like spikes (a Conv carries no delay), and the deployed network (emulator and
    Lava) is the imported model's quantized forward; graded input is refused by node."""
    model, _, _ = nir_import.load(_input_skip_graph(edge), nir_import.NirInput("nir", T, dt=1.0),
                                  "skip.nir")
    deployed = lower_graph(model.graph, model.tensors(), T)
    assert [g.role.source for g in deployed.neurons if g.role.kind == "relay"] == ["input"]
    x = (np.random.default_rng(7).random((6, 2, 4, 4)) < 0.5).astype(int)
    emu = emulator.run(deployed, x)
    model.quantized_mode = True
    with torch.no_grad():
        ours = model(torch.as_tensor(x, dtype=torch.float64), T)
    assert differing_from_model(deployed, emu, ours) == 0
    assert all(emu.spikes[name].sum() > 0 for name in ("l1", "l2", "out"))
    graded, _, _ = nir_import.load(_input_skip_graph(edge),
                                   nir_import.NirInput("nir", T, dt=1.0, input_bits=4), "s.nir")
    with pytest.raises(SnnExportError, match="node 'l2': reads the graph input \\(4-bit"):
        lower_graph(graded.graph, graded.tensors(), T)


@pytest.mark.lava
def test_a_relayed_input_runs_in_lava_as_in_the_emulator():
    from snn_export.sim import lava_runner
    from snn_export.sim.verify import compare

    model, _, _ = nir_import.load(_input_skip_graph("conv"),
                                  nir_import.NirInput("nir", T, dt=1.0), "skip.nir")
    deployed = lower_graph(model.graph, model.tensors(), T)
    x = (np.random.default_rng(8).random((3, 2, 4, 4)) < 0.5).astype(int)
    _, _, total = compare(emulator.run(deployed, x), lava_runner.run(deployed, x, progress=False))
    assert total == 0


def test_bias_and_leak_start_with_the_input():
    """An Affine's bias and a LIF's leak act from the first step, with the input, as in NIR's
    equations (computed directly, dt = 1 s); a CubaLIF's leak, which drives its voltage, is
    refused."""
    rng = np.random.default_rng(1)
    w, b, leak = (np.round(rng.normal(0, 1, shape) * 64) / 64 for shape in ((3, 8), 3, 3))
    g = graph({"input": nir.Input({"input": np.array([8])}), "fc": nir.Affine(w, b),
               "lif": nir.LIF(tau=np.full(3, 2.0), r=np.ones(3), v_leak=leak,
                              v_threshold=np.ones(3)),
               "output": nir.Output({"output": np.array([3])})},
              [("input", "fc"), ("fc", "lif"), ("lif", "output")])
    model, _, warnings = nir_import.load(g, nir_import.NirInput("nir", T, dt=1.0), "g")
    assert not warnings
    x = spikes(4, (8,))
    v, fired = torch.zeros(4, 3, dtype=torch.float64), []
    for t in range(T):
        v = v + 0.5 * (torch.as_tensor(leak) - v + x[:, t].double() @ torch.as_tensor(w).T
                       + torch.as_tensor(b))
        s = (v > 1).double()
        v = v * (1 - s)
        fired.append(s)
    ref = torch.stack(fired, 1)
    with torch.no_grad():
        out = model(x, T)["lif"]
    np.testing.assert_array_equal(out.numpy(), ref.numpy())
    assert 0 < ref.sum() < ref.numel()

    g.nodes["lif"] = nir.CubaLIF(tau_syn=np.full(3, 2.0), tau_mem=np.full(3, 2.0),
                                 r=np.ones(3), v_leak=leak, v_threshold=np.ones(3))
    with pytest.raises(SnnExportError, match=re.escape("NIR node 'lif' (CubaLIF): its leak "
                                                       "(v_leak) drives the voltage")):
        nir_import.load(g, nir_import.NirInput("nir", T, dt=1.0), "g")


@pytest.mark.parametrize("kind", ["LI", "CubaLI"])
def test_nir_leaky_integrator_readouts_follow_the_nir_equations(kind):
    """NIR's LI and CubaLI (forward Euler, ``--dialect nir``) as the readout: the imported
    model's output is their voltage at every step (an LI's leak drives it, as a bias
    does); the class is the largest voltage after the last step."""
    rng = np.random.default_rng(5)
    w = (np.round(rng.normal(0, 1, (4, 6)) * 64) / 64).astype(np.float32)
    b = (np.round(rng.normal(0, 0.2, 4) * 64) / 64).astype(np.float32)
    dt, tau, tau_syn = 1e-3, 4e-3, 2e-3
    if kind == "LI":
        leak = np.array([0.25, 0, -0.5, 0.125], np.float32)
        node = nir.LI(tau=np.full(4, tau), r=np.full(4, 2.0), v_leak=leak)
    else:
        node = nir.CubaLI(tau_syn=np.full(4, tau_syn), tau_mem=np.full(4, tau),
                          r=np.full(4, 2.0), v_leak=np.zeros(4), w_in=np.full(4, 1.5))
    g = graph({"input": nir.Input({"input": np.array([6])}), "fc": nir.Affine(w, b),
               "li": node, "output": nir.Output({"output": np.array([4])})},
              [("input", "fc"), ("fc", "li"), ("li", "output")])
    model, ckpt, warnings = nir_import.load(g, nir_import.NirInput("nir", T, dt=dt), "g")
    assert not warnings and model.voltage_readout and ckpt["dataset"]["num_classes"] == 4
    assert [n.op for n in model.graph.nodes] == ["linear", "li"]
    x = spikes(6, (6,))
    a_mem, a_syn = dt / tau, dt / tau_syn
    v, i, trace = torch.zeros(4, 4, dtype=torch.float64), 0.0, []
    for t in range(T):
        inp = x[:, t].double() @ torch.as_tensor(w).double().T + torch.as_tensor(b).double()
        if kind == "LI":
            v = v + a_mem * (torch.as_tensor(leak).double() - v + 2.0 * inp)
        else:
            i = i + a_syn * (1.5 * inp - i)
            v = v + a_mem * (-v + 2.0 * i)
        trace.append(v)
    ref = torch.stack(trace, 1)
    with torch.no_grad():
        out = model.output(x, T).double()
    np.testing.assert_allclose(out.numpy(), ref.numpy(), rtol=0, atol=1e-5)
    assert ref.abs().max() > 0.5
    np.testing.assert_array_equal(predict(out, voltage=True), ref[:, -1].argmax(1).numpy())


def delay_graph(n_in: int = 5):
    """Input -> Delay (3 steps) -> Affine -> LIF -> Affine (biased) -> Delay (2 steps) ->
    LIF: a delay of spikes, and one of a synapse layer's output, bias included (dt 1 ms)."""
    rng = np.random.default_rng(0)
    w1 = np.round(rng.normal(0, 1, (6, n_in)) * 64) / 64
    w2 = np.round(rng.normal(0, 1, (4, 6)) * 64) / 64
    neuron = lambda n: nir.LIF(tau=np.full(n, 2e-3), r=np.full(n, 2.0), v_leak=np.zeros(n),
                               v_threshold=np.full(n, 0.5))
    g = graph({"input": nir.Input({"input": np.array([n_in])}),
               "d0": nir.Delay(np.full(n_in, 3e-3)), "fc1": nir.Affine(w1, np.zeros(6)),
               "lif1": neuron(6), "fc2": nir.Affine(w2, np.full(4, 0.1)),
               "d1": nir.Delay(np.full(4, 2e-3)), "lif2": neuron(4),
               "output": nir.Output({"output": np.array([4])})},
              [("input", "d0"), ("d0", "fc1"), ("fc1", "lif1"), ("lif1", "fc2"), ("fc2", "d1"),
               ("d1", "lif2"), ("lif2", "output")])
    return g, w1, w2


def test_nir_delays_follow_the_nir_equations_and_deploy_as_synaptic_delays(tmp_path):
    """A Delay of spikes and one of a synapse layer's output (its bias starts as late):
    the imported model spikes as NIR's equations say, step for step; deployed, the delays
    are the synapses' (DelayDense), the network equals the quantized model, and its files
    (NIR, graph file) keep the depths of its layers."""
    from snn_export.deploy import formats

    g, w1, w2 = delay_graph()
    model, _, warnings = nir_import.load(g, nir_import.NirInput("nir", T, dt=1e-3), "g")
    assert not warnings
    x = spikes(21, (5,))

    def lif_run(inp, w, b, start):  # v += a (r I - v), a = 1/2, r = 2, threshold 0.5
        v, out = torch.zeros(len(inp), len(w), dtype=torch.float64), []
        for t in range(T):
            i = inp[:, t].double() @ torch.as_tensor(w).T + (b if t >= start else 0.0)
            v = v + 0.5 * (2.0 * i - v)
            out.append((v > 0.5).double())
            v = v * (1 - out[-1])
        return torch.stack(out, 1)

    late = lambda s, k: torch.cat([torch.zeros_like(s[:, :k]), s[:, :-k]], 1)
    s1 = lif_run(late(x, 3), w1, 0.0, 0)
    s2 = lif_run(late(s1, 2), w2, 0.1, 2)
    with torch.no_grad():
        ours = model(x, T)
    assert int((ours["lif1"] != s1).sum()) == 0 and int((ours["lif2"] != s2).sum()) == 0
    assert s1.sum() > 0 and s2.sum() > 0
    deployed = lower_graph(model.graph, model.tensors(), T)
    delays = {s.name: int(s.delays.max()) for s in deployed.synapses if s.delays is not None}
    assert delays == {"lif1.fc1": 3, "lif2.d1": 2, "lif2.lif2_on_in": 3}
    assert deployed.window == T
    frames = emulator.as_frames(deployed, x.numpy().astype(np.int64))
    emu = emulator.run(deployed, frames)
    model.quantized_mode = True
    with torch.no_grad():
        quantized = model(x, T)
    assert differing_from_model(deployed, emu, quantized) == 0
    for fmt in (formats.NIR, formats.GRAPH):
        fmt.write(deployed, tmp_path / fmt.filename)
        back = fmt.read(tmp_path / fmt.filename)
        assert back.depths() == deployed.depths() and back.window == T
        for name, s in emulator.run(back, frames).spikes.items():
            np.testing.assert_array_equal(s, emu.spikes[name], err_msg=name)


def _tool_graph(tool: str, rng):
    """A graph in SpikingJelly's or sinabs's conventions (what their exporters write),
    and a step function of that tool's neurons: (weights, step(state, x_t) -> (state,
    spikes), initial state) per layer. Conv -> IF -> SumPool (sinabs) or AvgPool ->
    Flatten -> Affine -> LIF; dyadic weights, threshold 1, so that voltages land on the
    threshold exactly and the tools' v >= threshold shows."""
    w1 = np.round(rng.normal(0, 1.0, (3, 2, 3, 3)) * 4) / 4
    w2 = np.round(rng.normal(0, 1.0, (4, 12)) * 4) / 4
    pool = nir.SumPool2d(np.array([2, 2]), np.array([2, 2]), np.array([0, 0])) \
        if tool == "sinabs" else nir.AvgPool2d(np.array([2, 2]), np.array([2, 2]),
                                               np.array([0, 0]))
    ones = lambda shape: np.ones(shape, dtype=np.float32)
    if tool == "spikingjelly":  # export_to_nir(dt=1e-4): IFNode r = 1/dt; LIFNode tau*dt
        dt, tau = 1e-4, 2.0
        if_node = nir.IF(r=ones((3, 4, 4)) / dt, v_threshold=ones((3, 4, 4)),
                         v_reset=0 * ones((3, 4, 4)))
        lif_node = nir.LIF(tau=ones(4) * tau * dt, r=ones(4) * tau, v_leak=0 * ones(4),
                           v_threshold=ones(4), v_reset=0 * ones(4))  # (decay_input=False)
        lif_step = lambda v, i: v + (i * tau - v) / tau  # its LIFNode, decay_input=False
    else:  # sinabs.to_nir: IAF r = 1; LIF tau in steps, r = 1 (read with norm_input=False)
        tau = 4.0
        if_node = nir.IF(r=ones((3, 4, 4)), v_threshold=ones((3, 4, 4)))
        lif_node = nir.LIF(tau=ones(4) * tau, r=ones(4), v_leak=0 * ones(4),
                           v_threshold=ones(4))
        lif_step = lambda v, i: float(np.exp(-1 / tau)) * v + i
    g = graph({"input": nir.Input({"input": np.array([2, 4, 4])}),
               "conv": nir.Conv2d((4, 4), w1, 1, 1, 1, 1, np.zeros(3)), "if": if_node,
               "pool": pool, "flat": nir.Flatten({"input": np.array([3, 2, 2])}, 0, -1),
               "fc": nir.Affine(w2, np.zeros(4)), "lif": lif_node,
               "output": nir.Output({"output": np.array([4])})},
              [("input", "conv"), ("conv", "if"), ("if", "pool"), ("pool", "flat"),
               ("flat", "fc"), ("fc", "lif"), ("lif", "output")])
    return g, w1, w2, lif_step


@pytest.mark.parametrize("tool", ["spikingjelly", "sinabs"])
def test_spikingjelly_and_sinabs_conventions_spike_as_their_tools(tool):
    """Hand-built graphs in SpikingJelly's (export_to_nir, dt = 1e-4 s) and sinabs's
    (to_nir, steps) conventions, read with their dialects, spike as those tools' neurons
    (v >= threshold, reset to 0; sinabs's exponential decay), step for step in float32;
    read as plain NIR (v > threshold) they would not."""
    rng = np.random.default_rng(12)
    g, w1, w2, lif_step = _tool_graph(tool, rng)
    x = spikes(13, (2, 4, 4))
    v1, v2, out1, out2, ties = 0.0, 0.0, [], [], 0
    conv = torch.nn.functional.conv2d
    pooled = (lambda s: torch.nn.functional.avg_pool2d(s, 2) * 4) if tool == "sinabs" else \
        (lambda s: torch.nn.functional.avg_pool2d(s, 2))
    for t in range(T):
        v1 = v1 + conv(x[:, t], torch.as_tensor(w1, dtype=torch.float32), padding=1)
        s1 = (v1 >= 1).float()
        ties += int((v1 == 1).sum())
        v1 = v1 * (1 - s1)
        i2 = pooled(s1).flatten(1) @ torch.as_tensor(w2, dtype=torch.float32).T
        v2 = lif_step(v2, i2)
        s2 = (v2 >= 1).float()
        v2 = v2 * (1 - s2)
        out1.append(s1)
        out2.append(s2)
    ref1, ref2 = torch.stack(out1, 1), torch.stack(out2, 1)
    assert ties > 0 and ref1.sum() > 0 and ref2.sum() > 0
    model, _, warnings = nir_import.load(g, nir_import.NirInput(tool, T), "g")
    assert not warnings
    with torch.no_grad():
        ours = model(x, T)
    assert int((ours["if"] != ref1).sum()) == 0 and int((ours["lif"] != ref2).sum()) == 0
    as_nir, _, _ = nir_import.load(g, nir_import.NirInput(
        "nir", T, dt=nir_dialects.DIALECTS[tool].dt), "g")
    with torch.no_grad():
        assert int((as_nir(x, T)["if"] != ref1).sum()) > 0  # (the ties fire only at >=)


def test_snntorch_membrane_readout_with_readout_voltage(tmp_path, capsys):
    """snnTorch's membrane readout (a Leaky without reset, its mem decoded) is written as a
    LIF; `--readout voltage` reads it as a leaky integrator: the imported voltage is
    snnTorch's mem at every step (to float32's rounding of beta), whatever its threshold;
    the CLI deploys and evaluates it."""
    snn = pytest.importorskip("snntorch")
    from snntorch.export_nir import export_to_nir

    rng = np.random.default_rng(14)
    net = torch.nn.Sequential(
        torch.nn.Linear(64, 12),
        snn.Leaky(beta=torch.full((12,), 0.75), threshold=torch.ones(12), init_hidden=True,
                  reset_mechanism="zero", reset_delay=False),
        torch.nn.Linear(12, 10),
        snn.Leaky(beta=torch.full((10,), 0.875), threshold=torch.full((10,), 0.5),
                  init_hidden=True, reset_mechanism="none", output=True))
    for k in (0, 2):
        dyadic_(net[k], rng, 1.0)
    nir.write(tmp_path / "m.nir", export_to_nir(net, torch.zeros(1, 64), ignore_dims=[0]))
    x = spikes(15, (64,))
    mems = []
    net[3].register_forward_hook(lambda _m, _a, o: mems.append(o[1].clone()))
    for m in net:
        if hasattr(m, "reset_mem"):
            m.reset_mem()
    with torch.no_grad():
        for t in range(T):
            net(x[:, t])
    theirs = torch.stack(mems, 1)
    model, _, _ = nir_import.load(nir_import.read_graph(tmp_path / "m.nir"),
                                  nir_import.NirInput("snntorch", T, readout="voltage"), "m")
    assert model.voltage_readout and model.graph.node("n3").op == "li"
    with torch.no_grad():
        ours = model.output(x, T)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=0,
                               atol=1e-5 * float(theirs.abs().max()))
    assert float(theirs.max()) > 0.5  # (above the threshold a spiking readout would reset)
    spiking, _, _ = imported(tmp_path / "m.nir", "snntorch")
    assert not spiking.voltage_readout
    assert main([str(tmp_path / "m.nir"), "--dialect", "snntorch", "--time-steps", "8",
                 "--readout", "voltage", "--target", "lava", "--dataset", "digits",
                 "--evaluate", "30", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["evaluation"]["samples"] == 30


def norse_li_network(nt, dt: float):
    """A norse CNN with pooling and an LICell readout (weights on a 2**-6 grid)."""
    rng = np.random.default_rng(11)
    p = nt.LIFParameters(tau_syn_inv=torch.tensor(2.0**8), tau_mem_inv=torch.tensor(2.0**9))
    li = nt.LIParameters(tau_syn_inv=torch.tensor(2.0**8), tau_mem_inv=torch.tensor(2.0**7))
    net = nt.SequentialState(torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.AvgPool2d(2),
                             nt.LIFCell(p, dt=dt), torch.nn.Flatten(), torch.nn.Linear(64, 10),
                             nt.LICell(li, dt=dt))
    for k, scale in ((0, 1.5), (4, 1.0)):
        dyadic_(net[k], rng, scale)
    return net


def test_norse_licell_readout_as_in_norse_and_deployed_as_its_quantized_forward(tmp_path):
    """norse's LICell after a pooled CNN (norse writes no node for it; norse_to_nir writes a
    CubaLI in norse's conventions): the imported model's voltage is norse's at every step
    (to float32's rounding) and its class norse's; deployed, the integrator's final voltage
    is the quantized model's and never reaches its threshold."""
    nt = pytest.importorskip("norse.torch")
    from snn_export.deploy.never_firing import integrators_that_may_fire
    from snn_export.export import norse_to_nir

    dt = 2.0**-10
    net = norse_li_network(nt, dt)
    x = spikes(12, (1, 8, 8))
    nir.write(tmp_path / "net.nir", norse_to_nir.to_nir(net, x[:, 0], dt=dt))
    assert type(nir_import.read_graph(tmp_path / "net.nir").nodes["5"]).__name__ == "CubaLI"
    state, voltages = None, []
    with torch.no_grad():
        for t in range(T):
            v, state = net(x[:, t], state)
            voltages.append(v)
    theirs = torch.stack(voltages, 1)
    model, _, warnings = imported(tmp_path / "net.nir", "norse", dt=dt)
    assert not warnings and model.graph.node("n5").op == "li"
    with torch.no_grad():
        ours = model.output(x, T)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=0,
                               atol=1e-6 * float(theirs.abs().max()))
    np.testing.assert_array_equal(predict(ours, voltage=True), predict(theirs, voltage=True))
    deployed = lower_graph(model.graph, model.tensors(), T)
    assert deployed.group("n5").role.kind == "integrator"
    assert not integrators_that_may_fire(deployed)
    frames = emulator.as_frames(deployed, x.numpy().astype(np.int64).reshape(len(x), T, -1))
    emu = emulator.run(deployed, frames)
    model.quantized_mode = True
    with torch.no_grad():
        quantized = model(x, T)
    assert differing_from_model(deployed, emu, quantized) == 0
    assert np.abs(emu.states["n5"]["v"]).max() > 0 and emu.spikes["n5"].sum() == 0
    np.testing.assert_array_equal(readout.deployed(deployed, emu),
                                  predict(quantized["n5"], voltage=True))


def test_an_integrator_that_may_reach_its_threshold_is_warned(tmp_path):
    """A leaky integrator without leak whose bound passes the largest threshold within the
    run is named in a warning; the emulator shows it can get there."""
    g = graph({"input": nir.Input({"input": np.array([8])}),
               "fc": nir.Affine(np.ones((2, 8)), np.zeros(2)),
               "li": nir.LI(tau=np.full(2, 1e9), r=np.full(2, 1e9), v_leak=np.zeros(2)),
               "output": nir.Output({"output": np.array([2])})},
              [("input", "fc"), ("fc", "li"), ("li", "output")])
    from snn_export.deploy.never_firing import integrators_that_may_fire
    model, _, _ = nir_import.load(g, nir_import.NirInput("nir", 5000, dt=1.0), "g")
    net = lower_graph(model.graph, model.tensors(), 5000)
    (line,) = integrators_that_may_fire(net)
    assert line.startswith("neurons li (a leaky integrator readout): its voltage may reach")
    emu = emulator.run(net, np.ones((1, 8), dtype=np.int64))
    assert emu.spikes["li"].sum() > 0  # it did: it spiked and restarted
    assert not integrators_that_may_fire(lower_graph(model.graph, model.tensors(), 50))


@pytest.mark.parametrize("nodes, edges, message", [
    ({"fc": nir.Affine(np.eye(3), np.zeros(3)), "i": nir.I(np.ones(3))},
     [("input", "fc"), ("fc", "i"), ("i", "output")], "'i' (I): is not supported"),
    ({"fc": nir.Affine(np.eye(3), np.zeros(3)), "li": nir.LI(np.ones(3), np.ones(3),
                                                              np.zeros(3)),
      "fc2": nir.Affine(np.eye(3), np.zeros(3)), "lif": lif(3)},
     [("input", "fc"), ("fc", "li"), ("li", "fc2"), ("fc2", "lif"), ("lif", "output")],
     "'fc2' (Affine): reads 'li', a leaky integrator: it emits no spikes, so only the "
     "readout"),
    ({"fc": nir.Affine(np.eye(3), np.zeros(3)), "lif": lif(3)},
     [("input", "fc"), ("fc", "lif"), ("lif", "fc"), ("lif", "output")], "recurrent edges"),
    ({"d": nir.Delay(np.array([1e-3, 2e-3, 3e-3])), "fc": nir.Affine(np.eye(3), np.zeros(3)),
      "lif": lif(3)},
     [("input", "d"), ("d", "fc"), ("fc", "lif"), ("lif", "output")], "'d' (Delay): its delay "
     "varies over its neurons"),
    ({"d": nir.Delay(np.full(3, 1.5e-3)), "fc": nir.Affine(np.eye(3), np.zeros(3)),
      "lif": lif(3)},
     [("input", "d"), ("d", "fc"), ("fc", "lif"), ("lif", "output")], "'d' (Delay): delay "
     "0.0015 s is not a whole number of steps of dt=0.001 s"),
    ({"fc": nir.Affine(np.eye(3), np.zeros(3)), "lif": lif(3), "d": nir.Delay(np.full(3, 1e-3))},
     [("input", "fc"), ("fc", "lif"), ("lif", "d"), ("d", "output")], "'output' (Output): "
     "must follow one neuron node"),
    ({"d": nir.Delay(np.full(3, 1.0)), "fc": nir.Affine(np.eye(3), np.zeros(3)), "lif": lif(3)},
     [("input", "d"), ("d", "fc"), ("fc", "lif"), ("lif", "output")], "'d' (Delay): delay of "
     "1000 steps: nothing it delays arrives within the 24 steps of a sample"),
    ({"d": nir.Delay(np.full(3, -1e-3)), "fc": nir.Affine(np.eye(3), np.zeros(3)),
      "lif": lif(3)},
     [("input", "d"), ("d", "fc"), ("fc", "lif"), ("lif", "output")], "'d' (Delay): delay "
     "-0.001 s: a delay must be 0 or more"),
    ({"fc": nir.Affine(np.eye(3), np.zeros(3)),
      "lif": nir.LIF(tau=np.array([10.0, 10, 20]), r=np.ones(3), v_leak=np.zeros(3),
                     v_threshold=np.ones(3))},
     [("input", "fc"), ("fc", "lif"), ("lif", "output")], "tau varies over its neurons"),
    ({"fc": nir.Affine(np.eye(3), np.zeros(3)), "lif": lif(3), "fc2": nir.Affine(np.eye(3),
                                                                                np.zeros(3))},
     [("input", "fc"), ("fc", "lif"), ("lif", "fc2"), ("fc2", "output")], "must follow one "
     "neuron node"),
])
def test_unsupported_graphs_are_refused_by_node(nodes, edges, message):
    g = graph({"input": nir.Input({"input": np.array([3])}), **nodes,
               "output": nir.Output({"output": np.array([3])})}, edges)
    with pytest.raises(SnnExportError, match=re.escape(message)):
        nir_import.load(g, nir_import.NirInput("nir", T, dt=1e-3), "g.nir")


def write_lif_graph(path, inputs: int = 64, outputs: int = 10):
    rng = np.random.default_rng(0)
    nir.write(path, graph({"input": nir.Input({"input": np.array([inputs])}),
                           "fc": nir.Affine(rng.normal(0, 0.5, (outputs, inputs)),
                                            np.linspace(-0.2, 0.2, outputs)),
                           "lif": lif(outputs),
                           "output": nir.Output({"output": np.array([outputs])})},
                          [("input", "fc"), ("fc", "lif"), ("lif", "output")]))


@pytest.mark.parametrize("args, message", [
    ([], "say which with --dialect"),
    (["--dialect", "nir", "--time-steps", "8"], "give the one the graph was written for with --dt"),
    (["--dialect", "norse"], "give --time-steps N"),
    (["--dialect", "norse", "--time-steps", "8", "--verify", "2"], "with --dataset"),
    (["--dialect", "norse", "--time-steps", "8", "--dataset", "mnist5k"],
     "samples of 784 values, but .* reads \\(64,\\)"),
    (["--dialect", "norse", "--time-steps", "8", "--dataset", "digits", "--input-bits", "3"],
     "--input-bits comes from --dataset; give one or the other"),
    (["--dialect", "norse", "--time-steps", "8", "--dataset", "digits", "--input", "x.npy"],
     "--input x.npy and --dataset digits both give the test samples; give one"),
    (["--dialect", "norse", "--time-steps", "8", "--labels", "y.npy"],
     "--labels y.npy: the classes of --input FILE's samples; give --input too"),
    (["--dialect", "norse", "--time-steps", "8", "--dataset", "digits", "--labels", "y.npy"],
     "give --input too \\(--dataset digits has labels of its own\\)"),
    (["--dialect", "norse", "--time-steps", "8", "--input", "nothing.npy"],
     "--input nothing.npy: no such file"),
])
def test_cli_errors_for_nir_input_say_what_to_do(args, message, tmp_path, capsys):
    write_lif_graph(tmp_path / "g.nir")
    assert main([str(tmp_path / "g.nir"), "--target", "lava", *args]) == 1
    assert re.search(message, capsys.readouterr().err)
    assert not (tmp_path / "g_lava").exists()


def test_cli_reads_test_samples_from_npy_files_as_from_the_dataset(tmp_path, capsys):
    """--input/--labels with the encoding options: the digits test split saved as .npy
    files evaluates exactly as --dataset digits; --evaluate needs --labels; the deployed
    network written as NIR by snn-export reads them too (its encoding stored)."""
    from snn_export.train import datasets
    write_lif_graph(tmp_path / "g.nir")
    digits = datasets.load("digits")
    np.save(tmp_path / "x.npy", digits.x_test)
    np.save(tmp_path / "y.npy", digits.y_test)
    common = [str(tmp_path / "g.nir"), "--target", "nir", "--dialect", "norse",
              "--time-steps", "8", "--evaluate", "100", "--json"]
    evaluations = []
    for k, samples in enumerate((["--dataset", "digits"],
                                 ["--input", str(tmp_path / "x.npy"), "--labels",
                                  str(tmp_path / "y.npy"), "--input-bits", "5",
                                  "--input-scale", "0.0625"])):
        assert main([*common, *samples, "-o", str(tmp_path / f"out{k}")]) == 0
        evaluations.append(json.loads(capsys.readouterr().out)["evaluation"])
    assert evaluations[0] == evaluations[1]
    assert main([*common[:-1], "--input", str(tmp_path / "x.npy"), "--input-bits", "5",
                 "-o", str(tmp_path / "out2")]) == 1
    assert f"--evaluate 100 measures accuracy, but --input {tmp_path / 'x.npy'} comes " \
        "without labels: give their classes with --labels FILE.npy" in capsys.readouterr().err
    np.save(tmp_path / "few.npy", digits.x_test[:3])
    assert main([*common[:-3], "--verify", "5", "--input", str(tmp_path / "few.npy"),
                 "--input-bits", "5"]) == 1
    assert f"--verify 5: --input {tmp_path / 'few.npy'} holds only 3 samples" in \
        capsys.readouterr().err
    written = str(tmp_path / "out0" / "network.nir")  # (its input encoding is stored)
    assert main([written, "--target", "lava", "--input", str(tmp_path / "x.npy"),
                 "-o", str(tmp_path / "again")]) == 0
    assert "Measured in the integer emulator on 16 test samples" in capsys.readouterr().out
    assert main([*common[:5], "--time-steps", "8", "--input-bits", "1", "-o",
                 str(tmp_path / "binary")]) == 0
    capsys.readouterr()
    assert main([str(tmp_path / "binary" / "network.nir"), "--target", "lava", "--dataset",
                 "digits"]) == 1
    assert "--dataset digits: 5-bit levels, but " in capsys.readouterr().err


def test_cli_reads_spike_trains_from_npy_files_as_from_event_data(tmp_path, capsys):
    """--input of spike trains (samples, steps, size): moving_bars' test split saved as .npy
    evaluates exactly as --dataset moving_bars; the deployed network written as NIR by
    snn-export reads them over its trained steps (the emulator pads its depth)."""
    from snn_export.train import datasets
    bars = datasets.load("moving_bars")
    write_lif_graph(tmp_path / "g.nir", inputs=bars.x_test.shape[-1], outputs=4)
    np.save(tmp_path / "x.npy", bars.x_test)
    np.save(tmp_path / "y.npy", bars.y_test.astype(np.float32))  # (whole numbers)
    common = [str(tmp_path / "g.nir"), "--target", "nir", "--dialect", "norse", "--time-steps",
              str(bars.frames), "--evaluate", "100", "--json"]
    evaluations = []
    for k, samples in enumerate((["--dataset", "moving_bars"],
                                 ["--input", str(tmp_path / "x.npy"), "--labels",
                                  str(tmp_path / "y.npy")])):
        assert main([*common, *samples, "-o", str(tmp_path / f"out{k}")]) == 0
        evaluations.append(json.loads(capsys.readouterr().out)["evaluation"])
    assert evaluations[0] == evaluations[1]
    assert main([str(tmp_path / "out0" / "network.nir"), "--target", "lava", "--input",
                 str(tmp_path / "x.npy"), "-o", str(tmp_path / "again")]) == 0
    assert "Measured in the integer emulator on 16 test samples" in capsys.readouterr().out


def test_cli_model_pt_refuses_nir_options(trained, capsys):
    assert main([str(trained), "--target", "lava", "--dialect", "norse"]) == 1
    assert "--dialect is for NIR input" in capsys.readouterr().err
    assert main([str(trained), "--target", "lava", "--input", "x.npy"]) == 1
    assert "--input is for NIR input (.nir) and netx files (.net); " in capsys.readouterr().err


def test_cli_deploys_foreign_nir_with_compliance_and_evaluation(tmp_path, capsys):
    write_lif_graph(tmp_path / "g.nir")
    assert main([str(tmp_path / "g.nir"), "--target", "lava", "--dialect", "norse",
                 "--time-steps", "8", "--dataset", "digits", "--evaluate", "50", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["compliant"] and summary["evaluation"]["samples"] == 50
    assert (tmp_path / "g_lava" / "network.net").is_file()  # a chain: netx
    # an snn-export NIR file is the deployed network itself: written back, it runs the same
    assert main([str(tmp_path / "g.nir"), "--target", "nir", "--dialect", "norse",
                 "--time-steps", "8", "--dataset", "digits", "-o", str(tmp_path / "out"),
                 "--json"]) == 0
    capsys.readouterr()
    assert main([str(tmp_path / "out" / "network.nir"), "--target", "lava",
                 "-o", str(tmp_path / "again"), "--json"]) == 0
    from snn_export.deploy import formats
    a = formats.read(tmp_path / "g_lava" / "network.net")
    b = formats.read(tmp_path / "again" / "network.net")
    x = np.random.default_rng(0).integers(0, 32, (5, 64))
    for name, s in emulator.run(a, x).spikes.items():
        np.testing.assert_array_equal(s, emulator.run(b, x).spikes[name], err_msg=name)


@pytest.fixture
def norse_nir(tmp_path):
    """A norse-built network for 8x8 digits with biases in every layer, written as NIR."""
    nt = pytest.importorskip("norse.torch")
    from snn_export.export import norse_to_nir

    torch.manual_seed(0)
    net = nt.SequentialState(torch.nn.Conv2d(1, 4, 3, padding=1), nt.LIFCell(),
                             torch.nn.Flatten(), torch.nn.Linear(256, 20),
                             nt.LIFBoxCell(), torch.nn.Linear(20, 10), nt.IAFCell())
    with torch.no_grad():
        net[0].weight.mul_(8)
        net[3].weight.mul_(12)
        net[5].weight.mul_(6)
    nir.write(tmp_path / "net.nir", norse_to_nir.to_nir(net, torch.zeros(1, 1, 8, 8)))
    return tmp_path / "net.nir"


def test_imported_network_in_onnxruntime_as_in_pytorch(norse_nir):
    """ONNX out of a NIR import: the always-on bias sources are constants of the graph."""
    ort = pytest.importorskip("onnxruntime")
    from snn_export.export.to_onnx import write_onnx

    model, ckpt, _ = nir_import.load(nir_import.read_graph(norse_nir),
                                     nir_import.NirInput("norse", 16), str(norse_nir))
    write_onnx(model, ckpt, norse_nir.with_suffix(".onnx"))
    x = (np.random.default_rng(0).random((8, 64)) < 0.4).astype(np.float32)
    session = ort.InferenceSession(str(norse_nir.with_suffix(".onnx")),
                                   providers=["CPUExecutionProvider"])
    _, spikes = session.run(None, {"levels": x})
    with torch.no_grad():
        expected = model.output(torch.from_numpy(x), 16).numpy()
    assert expected.sum() > 0
    np.testing.assert_array_equal(spikes, expected)


def test_licell_readout_in_onnxruntime_as_in_pytorch(tmp_path):
    """ONNX out of an LICell readout: outputs `scores` (the voltage after the last step)
    and `voltage`, onnxruntime's equal to PyTorch's float forward."""
    ort = pytest.importorskip("onnxruntime")
    nt = pytest.importorskip("norse.torch")
    from snn_export.export import norse_to_nir
    from snn_export.export.to_onnx import write_onnx

    nir.write(tmp_path / "li.nir", norse_to_nir.to_nir(norse_li_network(nt, 2.0**-10),
                                                       torch.zeros(1, 1, 8, 8), dt=2.0**-10))
    model, ckpt, _ = imported(tmp_path / "li.nir", "norse", dt=2.0**-10)
    info = write_onnx(model, ckpt, tmp_path / "li.onnx")
    assert list(info["outputs"]) == ["scores", "voltage"]
    x = (np.random.default_rng(0).random((6, 64)) < 0.4).astype(np.float32)
    session = ort.InferenceSession(str(tmp_path / "li.onnx"),
                                   providers=["CPUExecutionProvider"])
    scores, voltage = session.run(None, {"levels": x})
    with torch.no_grad():
        expected = model.output(torch.from_numpy(x), T).numpy()
    np.testing.assert_allclose(voltage, expected, rtol=0, atol=1e-5 * np.abs(expected).max())
    np.testing.assert_array_equal(scores, voltage[:, -1])
    assert np.abs(expected).max() > 0


@pytest.mark.lava
def test_norse_built_network_deploys_to_lava_bit_exact(norse_nir, capsys):
    """The done-when: a norse-built network, through `snn-export net.nir --target lava`,
    runs in Lava spike for spike as in the emulator and the imported model, its biases
    carried by delayed synapses from the always-on group."""
    assert main([str(norse_nir), "--dialect", "norse", "--time-steps", "16",
                 "--target", "lava", "--dataset", "digits", "--verify", "3", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["bit_exact"] and summary["model_differing"] == 0
    assert all(layer["differing"] == 0 for layer in summary["layers"])
    assert sum(layer["spikes_lava"] for layer in summary["layers"]) > 0
    assert "bias_source" in {layer["layer"] for layer in summary["layers"]}


def test_unknown_node_type_is_named(tmp_path):
    """nir.read only asserts on a node type it does not know: the error names the node and
    the type, and lists the types nir knows."""
    import h5py
    import nir

    from snn_export.export.nir_import import read_graph
    path = tmp_path / "odd.nir"
    nir.write(path, nir.NIRGraph(
        nodes={"input": nir.Input(input_type=np.array([2])),
               "lin": nir.Linear(weight=np.ones((2, 2))),
               "output": nir.Output(output_type=np.array([2]))},
        edges=[("input", "lin"), ("lin", "output")]))
    with h5py.File(path, "r+") as f:
        del f["node"]["nodes"]["lin"]["type"]
        f["node"]["nodes"]["lin"]["type"] = np.bytes_(b"Wobble")
    with pytest.raises(SnnExportError, match=r"odd.nir: not a readable NIR file \(node 'lin' "
                                             r"has type 'Wobble'; nir .* knows Affine, "):
        read_graph(path)


@pytest.mark.lava
def test_norse_licell_readout_verifies_bit_exact_in_lava(tmp_path, capsys):
    """The LICell readout through `snn-export net.nir --target lava --verify`: Lava's final
    voltages are the emulator's (and the quantized model's), sample by sample, and Lava's
    classes, read from them, are the emulator's."""
    nt = pytest.importorskip("norse.torch")
    from snn_export.export import norse_to_nir

    net = norse_li_network(nt, 2.0**-10)
    nir.write(tmp_path / "net.nir", norse_to_nir.to_nir(net, torch.zeros(1, 1, 8, 8),
                                                        dt=2.0**-10))
    assert main([str(tmp_path / "net.nir"), "--dialect", "norse", "--dt", str(2.0**-10),
                 "--time-steps", "8", "--target", "lava", "--dataset", "digits",
                 "--verify", "4", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["bit_exact"] and summary["model_differing"] == 0
    assert summary["accuracy"]["lava"] == summary["accuracy"]["emulator"]
    layers = {layer["layer"]: layer for layer in summary["layers"]}
    assert layers["n5"]["differing_states"] == 0 and layers["n5"]["spikes_lava"] == 0
    assert layers["n2"]["spikes_lava"] > 0


@pytest.mark.lava
def test_nir_delays_verify_bit_exact_in_lava(tmp_path, capsys):
    """The delay graph on digits through `snn-export g.nir --verify`: Lava (DelayDense)
    spike for spike as the emulator and the quantized model."""
    nir.write(tmp_path / "g.nir", delay_graph(64)[0])
    assert main([str(tmp_path / "g.nir"), "--dialect", "nir", "--dt", "1e-3",
                 "--time-steps", "10", "--target", "lava", "--dataset", "digits",
                 "--verify", "3", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["bit_exact"] and summary["model_differing"] == 0
    assert all(layer["spikes_lava"] > 0 for layer in summary["layers"]
               if layer["layer"] in ("lif1", "lif2"))


@pytest.mark.lava
def test_snntorch_rleaky_verifies_bit_exact_in_lava(tmp_path, capsys):
    """An RLeaky network on digits through `snn-export r.nir --verify`: Lava (a Dense from
    the group to itself) spike for spike as the emulator and the quantized model."""
    from snntorch.export_nir import export_to_nir

    net = snntorch_recurrent(2, n_in=64)
    nir.write(tmp_path / "r.nir", export_to_nir(net, torch.zeros(1, 64), ignore_dims=[0]))
    assert main([str(tmp_path / "r.nir"), "--dialect", "snntorch", "--time-steps", "10",
                 "--target", "lava", "--dataset", "digits", "--verify", "3", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["bit_exact"] and summary["model_differing"] == 0
    assert {layer["layer"]: layer["spikes_lava"] for layer in summary["layers"]}["n1_lif"] > 0
