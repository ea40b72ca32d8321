"""The deployment report: every number in it recomputed independently from the written
network and the emulator, and its figures checked as images."""
import base64
import re

import numpy as np
import pytest
from matplotlib.image import imread

from snn_export import checkpoint, metrics
from snn_export.cli import main
from snn_export.deploy import compliance, graph_hdf5, netx_hdf5
from snn_export.export.from_checkpoint import load_model
from snn_export.sim import emulator, plots
from snn_export.sim.report import SAMPLES
from snn_export.train import datasets
from snn_export.train.trainer import TrainConfig, train

from .test_cli import SEW_ADD, graph_checkpoint


def rows(report: str) -> dict[str, list[str]]:
    """The Layers table: group -> its cells."""
    table = report.split("## Layers")[1].split("\n\n")[1]
    cells = [[c.strip() for c in line.strip("|").split("|")] for line in table.splitlines()]
    header = cells[0]
    assert header == ["group", "neuron", "shape", "inputs", "synapses", "fan-in",
                      "weights (bits, e)", "threshold", "decays", "delay", "firing rate", "ACs",
                      "MACs", "compliance"]
    return {c[0]: dict(zip(header, c)) for c in cells[2:]}


def image(path) -> np.ndarray:
    pixels = imread(path)
    assert pixels.shape[0] >= 200 and pixels.shape[1] >= 400
    assert pixels[..., :3].std() > 0.05  # not blank
    return pixels


def activity(net, name):
    data = datasets.load(name)
    return emulator.run(net, emulator.as_frames(net, data.x_test[:SAMPLES]))


def test_chain_report_states_what_the_network_and_emulator_say(trained, tmp_path):
    out = tmp_path / "out"
    assert main([str(trained), "--target", "lava", "-o", str(out), "-q"]) == 0
    report = (out / "report.md").read_text()
    net = netx_hdf5.read(out / "network.net")
    run = activity(net, "digits")
    rates = {g.name: float(run.spikes[g.name].mean()) for g in net.neurons}
    table = rows(report)
    assert list(table) == ["layer1", "layer2"]
    ops = {o.layer: o for o in metrics.network_ops(net, rates)}
    for group in net.neurons:
        (syn,) = net.incoming(group.name)
        row = table[group.name]
        assert row["synapses"] == str(syn.weight.size)
        assert row["fan-in"] == str(syn.weight.shape[1])
        assert row["weights (bits, e)"] == f"8-bit, e {syn.float_exp}"
        assert row["threshold"] == str(group.params.vth)
        assert row["decays"] == f"du {group.params.du}, dv {group.params.dv}"
        assert row["firing rate"] == f"{rates[group.name]:.4f}"
        assert row["compliance"] == "ok"
    assert table["layer1"]["MACs"] == f"{net.time_steps * 64 * 128:,}"
    assert table["layer1"]["ACs"] == "0"
    acs = net.time_steps * 128 * 10 * rates["layer1"]
    assert table["layer2"]["ACs"] == f"{acs:,.0f}" and table["layer2"]["MACs"] == "0"
    energy = metrics.energy_pj(list(ops.values())) * 1e-6
    assert f"- {energy:.4f} uJ per sample: seed 004's Eq. 11" in report
    assert "- 138 neurons, 9,472 stored synapses" in report
    assert "- system: one Loihi 2 chip (--system chip): 1 x 128 cores" in report
    assert "- needs 2 cores on 1 chip: fits" in report
    assert "| layer1 | 8.0 | 1 | 1 |\n| layer2 | 1.2 | 1 | 1 |" in report
    assert f"on {SAMPLES} test samples" in report
    assert "![spike raster](raster.png)" in report and "masks.png" not in report
    image(out / "raster.png")
    image(out / "firing_rates.png")
    assert not (out / "masks.png").exists()
    html = re.sub(r">\s+<", "><", (out / "report.html").read_text())
    assert "<td>layer2</td><td>LIF</td><td>10</td><td>layer1 (Dense)</td>" in html
    assert '<h2>Loihi 2 resources (estimate)</h2>' in html and "](" not in html
    embedded = re.findall(r'<img src="data:image/png;base64,([^"]+)" alt="([^"]+)"', html)
    assert [(base64.b64decode(data), alt) for data, alt in embedded] == [
        ((out / "raster.png").read_bytes(), "spike raster"),
        ((out / "firing_rates.png").read_bytes(), "firing rates")]


@pytest.fixture(scope="module")
def attention(tmp_path_factory):
    """An OR-residual SynA ResNet with binary attention masks (one short epoch)."""
    path = tmp_path_factory.mktemp("attention") / "syna.pt"
    checkpoint.save(train(TrainConfig(arch="syna_resnet", hidden=(4, 8), time_steps=16,
                                      epochs=1), progress=False), path)
    return path


def test_attention_report_shows_the_masks(attention, tmp_path):
    out = tmp_path / "out"
    assert main([str(attention), "--target", "lava", "-o", str(out), "-q"]) == 0
    report = (out / "report.md").read_text()
    net = graph_hdf5.read(out / "network.h5")
    model, _ = load_model(attention)
    # the masks are exactly the graph's gating inputs: the second input of AND / AND NOT
    gating = [n.inputs[1] for n in model.graph.nodes if n.op in ("and", "andnot")]
    assert sorted(net.masks()) == sorted(gating) and gating
    listed = re.search(r"Attention masks \((.*?)\)", report).group(1)
    assert listed == ", ".join(f"`{m}`" for m in net.masks())
    table = rows(report)
    assert list(table) == [g.name for g in net.neurons]
    # shortcuts and masks meet the backbone through delayed synapses, not relays
    assert not [g for g in net.neurons if g.role.kind == "relay"]
    assert "- relays: none (every alignment delay is on a synapse)" in report
    delayed = {}
    for syn in net.synapses:
        if getattr(syn, "delays", None) is not None:
            delayed[syn.target] = max(delayed.get(syn.target, 0), int(syn.delays.max()))
    assert delayed and all(table[g]["delay"] == str(d) for g, d in delayed.items())
    # biases: synapses from the always-on bias_source
    assert table["bias_source"]["neuron"] == "always on" and table["bias_source"]["inputs"] == ""
    assert "bias_source (Dense)" in table[gating[0]]["inputs"]
    joins = [n.name for n in model.graph.nodes if n.op in ("or", "and", "andnot")]
    assert all(table[g]["neuron"] == "gate" for g in joins)
    pixels = image(out / "masks.png")
    assert pixels.shape[0] > 400  # three samples, one row each
    image(out / "raster.png")


def test_mask_heatmaps_are_counts_normalised_per_map():
    counts = np.array([0, 2, 4, 8] * 2)  # two channels of 2x2
    heat = plots._heatmap(counts, (2, 2, 2))
    np.testing.assert_allclose(heat, [[0, 0.25], [0.5, 1]])
    strip = plots._heatmap(np.array([0, 3, 6]), (3, 1, 1))
    np.testing.assert_allclose(strip, [[0, 0.5, 1]])
    assert plots._heatmap(np.zeros(4), (1, 2, 2)).max() == 0  # a silent mask stays 0


def test_allowed_violations_are_listed_in_the_report(tmp_path):
    model = graph_checkpoint(tmp_path / "sew.pt", SEW_ADD)
    out = tmp_path / "out"
    assert main([str(model), "--target", "lava", "-o", str(out), "-q",
                 "--allow", "spike-only/graded-join"]) == 0
    report = (out / "report.md").read_text()
    assert "Accepted with `--allow`" in report
    assert "- `spike-only/graded-join` at `layer3_shortcut`:" in report
    allowed = [v for v in compliance.check_graph(load_model(model)[0].graph)]
    assert [v.layer for v in allowed] == ["layer3_shortcut"]


def test_report_without_samples_says_why(tmp_path):
    nir = pytest.importorskip("nir")
    from .test_nir_import import write_lif_graph
    write_lif_graph(tmp_path / "g.nir")
    assert main([str(tmp_path / "g.nir"), "--target", "lava", "--dialect", "norse",
                 "--time-steps", "8", "-q"]) == 0
    report = (tmp_path / "g_lava" / "report.md").read_text()
    assert "Not measured: no --dataset or --input given" in report
    assert "| firing rate |" in report and "| - | - | - |" in report
    assert not (tmp_path / "g_lava" / "raster.png").exists()
    assert nir
    assert list(rows(report)) == ["lif"]
