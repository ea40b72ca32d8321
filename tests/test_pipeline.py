"""The pipeline API (``snn_export.pipeline``): the steps the CLI runs, called directly."""
import numpy as np
import pytest

from snn_export import pipeline
from snn_export.deploy import formats
from snn_export.errors import NotCompliant, SnnExportError
from snn_export.readout import predict
from snn_export.sim import emulator

from .test_cli import SEW_ADD, graph_checkpoint


def test_load_check_write_evaluate_report(trained, tmp_path):
    source = pipeline.load(trained)
    assert source.model.graph.readout == "layer2" and source.network is None
    checked = pipeline.check(source)
    assert checked.compliant and checked.violations == [] and checked.network is not None
    deployment = checked.deployment()
    written = pipeline.write(deployment, tmp_path / "out")
    assert written.format == "netx" and written.description == tmp_path / "out" / "network.net"
    assert formats.read(written.description).neurons[1].name == "layer2"
    evaluation = pipeline.evaluate(deployment, 40)
    x, y = source.samples(40)
    emulated = predict(emulator.run(deployment.network, x).spikes["layer2"])
    assert evaluation.samples == 40
    assert evaluation.deployed_accuracy == pytest.approx(float(np.mean(emulated == y)))
    files = pipeline.report(written, evaluation)
    assert {f.name for f in files} >= {"report.md", "report.html", "raster.png"}
    assert "evaluated 40 test samples" in (tmp_path / "out" / "report.md").read_text()


@pytest.mark.lava
def test_verify_through_the_api(trained, tmp_path):
    written = pipeline.write(pipeline.lower(pipeline.load(trained)), tmp_path)
    result = pipeline.verify(written, 3)
    assert result.bit_exact and result.samples == 3 and result.model_differing == 0


def test_not_compliant_is_an_exception_with_exit_status_2(tmp_path):
    source = pipeline.load(graph_checkpoint(tmp_path / "sew.pt", SEW_ADD))
    checked = pipeline.check(source)
    assert not checked.compliant and checked.network is None
    assert [v.rule for v in checked.violations] == ["spike-only/graded-join"]
    with pytest.raises(NotCompliant) as caught:
        checked.deployment()
    assert caught.value.exit_code == 2 and caught.value.violations == checked.violations
    with pytest.raises(NotCompliant, match="layer3_shortcut: ADD join"):
        pipeline.lower(source)
    allowed = pipeline.lower(source, allow=["spike-only/graded-join"])
    assert [v.rule for v in allowed.allowed] == ["spike-only/graded-join"]
    written = pipeline.write(allowed, tmp_path / "lava")
    assert written.format == "graph" and written.description.name == "network.h5"
    back = formats.read(written.description)
    assert [g.name for g in back.neurons] == [g.name for g in allowed.network.neurons]


def test_nir_target_writes_and_reads_back_through_the_formats_table(tmp_path):
    pytest.importorskip("nir")
    source = pipeline.load(graph_checkpoint(tmp_path / "sew.pt", SEW_ADD))
    allowed = pipeline.lower(source, allow=["spike-only/graded-join"])
    nir = pipeline.write(allowed, tmp_path / "nir", target="nir")
    assert nir.format == "nir" and nir.description.name == "network.nir"
    back = formats.read(nir.description)
    assert [(g.name, g.role) for g in back.neurons] == \
        [(g.name, g.role) for g in allowed.network.neurons]


def test_bad_requests_name_what_is_wrong(trained, tmp_path):
    source = pipeline.load(trained)
    with pytest.raises(SnnExportError, match="--verify 5000: the digits test split has only"):
        source.samples(5000, "--verify")
    with pytest.raises(SnnExportError, match="--dialect is for NIR input"):
        pipeline.load(trained, dialect="norse")
    with pytest.raises(SnnExportError, match="--allow spike-only/nope: unknown rule"):
        pipeline.check(source, allow=["spike-only/nope"])
    with pytest.raises(SnnExportError, match="unknown target 'loihi9'"):
        pipeline.write(pipeline.lower(source), tmp_path, target="loihi9")
    with pytest.raises(SnnExportError, match=r"unknown suffix '\.txt'"):
        formats.read(tmp_path / "network.txt")
    assert not any(tmp_path.iterdir())
