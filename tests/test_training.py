"""Training: the quantization-aware forward is the deployed integer computation, exactly."""
import dataclasses

import numpy as np
import pytest
import torch

from snn_export.deploy.lower_graph import lower_graph
from snn_export.export.from_checkpoint import load_model
from snn_export.model_graph import dense_chain
from snn_export.sim import emulator
from snn_export.sim.verify import differing_from_model
from snn_export.train import datasets
from snn_export.train.graph_model import GraphSNN
from snn_export.train.trainer import TrainConfig, config_from, evaluate, train


def chain(sizes, input_scale, tau_mem=2.0, tau_syn=None):
    """A Dense/LIF chain model (``snn-train --arch dense``), digits' 5-bit input."""
    return GraphSNN(dense_chain(sizes, 5, input_scale, {"tau_mem": tau_mem, "tau_syn": tau_syn,
                                                        "threshold": 1.0}))


@pytest.mark.parametrize("seed, tau_syn", [(0, None), (1, 3.0), (2, None)])
def test_quantized_forward_equals_emulator(seed, tau_syn):
    torch.manual_seed(seed)
    data = datasets.digits()
    model = chain([64, 48, 10], data.input_scale, tau_syn=tau_syn)
    model.quantized_mode = True
    for name, p in model.named_parameters():  # livelier than the default init: many spikes
        if name.endswith("weight"):
            torch.nn.init.normal_(p, 0.0, 0.4)
    x = data.x_test[:100]
    with torch.no_grad():
        trained_spikes = model(torch.from_numpy(x), 12)
    net = lower_graph(model.graph, model.tensors(), 12)
    emu = emulator.run(net, x)
    assert list(emu.spikes) == ["layer1", "layer2"]
    assert sum(int(s.sum()) for s in emu.spikes.values()) > 1000
    assert differing_from_model(net, emu, trained_spikes) == 0


def test_standard_timing_in_training_and_one_step_per_hop_on_the_chip():
    """Trained: every layer spikes in the step its input does. Deployed: layer k first sees
    the input at step k + 1, and the chip runs the 4 steps plus the readout's depth, 2."""
    model = chain([1, 1, 1], 1.0, tau_mem=1.0)
    with torch.no_grad():
        for p in model.parameters():
            p.fill_(2.0)
    for quantized in (False, True):
        model.quantized_mode = quantized
        with torch.no_grad():
            s1, s2 = model(torch.ones(1, 1, dtype=torch.int64), 4).values()
        assert s1[0, :, 0].tolist() == s2[0, :, 0].tolist() == [1, 1, 1, 1]
    deployed = emulator.run(lower_graph(model.graph, model.tensors(), 4),
                            np.ones((1, 1), dtype=np.int64)).spikes
    assert deployed["layer1"][0, :, 0].tolist() == [0, 1, 1, 1, 1, 1]
    assert deployed["layer2"][0, :, 0].tolist() == [0, 0, 1, 1, 1, 1]


def test_gradients_reach_every_parameter_in_both_modes():
    torch.manual_seed(0)
    model = chain([64, 32, 10], 1 / 16)
    x = torch.from_numpy(datasets.digits().x_train[:32])
    for quantized in (False, True):
        model.quantized_mode = quantized
        model.zero_grad()
        model.output(x, 8).sum().backward()
        for name, p in model.named_parameters():
            assert p.grad is not None and torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0, name


@pytest.mark.parametrize("arch", ["syna_resnet", "syna_s_resnet", "syna_resnet_published",
                                  "biasnn_resnet", "biasnn_published", "ms_resnet"])
def test_resnet_depth_is_configurable(arch):
    from snn_export.train.trainer import build

    model, _ = build(TrainConfig(arch=arch, hidden=(4, 8), blocks=2, time_steps=30,
                                 quantization_aware=False),
                     datasets.digits())
    names = {n.name for n in model.graph.nodes}
    assert {"s1b1", "s1b2", "s2b1", "s2b2"} <= names and "s1b3" not in names


def test_blocks_needs_a_resnet():
    from snn_export.train.trainer import build

    with pytest.raises(ValueError, match="attention_net has no residual stages"):
        build(TrainConfig(arch="attention_net", hidden=(4,), blocks=2), datasets.digits())


def test_seed_networks_take_the_papers_widths_and_the_datasets_layout():
    """Without --hidden, the architecture's default widths (dense: 128; Table IX: 64 ...
    512); the Table IX networks take their layout from the dataset's name; resnet18's
    layout is fixed (no --blocks)."""
    from snn_export.train.trainer import build

    digits = datasets.digits()
    dense, _ = build(TrainConfig(), digits)
    assert dense.graph.node("fc1").get("out_features") == 128
    table, _ = build(TrainConfig(arch="orrc_table9", time_steps=20), digits)
    assert table.graph.node("s3b1_a_conv").get("out_channels") == 512
    assert not any(n.op == "maxpool" for n in table.graph.nodes)
    gesture, arch = build(TrainConfig(arch="syna_table9", dataset="dvs_gesture", time_steps=30,
                                      hidden=(2, 4, 4, 4)), digits)
    assert gesture.graph.node("stem_conv").get("kernel") == 7
    assert [n["op"] for n in arch["nodes"]].count("maxpool") == 1
    with pytest.raises(ValueError, match="resnet18 has no residual stages"):
        build(TrainConfig(arch="resnet18", hidden=(2, 4, 4, 4), blocks=2), digits)


def test_shift_augmentation_translates_images():
    from snn_export.train.trainer import _shifted

    data = datasets.digits()
    idx = np.arange(40)
    moved = _shifted(data, idx, 1, np.random.default_rng(0)).reshape(40, 8, 8)
    originals = data.x_train[idx].reshape(40, 8, 8)
    padded = np.pad(originals, ((0, 0), (1, 1), (1, 1)))
    for k in range(40):  # moved by at most one pixel each way, zeros filling in
        assert any(np.array_equal(moved[k], padded[k, 1 - dy:9 - dy, 1 - dx:9 - dx])
                   for dy in (-1, 0, 1) for dx in (-1, 0, 1)), k
    assert sum(not np.array_equal(m, o) for m, o in zip(moved, originals)) > 25  # 8 in 9 move
    assert np.array_equal(_shifted(data, idx, 0, None), data.x_train[idx])
    with pytest.raises(ValueError, match="moving_bars is not one"):
        _shifted(datasets.moving_bars(), idx, 1, np.random.default_rng(0))


def test_training_is_deterministic_and_learns():
    a = train(TrainConfig(epochs=2, hidden=(32,), time_steps=8, seed=5), progress=False)
    b = train(TrainConfig(epochs=2, hidden=(32,), time_steps=8, seed=5), progress=False)
    for k in a["state_dict"]:
        assert torch.equal(a["state_dict"][k], b["state_dict"][k])
    assert a["training"]["quantized_test_accuracy"] > 0.5


def test_trained_checkpoint_reaches_90_percent(trained):
    model, ckpt = load_model(trained)
    data = datasets.digits()
    acc, rates = evaluate(model, data.x_test, data.y_test, ckpt["time_steps"], quantized=False)
    assert acc >= 0.90 and set(rates) == {"layer1", "layer2"}
    assert all(0 < r < 1 for r in rates.values())
    assert ckpt["training"]["float_test_accuracy"] >= 0.90


def test_graph_training_reports_test_metrics():
    """Firing rates of every spiking node and synaptic operations on the test set."""
    from snn_export.model_graph import ModelGraph

    ckpt = train(TrainConfig(arch="syna_resnet", hidden=(4, 8), epochs=1, time_steps=14),
                 progress=False)
    graph = ModelGraph.from_dict(ckpt["architecture"])
    m = ckpt["training"]["test_metrics"]
    spiking = {n.name for n in graph.nodes if graph.kind(n.name) == "spikes"}
    assert set(m["firing_rates"]) == spiking
    assert all(0 <= r <= 1 for r in m["firing_rates"].values())
    assert {o["layer"] for o in m["ops"]} == {n.name for n in graph.nodes
                                              if n.op in ("conv", "linear")}
    assert m["macs"] == 14 * next(o["flops"] for o in m["ops"] if o["source"] == "input")
    assert m["acs"] > 0 and m["energy_uj"] > 0


@pytest.mark.parametrize("model", ["ms_resnet", "ma_attention", "temporal_attention",
                                   "float_multiply", "sew_add"])
def test_published_forms_train_in_float_and_refuse_quantized_mode(model):
    """Graded nodes (membrane shortcuts, sigmoid attention, pooling over time, float
    products) run in float, with gradients into every parameter; quantized mode (the
    deployed forward) refuses all but the ADD of spikes."""
    from snn_export.errors import SnnExportError
    from snn_export.train.graph_model import GraphSNN

    from .test_compliance import NON_COMPLIANT

    graph = NON_COMPLIANT[model][0]()
    net = GraphSNN(graph)
    net.train()
    x = torch.randint(0, 256, (4, *graph.input_shape))
    out = net(x, 8)
    assert set(out) == {n.name for n in graph.nodes if graph.kind(n.name) == "spikes"}
    sum(s.sum() for s in out.values()).backward()
    # a bias right before batch norm cancels out in training mode: no gradient
    cancelled = {f"ops.{n.inputs[0]}.bias" for n in graph.nodes if n.op == "batchnorm"}
    assert all(name in cancelled or (p.grad is not None and p.grad.abs().sum() > 0)
               for name, p in net.named_parameters())
    net.quantized_mode = True
    if model == "sew_add":
        net(x, 8)
    else:
        with pytest.raises(SnnExportError, match="runs only in float"):
            net(x, 8)


def test_published_architecture_needs_float_training():
    with pytest.raises(ValueError, match="ms_resnet is a published, non-deployable form.*--float"):
        train(TrainConfig(arch="ms_resnet", hidden=(4,), epochs=1), progress=False)
    ckpt = train(TrainConfig(arch="syna_resnet_published", hidden=(4, 8), epochs=1,
                             time_steps=8, quantization_aware=False), progress=False)
    t = ckpt["training"]
    assert t["quantized_test_accuracy"] is None and 0 <= t["float_test_accuracy"] <= 1
    macs = {o["layer"]: o["macs"] for o in t["test_metrics"]["ops"]}
    assert macs["s2b1_a_conv"] > 0  # reads the real-valued sum of the MA-scaled features


@pytest.mark.parametrize("optimizer, schedule", [("adam", "cosine"), ("sgd", "step"),
                                                 ("adamw", "constant")])
def test_resumed_training_equals_an_uninterrupted_run(optimizer, schedule, tmp_path):
    from snn_export import checkpoint

    config = TrainConfig(epochs=3, hidden=(16,), time_steps=6, seed=2, optimizer=optimizer,
                         schedule=schedule, float_epochs=1)
    saved = []
    whole = train(config, progress=False, on_epoch=saved.append)
    assert [c["training"]["resume"]["epoch"] for c in saved] == [0, 1]
    checkpoint.save(saved[0], tmp_path / "epoch1.pt")  # loads with weights_only=True
    first = checkpoint.load(tmp_path / "epoch1.pt")
    resumed = train(config_from(first), progress=False, resume=first)
    for k, v in whole["state_dict"].items():
        assert torch.equal(v, resumed["state_dict"][k]), k
    assert resumed["training"]["quantized_test_accuracy"] == \
        whole["training"]["quantized_test_accuracy"]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_a_cuda_run_checkpoints_cpu_tensors_and_resumes_on_the_cpu(tmp_path):
    from snn_export import checkpoint

    config = TrainConfig(arch="orrc_resnet", hidden=(8, 16), head="flatten", epochs=3,
                         float_epochs=2, time_steps=12, device="cuda")
    saved = []
    whole = train(config, progress=False, on_epoch=saved.append)
    tensors = []

    def collect(obj):
        if isinstance(obj, torch.Tensor):
            tensors.append(obj)
        elif isinstance(obj, dict):
            [collect(v) for v in obj.values()]
        elif isinstance(obj, (list, tuple)):
            [collect(v) for v in obj]
    collect(saved[0])
    assert tensors and all(t.device.type == "cpu" for t in tensors)
    checkpoint.save(saved[0], tmp_path / "epoch1.pt")
    first = checkpoint.load(tmp_path / "epoch1.pt")
    resumed = train(dataclasses.replace(config_from(first), device="cpu"), progress=False,
                    resume=first)
    # The same run, finished on the CPU: it learns as the CUDA run did (float rounding differs
    # between devices, so the two agree closely, not bit for bit).
    for run in (whole, resumed):
        assert run["training"]["quantized_test_accuracy"] > 0.8
    assert abs(resumed["training"]["quantized_test_accuracy"]
               - whole["training"]["quantized_test_accuracy"]) < 0.05


def test_snn_train_resume_refuses_a_finished_checkpoint(tmp_path, capsys):
    from snn_export.train.cli import main as train_main

    path = tmp_path / "m.pt"
    assert train_main(["-q", "--epochs", "1", "--hidden", "8", "--time-steps", "4",
                       "-o", str(path)]) == 0
    assert train_main(["-q", "--resume", str(path), "-o", str(path)]) == 1
    assert "no resume state" in capsys.readouterr().err


def write_idx(path, array):
    """An MNIST idx file (big-endian header: magic, dimensions; then uint8 data)."""
    import struct

    array = np.asarray(array, dtype=np.uint8)
    header = struct.pack(">I", 0x800 + array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    path.write_bytes(header + array.tobytes())


def test_folder_datasets_load_torchvision_files_and_name_the_missing_path(tmp_path):
    from snn_export.errors import SnnExportError

    with pytest.raises(SnnExportError, match=f"mnist: not found under {tmp_path}/MNIST/raw.*"
                                             "never downloads"):
        datasets.load("mnist", tmp_path)
    pytest.importorskip("torchvision")  # installed with the lava extra; optional elsewhere
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    images = {"train": rng.integers(0, 256, (12, 28, 28)), "t10k": rng.integers(0, 256, (5, 28, 28))}
    for part, x in images.items():
        write_idx(raw / f"{part}-images-idx3-ubyte", x)
        write_idx(raw / f"{part}-labels-idx1-ubyte", np.arange(len(x)) % 10)
    data = datasets.load("mnist", tmp_path)
    assert data.x_train.shape == (12, 784) and data.image_shape == (1, 28, 28)
    np.testing.assert_array_equal(data.x_test, images["t10k"].reshape(5, -1))
    np.testing.assert_array_equal(data.y_train, np.arange(12) % 10)
    assert data.metadata()["split"]["root"] == str(tmp_path)


@pytest.mark.slow
def test_data_parallel_training_with_torchrun(tmp_path):
    """Two CPU processes (gloo) share every batch; the first writes the checkpoint; their
    weights stay identical."""
    import subprocess
    import sys
    from pathlib import Path

    from snn_export import checkpoint

    torchrun = Path(sys.executable).parent / "torchrun"
    out = tmp_path / "ddp.pt"
    proc = subprocess.run([str(torchrun), "--standalone", "--nproc_per_node", "2", "-m",
                           "snn_export.train.cli", "-q", "--epochs", "3", "--hidden", "32",
                           "--time-steps", "8", "-o", str(out)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.count("float test accuracy") == 1
    ckpt = checkpoint.load(out)
    assert ckpt["training"]["processes"] == 2
    assert ckpt["training"]["quantized_test_accuracy"] > 0.5
    # averaged gradients keep every process's weights identical (each trains on its own
    # half of every batch, so without averaging they would drift apart)
    script = tmp_path / "each_rank.py"
    script.write_text(
        "import os, sys, torch\n"
        "from snn_export.train.trainer import TrainConfig, train\n"
        "ckpt = train(TrainConfig(epochs=1, hidden=(16,), time_steps=6), progress=False)\n"
        "torch.save(ckpt['state_dict'], os.path.join(sys.argv[1], "
        "f\"rank{os.environ['RANK']}.pt\"))\n")
    proc = subprocess.run([str(torchrun), "--standalone", "--nproc_per_node", "2", str(script),
                           str(tmp_path)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    ranks = [torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in (0, 1)]
    single = train(TrainConfig(epochs=1, hidden=(16,), time_steps=6), progress=False)
    for name, weight in ranks[0].items():
        assert torch.equal(weight, ranks[1][name]), name
    assert any(not torch.equal(w, single["state_dict"][k]) for k, w in ranks[0].items())


def test_train_cli_json_and_usage_errors(tmp_path, capsys):
    """--json prints the checkpoint's path and its training record; a usage error exits 1
    (2 and 3 mean non-compliant and mismatch across the tools), naming the option."""
    import json

    from snn_export import checkpoint
    from snn_export.train.cli import main

    out = tmp_path / "m.pt"
    assert main(["--epochs", "1", "--hidden", "16", "--time-steps", "6", "--json",
                 "-o", str(out)]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["checkpoint"] == str(out)
    assert printed["training"]["float_test_accuracy"] == \
        checkpoint.load(out)["training"]["float_test_accuracy"]
    with pytest.raises(SystemExit) as exit_:
        main(["--arch", "nonsense"])
    assert exit_.value.code == 1
    assert "argument --arch: invalid choice: 'nonsense'" in capsys.readouterr().err
