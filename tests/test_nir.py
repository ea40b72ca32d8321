"""NIR out (``--target nir``): real nir files, read back with nir's type checking, and the
deployed network rebuilt from them bit for bit."""
import contextlib
import io
import json

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from snn_export import checkpoint
from snn_export import fixed_point as fp
from snn_export.cli import main
from snn_export.deploy.lower_graph import lower_graph
from snn_export.errors import SnnExportError
from snn_export.graph import INPUT, Conv, Dense, Network, Neurons, Role, Sparse
from snn_export.sim import emulator
from snn_export.train.graph_model import GraphSNN
from snn_export.train.trainer import TrainConfig, train

from .strategies import input_specs, inputs, networks
from .test_graph_deploy import graphs

nir = pytest.importorskip("nir")
from snn_export.deploy import from_nir, to_nir  # noqa: E402  (needs nir)


def assert_same_run(a: Network, b: Network, x) -> int:
    """Emulator spikes and final states of every group are identical; returns the spikes."""
    ra, rb = emulator.run(a, x), emulator.run(b, x)
    assert ra.spikes.keys() == rb.spikes.keys()
    for name in ra.spikes:
        np.testing.assert_array_equal(ra.spikes[name], rb.spikes[name], err_msg=name)
        for reg in ra.states[name]:
            np.testing.assert_array_equal(ra.states[name][reg], rb.states[name][reg],
                                          err_msg=f"{name}.{reg}")
    return sum(int(s.sum()) for s in ra.spikes.values())


def round_trip(net: Network, path) -> Network:
    to_nir.write(net, path)
    nir.read(path, type_check=True)  # nir itself accepts the file
    return from_nir.read(path)


@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
@given(case=graphs(), data=st.data())
def test_every_lowered_graph_round_trips_bit_exact(case, data, tmp_path_factory):
    graph, seed = case
    torch.manual_seed(seed)
    model = GraphSNN(graph).eval()
    net = lower_graph(graph, model.tensors(), 3)
    back = round_trip(net, tmp_path_factory.mktemp("nir") / "g.nir")
    assert [(g.name, g.role) for g in back.neurons] == [(g.name, g.role) for g in net.neurons]
    x = data.draw(inputs((net.input_shape, net.input_bits, net.time_steps), samples=4))
    assert_same_run(net, back, x)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_random_networks_round_trip_or_are_refused_by_name(data, tmp_path_factory):
    """Random networks (LIF, LIFReset, ATRLIF; Dense, DelayDense, Sparse, DelaySparse, Conv,
    recurrence): either the NIR round trip is exact, or the refusal names the synapse or
    group NIR cannot express (per-synapse delays that differ, reshaping Dense groups, ...)."""
    spec = data.draw(input_specs())
    net = data.draw(networks(spec))
    path = tmp_path_factory.mktemp("nir") / "r.nir"
    try:
        back = round_trip(net, path)
    except SnnExportError as exc:
        names = [s.name for s in net.synapses] + [g.name for g in net.neurons]
        assert any(str(exc).startswith(f"{kind} {n}:") for n in names
                   for kind in ("synapses", "neurons")), exc
        assert not path.exists()
        event("refused")
        return
    event("round trip")
    assert_same_run(net, back, data.draw(inputs(spec)))


def delayed_sparse(a_delays: int | None) -> Network:
    """Two groups fed by Sparse groups: ``a.s`` from the input (one delay for all its
    synapses, or per-synapse delays when ``a_delays`` is None), ``b.s`` with delays 0."""
    rng = np.random.default_rng(5)
    lif = fp.LIFParams(vth=40, du=2048, dv=1024)
    r1, c1 = np.nonzero(rng.random((5, 6)) < 0.6)
    r2, c2 = np.nonzero(rng.random((4, 5)) < 0.6)
    d1 = rng.integers(0, 9, r1.size) if a_delays is None else np.full(r1.size, a_delays)
    return Network((6,), 4, 16, [Neurons("a", (5,), lif, np.zeros(5, int)),
                                 Neurons("b", (4,), lif, np.zeros(4, int))],
                   [Sparse("a.s", INPUT, "a", r1, c1, rng.integers(-50, 120, r1.size), (5, 6),
                           weight_exp=-1, delays=d1),
                    Sparse("b.s", "a", "b", r2, c2, rng.integers(0, 255, r2.size), (4, 5),
                           delays=np.zeros(r2.size, int))])


def test_a_delayed_sparse_group_round_trips_behind_a_delay_node(tmp_path):
    net = delayed_sparse(a_delays=3)
    graph = to_nir.to_nir(net)[0]
    assert np.allclose(graph.nodes["a.s_delay"].delay, 3 * to_nir.STEP_SECONDS)
    assert "b.s_delay" not in graph.nodes
    back = round_trip(net, tmp_path / "s.nir")
    for s, b in zip(net.synapses, back.synapses):
        assert type(b) is Sparse
        np.testing.assert_array_equal(b.delays, s.delays, err_msg=s.name)
    x = np.random.default_rng(0).integers(0, 16, (4, 6))
    assert assert_same_run(net, back, x) > 0
    with pytest.raises(SnnExportError, match="synapses a.s: delays differ within a target"):
        to_nir.write(delayed_sparse(a_delays=None), tmp_path / "differ.nir")


def test_delays_per_target_neuron_are_a_delay_node_of_those_delays(tmp_path):
    """A Dense group whose delays differ between target neurons (slayer's axonal delays, as
    netx applies them) is a Delay node holding each target's delay, read back exactly."""
    lif = fp.LIFParams(vth=40, du=2048, dv=1024)
    rows = np.array([0, 3, 1, 2])
    net = Network((6,), 2, 12, [Neurons("a", (4,), lif, np.zeros(4, int))],
                  [Dense("a.in", INPUT, "a", np.arange(24).reshape(4, 6) - 10,
                         delays=np.repeat(rows[:, None], 6, axis=1))])
    graph = to_nir.to_nir(net)[0]
    np.testing.assert_allclose(graph.nodes["a.in_delay"].delay, rows * to_nir.STEP_SECONDS)
    back = round_trip(net, tmp_path / "d.nir")
    np.testing.assert_array_equal(back.synapses[0].delays, net.synapses[0].delays)
    x = np.random.default_rng(1).integers(0, 4, (4, 6))
    assert assert_same_run(net, back, x) > 0


def test_version_1_files_read_and_newer_ones_are_refused(tmp_path):
    """Version 2 added Sparse delays; a version 1 file has none, so it reads as before
    (version 3 changed the time unit of the NIR fields only, not the metadata read)."""
    graph = to_nir.to_nir(delayed_sparse(a_delays=0))[0]
    assert graph.metadata["snn_export"]["format_version"] == to_nir.FORMAT_VERSION == 3
    graph.metadata["snn_export"]["format_version"] = 1
    assert from_nir.network(graph, "v1.nir").synapses[0].delays.tolist() == \
        graph.nodes["a.s"].metadata["snn_export"]["delays"].tolist()
    graph.metadata["snn_export"]["format_version"] = 4
    with pytest.raises(SnnExportError, match="v4.nir: .*format_version is 4; this snn-export "
                                             "reads 1..3"):
        from_nir.network(graph, "v4.nir")


def test_neuron_parameters_are_lavas_update_in_nir_units(tmp_path):
    """A CubaLIF Euler step with dt = 1e-4 s (one Loihi step) from the written parameters
    is Loihi's update (in activation units, before rounding): I' = (1 - (du + 1)/4096) I + a,
    v' = (1 - dv/4096) v + I' + bias; spike when v > vth."""
    p = fp.LIFParams(vth=300, du=1023, dv=512)
    group = Neurons("n", (3,), p, np.array([5, -7, 0]))
    net = Network((2,), 4, 5, [group], [])
    node = to_nir.to_nir(net)[0].nodes["n"]
    assert isinstance(node, nir.CubaLIF)
    i, v, a = np.array([10.0, -3.0, 0.0]), np.array([40.0, 2.0, -8.0]), np.array([7.0, 1.0, 2.0])
    dt = to_nir.STEP_SECONDS
    i_next = i + dt * (-i + node.w_in * a) / node.tau_syn
    v_next = v + dt * (node.v_leak - v + node.r * i_next) / node.tau_mem
    np.testing.assert_allclose(i_next, (1 - (p.du + 1) / 4096) * i + a)
    np.testing.assert_allclose(v_next, (1 - p.dv / 4096) * v + i_next + group.bias)
    assert np.all(node.v_threshold == p.vth) and np.all(node.v_reset == 0)


def test_a_file_without_snn_export_metadata_is_refused_with_its_name(tmp_path):
    graph = nir.NIRGraph.from_list(nir.Input(input_type={"input": np.array([2])}),
                                   nir.Linear(weight=np.ones((3, 2))),
                                   nir.Output(output_type={"output": np.array([3])}))
    nir.write(tmp_path / "other.nir", graph)
    with pytest.raises(SnnExportError, match="other.nir: not written by snn-export"):
        from_nir.read(tmp_path / "other.nir")
    with pytest.raises(SnnExportError, match="missing.nir: no such NIR file"):
        from_nir.read(tmp_path / "missing.nir")


def test_a_kernel_nir_cannot_type_is_refused_and_nothing_is_written(tmp_path):
    group = Neurons("g", (1, 3, 2), fp.LIFParams(vth=1, du=4095, dv=4096), np.zeros(6, int))
    conv = Conv("c", "input", "g", np.ones((1, 1, 2, 1), int))
    net = Network((1, 4, 2), 1, 4, [group], [conv])
    net.validate()
    with pytest.raises(SnnExportError, match="synapses c: nir 1.0.8's Conv2d takes only square"):
        to_nir.write(net, tmp_path / "c.nir")
    assert list(tmp_path.iterdir()) == []


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """The demo's dense chain and a BIASNN-style OR-residual network with ALIF masks."""
    folder = tmp_path_factory.mktemp("nir_models")
    paths = {}
    for name, config in {
            "dense": TrainConfig(hidden=(16,), time_steps=8, epochs=1),
            "biasnn": TrainConfig(arch="biasnn_resnet", hidden=(4, 8), head="flatten",
                                  time_steps=16, epochs=1, quantization_aware=False)}.items():
        paths[name] = folder / f"{name}.pt"
        checkpoint.save(train(config, progress=False), paths[name])
    return paths


def test_integrator_readouts_are_cubali_or_i_nodes_and_round_trip(tmp_path):
    """An integrator readout is a CubaLI (leaky) or an I (no leak, current memory or bias:
    one step adds r dt x = x), and reads back bit for bit, its role kept."""
    for dv, kind in ((512, "CubaLI"), (0, "I")):
        p = fp.LIFParams(vth=fp.VTH_MAX, du=fp.DECAY_UNITY - 1, dv=dv)
        net = Network((4,), 1, 6, [Neurons("out", (3,), p, np.zeros(3, dtype=np.int64),
                                           role=Role("integrator"))],
                      [Dense("out.in", INPUT, "out", np.arange(12).reshape(3, 4) - 6)])
        graph = to_nir.to_nir(net)[0]
        node = graph.nodes["out"]
        assert type(node).__name__ == kind
        if kind == "I":
            np.testing.assert_allclose(node.r * to_nir.STEP_SECONDS, 1.0)
        back = round_trip(net, tmp_path / f"{kind}.nir")
        assert back.group("out").role.kind == "integrator"
        x = np.random.default_rng(0).integers(0, 2, (3, 4))
        np.testing.assert_array_equal(emulator.run(back, x).states["out"]["v"],
                                      emulator.run(net, x).states["out"]["v"])


@pytest.mark.parametrize("name", ["dense", "biasnn"])
def test_target_nir_writes_a_typed_graph_with_its_conventions(trained, name, tmp_path, capsys):
    out = tmp_path / "out"
    assert main([str(trained[name]), "--target", "nir", "-o", str(out), "--json", "-q"]) == 0
    captured = capsys.readouterr()
    summary = json.loads(captured.out)
    assert summary["files"][:2] == [str(out / "network.nir"), str(out / "report.md")]
    graph = nir.read(out / "network.nir", type_check=True)
    meta = graph.metadata["snn_export"]
    assert meta["dt"] == 1e-4 and meta["synapse_delay_steps"] == 1
    kinds = {type(n).__name__ for n in graph.nodes.values()}
    assert {"Input", "Output", "CubaLIF", "Linear"} <= kinds
    if name == "biasnn":
        assert "Conv2d" in kinds and "Flatten" in kinds
        alif = [g for g, n in graph.nodes.items()
                if n.metadata.get("snn_export", {}).get("kind") == "atrlif"]
        assert alif and len(summary["warnings"]) == len(alif)
        for group in alif:
            assert f"snn-export: warning: {group}: adaptive threshold" in captured.err
    else:
        assert "warnings" not in summary
    back = from_nir.read(out / "network.nir")
    x = np.random.default_rng(0).integers(0, 2**back.input_bits, (5, *back.input_shape))
    # the same network the lava target writes
    lava_out = tmp_path / "lava"
    assert main([str(trained[name]), "--target", "lava", "-o", str(lava_out), "-q",
                 "--json"]) == 0
    capsys.readouterr()
    from snn_export.deploy import graph_hdf5, netx_hdf5
    deployed = graph_hdf5.read(lava_out / "network.h5") if name == "biasnn" else \
        netx_hdf5.read(lava_out / "network.net")
    assert assert_same_run(deployed, back, x) > 0


@pytest.mark.lava
@pytest.mark.slow
def test_a_nir_file_runs_bit_exact_in_lava(trained, tmp_path, capsys):
    code = main([str(trained["biasnn"]), "--target", "nir", "-o", str(tmp_path / "out"),
                 "--verify", "3", "--json", "-q"])
    summary = json.loads(capsys.readouterr().out)
    assert code == 0 and summary["bit_exact"] and summary["model_differing"] == 0


def test_snntorch_runs_the_written_chain_as_the_emulator_does(trained, tmp_path):
    """Export to snnTorch: its own ``import_from_nir`` (which assumes dt = 1e-4 s, the
    written step) runs the chain's network.nir, and its spikes agree with the emulator's on
    at least 99%, each layer one step per hop later in the emulator (as for norse)."""
    pytest.importorskip("snntorch")
    from snntorch.import_nir import import_from_nir

    out = tmp_path / "out"
    assert main([str(trained["dense"]), "--target", "nir", "-o", str(out), "-q"]) == 0
    graph = nir.read(out / "network.nir", type_check=False)
    net = from_nir.network(graph, "network.nir")
    with contextlib.redirect_stdout(io.StringIO()):  # (its notes on the weight scaling)
        model = import_from_nir(graph)
    x = np.random.default_rng(2).integers(0, 2**net.input_bits, (40, *net.input_shape))
    theirs = {g.name: [] for g in net.neurons}
    hooks = [getattr(model, name).register_forward_hook(
        lambda _m, _a, o, name=name: theirs[name].append(o[0] > 0 if isinstance(o, tuple)
                                                         else o > 0)) for name in theirs]
    frames = torch.as_tensor(x.reshape(len(x), -1), dtype=torch.float32)
    with torch.no_grad():
        for _ in range(net.time_steps):
            model(frames)
    for h in hooks:
        h.remove()
    emu = emulator.run(net, x)
    differing = total = 0
    for name in theirs:
        depth = net.depths()[name]
        ours = emu.spikes[name][:, depth:].astype(bool)
        snntorch_spikes = torch.stack(theirs[name], 1)[:, :net.time_steps - depth].numpy()
        differing += int((ours != snntorch_spikes).sum())
        total += int(ours.sum())
    assert total > 0 and differing <= 0.01 * total, (differing, total)


def test_norse_runs_the_written_chain_as_the_emulator_does(trained, tmp_path):
    """Export to another tool: norse 1.1's own ``from_nir`` (at dt = 1e-4 s, one step) runs
    the chain's network.nir, and its spikes agree with the emulator's on at least 99% (each
    layer compared one step per hop later in the emulator: norse computes a layer's spikes in
    the step its input arrives; the demo's chain agrees on every spike). A network with
    Delay nodes (deeper biases, aligned branches) is beyond norse 1.1, which has none."""
    nt = pytest.importorskip("norse.torch")
    out = tmp_path / "out"
    assert main([str(trained["dense"]), "--target", "nir", "-o", str(out), "-q"]) == 0
    graph = nir.read(out / "network.nir", type_check=False)
    net = from_nir.network(graph, "network.nir")
    x = np.random.default_rng(1).integers(0, 2**net.input_bits, (40, *net.input_shape))
    emu = emulator.run(net, x)
    theirs = {g.name: [] for g in net.neurons}
    model = nt.from_nir(graph, dt=to_nir.STEP_SECONDS)
    hooks = [getattr(model, name).register_forward_hook(
        lambda _m, _a, o, name=name: theirs[name].append(o[0] > 0)) for name in theirs]
    state, frames = None, torch.as_tensor(x.reshape(len(x), -1), dtype=torch.float32)
    with torch.no_grad():
        for _ in range(net.time_steps):
            _, state = model(frames, state)
    for h in hooks:
        h.remove()
    differing = total = 0
    for name in theirs:
        depth = net.depths()[name]
        steps = net.time_steps - depth
        ours = emu.spikes[name][:, depth:].astype(bool)
        norse_spikes = torch.stack(theirs[name], 1)[:, :steps].numpy()
        differing += int((ours != norse_spikes).sum())
        total += int(ours.sum())
    assert total > 0 and differing <= 0.01 * total, (differing, total)
