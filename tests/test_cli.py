"""snn-export's command line: outputs, reports and clear errors that leave nothing behind."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from snn_export.cli import main
from snn_export.deploy import netx_hdf5
from snn_export.deploy.lower_graph import lower_graph
from snn_export.export.from_checkpoint import load_model

from .conftest import save_graph_checkpoint


def run(argv, capsys):
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_export_writes_description_and_report(trained, tmp_path, capsys):
    out = tmp_path / "out"
    code, stdout, _ = run([trained, "--target", "lava", "-o", out], capsys)
    assert code == 0
    assert sorted(p.name for p in out.iterdir()) == ["firing_rates.png", "network.net",
                                                     "raster.png", "report.html", "report.md"]
    umask = os.umask(0)
    os.umask(umask)
    assert (out / "network.net").stat().st_mode & 0o777 == 0o666 & ~umask
    report = (out / "report.md").read_text()
    model, ckpt = load_model(trained)
    expected = lower_graph(model.graph, model.tensors(), ckpt["time_steps"])
    (e1, _), (e2, _) = netx_hdf5.chain(expected)
    assert f"| layer1 | LIF | 128 | input (Dense) | 8192 | 64 | 8-bit, e {e1.float_exp} |" in report
    assert f"| layer2 | LIF | 10 | layer1 (Dense) | 1280 | 128 | 8-bit, e {e2.float_exp} |" \
        in report
    assert "input_message_bits=5" in report and report in stdout
    got = netx_hdf5.read(out / "network.net")
    assert got.window == ckpt["time_steps"] == 16 and got.time_steps == 16 + 2  # + depth
    for (es, eg), (gs, gg) in zip(netx_hdf5.chain(expected), netx_hdf5.chain(got)):
        np.testing.assert_array_equal(es.weight, gs.weight)
        np.testing.assert_array_equal(eg.bias, gg.bias)
        assert (eg.params, eg.name, es.name, es.float_exp) == \
            (gg.params, gg.name, gs.name, gs.float_exp)


def test_default_output_folder_and_json(trained, capsys, tmp_path):
    model = tmp_path / "net.pt"
    model.write_bytes(trained.read_bytes())
    code, stdout, _ = run([model, "--target", "lava", "--json"], capsys)
    assert code == 0
    out = tmp_path / "net_lava"
    assert json.loads(stdout)["files"] == [str(out / f) for f in (
        "network.net", "report.md", "report.html", "raster.png", "firing_rates.png")]


def test_evaluate_reports_the_deployed_accuracy_of_the_emulator(trained, tmp_path, capsys):
    """--evaluate runs the exported integer network in the emulator: on the whole test split
    its accuracy is the trainer's quantized accuracy (the same integer computation)."""
    code, stdout, _ = run([trained, "--target", "lava", "-o", tmp_path / "out", "--evaluate",
                           "360", "--json", "-q"], capsys)
    assert code == 0
    evaluation = json.loads(stdout)["evaluation"]
    training = torch.load(trained, weights_only=True)["training"]
    assert evaluation == {"samples": 360,
                          "float_accuracy": training["float_test_accuracy"],
                          "deployed_accuracy": training["quantized_test_accuracy"]}


def _bad_inputs(tmp_path, trained):
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(trained.read_bytes()[:300])
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(b"\x00garbage" * 100)
    pickled = tmp_path / "pickled.pt"
    torch.save({"format": "snn-export-checkpoint", "obj": np.random.default_rng(0)}, pickled)
    wrong = tmp_path / "wrong.pt"
    data = torch.load(trained, weights_only=True)
    data["state_dict"]["layers.0.linear.weight"] = torch.zeros(3, 3)
    torch.save(data, wrong)
    return [
        ([tmp_path / "missing.pt", "--target", "lava"], "missing.pt: no such checkpoint file"),
        ([truncated, "--target", "lava"], "truncated.pt: not a readable PyTorch checkpoint"),
        ([corrupt, "--target", "lava"], "corrupt.pt: not a readable PyTorch checkpoint"),
        ([pickled, "--target", "lava"], "pickled.pt: refused: the file contains pickled Python"),
        ([wrong, "--target", "lava"], "wrong.pt: state_dict does not match the architecture"),
        ([trained, "--target", "loihi9"], "unknown --target 'loihi9'; available: lava"),
        ([trained, "--target", "lava", "--verify", "5000"], "test split has only 360 samples"),
        ([trained, "--target", "lava", "--evaluate", "-1"], "--evaluate N needs N >= 0"),
    ]


def test_bad_input_gives_clear_error_and_no_output(trained, tmp_path, capsys):
    for argv, message in _bad_inputs(tmp_path, trained):
        out = tmp_path / "never"
        code, stdout, stderr = run([*argv, "-o", out], capsys)
        assert code == 1, argv
        assert message in stderr, (message, stderr)
        assert "Traceback" not in stderr
        assert not out.exists()
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]
    assert leftovers == []


def test_usage_errors_exit_1(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["model.pt"])  # --target missing
    assert exc.value.code == 1
    assert "--target" in capsys.readouterr().err


def test_console_scripts_help():
    for script in ("snn-export", "snn-train"):
        exe = Path(sys.executable).parent / script  # installed beside the interpreter
        proc = subprocess.run([exe, "--help"], capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0 and "examples:" in proc.stdout


def test_snn_train_cli_writes_a_loadable_checkpoint(tmp_path):
    from snn_export.train.cli import main as train_main

    path = tmp_path / "m.pt"
    assert train_main(["-q", "--epochs", "1", "--hidden", "16", "--time-steps", "4",
                       "-o", str(path)]) == 0
    model, ckpt = load_model(path)
    assert [n.get("out_features") for n in model.graph.nodes if n.op == "linear"] == [16, 10]
    assert model.graph.input_shape == (64,) and ckpt["time_steps"] == 4
    assert train_main(["-q", "-o", str(tmp_path / "nowhere" / "m.pt")]) == 1


def graph_checkpoint(path, nodes, time_steps=6):
    """A model.pt of a graph model on 8x8 digits-like input."""
    from snn_export.model_graph import ModelGraph

    arch = {"name": "graph", "input": {"shape": [1, 8, 8], "bits": 5, "scale": 1 / 16},
            "nodes": nodes}
    return save_graph_checkpoint(path, ModelGraph.from_dict(arch), time_steps)


LIF = {"tau_mem": 2.0, "threshold": 1.0}
SEW_ADD = [
    {"name": "c1", "op": "conv", "inputs": ["input"], "out_channels": 4, "kernel": 3,
     "padding": 1},
    {"name": "s1", "op": "lif", "inputs": ["c1"], **LIF},
    {"name": "c2", "op": "conv", "inputs": ["s1"], "out_channels": 4, "kernel": 3, "padding": 1},
    {"name": "s2", "op": "lif", "inputs": ["c2"], **LIF},
    {"name": "layer3_shortcut", "op": "add", "inputs": ["s2", "s1"]},
    {"name": "flat", "op": "flatten", "inputs": ["layer3_shortcut"]},
    {"name": "fc", "op": "linear", "inputs": ["flat"], "out_features": 10},
    {"name": "out", "op": "lif", "inputs": ["fc"], **LIF}]


def test_non_compliant_model_is_refused_with_exit_2_and_one_line_per_violation(tmp_path, capsys):
    model = graph_checkpoint(tmp_path / "sew.pt", SEW_ADD)
    out = tmp_path / "out"
    code, stdout, stderr = run([model, "--target", "lava", "-o", out], capsys)
    assert code == 2 and not out.exists()
    assert (f"{model}: layer3_shortcut: ADD join produces values 0..2 "
            "(rule spike-only/graded-join); use OR or AND, or allow graded spikes") in stderr
    assert "not compliant: 1 violation" in stderr


def test_check_mode_writes_junit_and_json(tmp_path, capsys):
    import xml.etree.ElementTree as ET
    model = graph_checkpoint(tmp_path / "sew.pt", SEW_ADD)
    junit = tmp_path / "compliance.xml"
    code, stdout, _ = run([model, "--target", "lava", "--check", "--junit", junit, "--json"],
                          capsys)
    assert code == 2
    report = json.loads(stdout)
    assert not report["compliant"]
    assert [v["rule"] for v in report["violations"]] == ["spike-only/graded-join"]
    failures = ET.parse(junit).getroot().iter("failure")
    assert [f.get("type") for f in failures] == ["spike-only/graded-join"]


def test_check_mode_passes_a_compliant_or_residual_model(tmp_path, capsys):
    nodes = [dict(n) for n in SEW_ADD]
    nodes[4]["op"] = "or"
    model = graph_checkpoint(tmp_path / "orrc.pt", nodes)
    code, stdout, _ = run([model, "--target", "lava", "--check"], capsys)
    assert code == 0 and "compliant" in stdout


def test_allow_unknown_rule_is_an_error(tmp_path, capsys):
    model = graph_checkpoint(tmp_path / "sew.pt", SEW_ADD)
    code, _, stderr = run([model, "--target", "lava", "--allow", "spike-only/nope"], capsys)
    assert code == 1 and "--allow spike-only/nope: unknown rule" in stderr


def test_fewer_steps_than_the_graph_depth_deploy(tmp_path, capsys):
    """4 steps, 4 hops deep: the chip runs 4 + 4 steps."""
    from snn_export.deploy import graph_hdf5

    nodes = [dict(n) for n in SEW_ADD]
    nodes[4]["op"] = "or"
    model = graph_checkpoint(tmp_path / "orrc.pt", nodes, time_steps=4)
    code, _, stderr = run([model, "--target", "lava", "-o", tmp_path / "o"], capsys)
    assert code == 0, stderr
    net = graph_hdf5.read(tmp_path / "o" / "network.h5")
    assert net.depths()["out"] == 4 and net.time_steps == 8 and net.window == 4


def test_allowed_add_join_deploys_as_one_synapse_copy_per_term(tmp_path, capsys):
    from snn_export.deploy import graph_hdf5

    model = graph_checkpoint(tmp_path / "sew.pt", SEW_ADD)
    out = tmp_path / "out"
    code, stdout, stderr = run([model, "--target", "lava", "-o", out,
                                "--allow", "spike-only/graded-join"], capsys)
    assert code == 0, stderr
    net = graph_hdf5.read(out / "network.h5")
    into_out = sorted((s.name, s.source, s.delays is not None and int(s.delays.max()))
                      for s in net.synapses if s.target == "out")
    assert into_out == [("out.bias", "bias_source", 2), ("out.fc.0_s2", "s2", False),
                        ("out.fc.1_s1", "s1", 1)]


def test_outputs_that_cannot_be_written_fail_first(trained, tmp_path, capsys):
    """-o naming a file or a path under one, --junit naming a folder or a path under a file,
    a place nothing can be made: one line naming the path, before any work, nothing
    written (``/proc`` takes no new files, even for root)."""
    a_file = tmp_path / "a_file"
    a_file.write_text("keep")
    cases = [(["-o", a_file], f"{a_file}: is a file; name a folder"),
             (["-o", a_file / "sub"], f"{a_file / 'sub'}: {a_file} is a file"),
             (["-o", "/proc/snn_out"], "/proc/snn_out: cannot write there"),
             (["--check", "--junit", tmp_path], f"{tmp_path}: is a folder; name the JUnit"),
             (["--check", "--junit", a_file / "x.xml"], f"{a_file} is not a folder"),
             (["--check", "--junit", "/proc/x.xml"], "/proc/x.xml: cannot write there")]
    for extra, message in cases:
        code, _, stderr = run([trained, "--target", "lava", *extra], capsys)
        assert code == 1 and stderr.count("\n") == 1 and message in stderr, (extra, stderr)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file"]
    assert a_file.read_text() == "keep"
