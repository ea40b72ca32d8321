"""lava-dl netx files that snn-export did not write: networks exported by real slayer
(lava-dl 0.6.0), read into the deployed network and run in the emulator, against stock netx
(``netx.hdf5.Network`` building the Lava processes) on every layer at every step; and the
layers and neurons it refuses, by name."""
import contextlib
import io
import json
import re

import h5py
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from snn_export.cli import main
from snn_export.deploy import netx_import
from snn_export.errors import SnnExportError
from snn_export.sim import emulator

NEURON = {"threshold": 1.0, "current_decay": 0.25, "voltage_decay": 0.03, "tau_grad": 0.03,
          "scale_grad": 3, "requires_grad": False}


def slayer_file(path, blocks, input_shape, delays=None, input_layer=True) -> None:
    """``blocks`` (slayer blocks) exported with their own ``export_hdf5`` behind an input
    layer of ``input_shape`` (``input_layer``; else the first block is slayer's ``Input``),
    as lava-dl's examples write network.net; ``delays``: {layer: integer delays per output
    neuron} written where slayer's trained delays would be. One forward pass first: slayer
    learns its layers' shapes from it."""
    import torch
    x = torch.zeros(1, *input_shape, 4)
    with torch.no_grad():
        for block in blocks:
            x = block(x)
    with h5py.File(path, "w") as f:
        layers = f.create_group("layer")
        if input_layer:
            first = layers.create_group("0")
            first.create_dataset("type", (1,), "S10", [b"input"])
            first.create_dataset("shape", data=np.array(input_shape))
        for k, block in enumerate(blocks, start=int(input_layer)):
            block.export_hdf5(layers.create_group(str(k)))
        for k, d in (delays or {}).items():
            layers[str(k)]["delay"][...] = np.asarray(d, dtype=np.float32)


def slayer_cnn(seed: int):
    """Conv -> Flatten -> Dense with axonal delays -> Dense: slayer CUBA blocks
    at random weights (slayer quantizes them to its 8-bit grid on export)."""
    torch = pytest.importorskip("torch")
    slayer = pytest.importorskip("lava.lib.dl.slayer")
    torch.manual_seed(seed)
    blocks = [slayer.block.cuba.Conv(NEURON, 1, 4, 3, padding=1, weight_scale=2,
                                     weight_norm=False),
              slayer.block.cuba.Flatten(),
              slayer.block.cuba.Dense(NEURON, 4 * 8 * 8, 20, weight_scale=2, weight_norm=False,
                                      delay=True),
              slayer.block.cuba.Dense(NEURON, 20, 10, weight_scale=2, weight_norm=False)]
    return blocks


def lava_run(path, net, x):
    from snn_export.sim import lava_runner
    groups = netx_import.netx_groups(net.neurons)
    with contextlib.redirect_stdout(io.StringIO()):
        return lava_runner.run_netx(path, x, net.time_steps, net.input_bits,
                                    names=[g.name for g in groups],
                                    shapes=[g.shape for g in groups],
                                    input_shape=tuple(net.input_shape), progress=False)


@pytest.mark.lava
def test_slayer_network_runs_in_the_emulator_as_in_stock_netx(tmp_path):
    """A slayer CNN with delays, read by snn-export: the emulator's spikes and final states
    are stock netx's in Lava on every layer at every step."""
    path = tmp_path / "network.net"
    slayer_file(path, slayer_cnn(0), (1, 8, 8),
                delays={3: np.random.default_rng(1).integers(0, 4, 20)})
    net, warnings = netx_import.read(path, time_steps=12, input_bits=1)
    assert not warnings
    assert [type(s).__name__ for s in net.synapses] == ["Conv", "Dense", "Dense"]
    assert net.synapses[1].delays is not None and net.synapses[1].delays.max() > 0
    x = (np.random.default_rng(2).random((3, 1, 8, 8)) < 0.4).astype(np.int64)
    emu, lava = emulator.run(net, x), lava_run(path, net, x)
    for name in emu.spikes:
        assert emu.spikes[name].sum() > 0, name
        np.testing.assert_array_equal(emu.spikes[name], lava.spikes[name], err_msg=name)
        for register in emu.states[name]:
            np.testing.assert_array_equal(emu.states[name][register],
                                          lava.states[name][register], err_msg=name)


@pytest.mark.lava
def test_a_slayer_mlp_on_image_input_runs_as_in_stock_netx(tmp_path):
    """Input (1, 8, 8) -> Flatten -> Dense -> Dense, slayer's usual MLP: netx feeds the first
    dense layer the frames flattened (C, H, W); the emulator equals stock netx, graded
    5-bit input levels included."""
    torch = pytest.importorskip("torch")
    slayer = pytest.importorskip("lava.lib.dl.slayer")
    torch.manual_seed(5)
    blocks = [slayer.block.cuba.Flatten(),
              slayer.block.cuba.Dense(NEURON, 64, 16, weight_scale=2, weight_norm=False),
              slayer.block.cuba.Dense(NEURON, 16, 10, weight_scale=2, weight_norm=False)]
    path = tmp_path / "network.net"
    slayer_file(path, blocks, (1, 8, 8))
    net, _ = netx_import.read(path, time_steps=10, input_bits=5)
    assert net.input_shape == (1, 8, 8) and net.neurons[0].shape == (16,)
    x = np.random.default_rng(6).integers(0, 32, (3, 1, 8, 8))
    emu, lava = emulator.run(net, x), lava_run(path, net, x)
    for name in emu.spikes:
        assert emu.spikes[name].sum() > 0, name
        np.testing.assert_array_equal(emu.spikes[name], lava.spikes[name], err_msg=name)


def slayer_input_cnn(seed: int, weight: float = 1.5, bias: float = 0.25):
    """Input (2, 5, 7) with neurons of its own (weight, bias) -> Conv -> Flatten -> Dense:
    slayer's Input block, which netx leaves for the user to feed."""
    torch = pytest.importorskip("torch")
    slayer = pytest.importorskip("lava.lib.dl.slayer")
    torch.manual_seed(seed)
    return [slayer.block.cuba.Input(NEURON, weight=weight, bias=bias),
            slayer.block.cuba.Conv(NEURON, 2, 3, 3, padding=1, weight_scale=2,
                                   weight_norm=False),
            slayer.block.cuba.Flatten(),
            slayer.block.cuba.Dense(NEURON, 3 * 5 * 7, 6, weight_scale=2, weight_norm=False)]


@pytest.mark.lava
@pytest.mark.parametrize("weight, bias, bits, in_time", [(1.5, 0.25, 1, True),
                                                         (1.0, None, 3, False),
                                                         (0.5, -0.5, 2, True)])
def test_an_input_layer_with_neurons_runs_as_netx_users_feed_it(weight, bias, bits, in_time,
                                                                 tmp_path):
    """slayer's Input block (its own CUBA neurons, an input weight and bias): netx builds
    the neurons without bias and leaves their current to the user; fed ``weight * x +
    bias`` each step (netx's ``in_layer.transform``), stock netx equals the emulator on
    every layer and register, for spikes and graded levels, static or varying in time."""
    path = tmp_path / "network.net"
    slayer_file(path, slayer_input_cnn(7, weight, bias), (2, 5, 7), input_layer=False)
    net, _ = netx_import.read(path, time_steps=10, input_bits=bits)
    first = net.group("layer0")
    assert first.shape == (2, 5, 7) and not first.bias.any()
    assert (net.synapses[0].source, net.synapses[0].target) == ("input", "layer0")
    assert any(s.source == "bias_source" for s in net.synapses) == (bias is not None)
    rng = np.random.default_rng(8)
    x = rng.integers(0, 2**bits, (3, 10, 2, 5, 7) if in_time else (3, 2, 5, 7))
    emu, lava = emulator.run(net, x), lava_run(path, net, x)
    groups = netx_import.netx_groups(net.neurons)
    assert [g.name for g in groups] == ["layer0", "layer1", "layer3"]
    for g in groups:
        assert emu.spikes[g.name].sum() > 0, g.name
        np.testing.assert_array_equal(emu.spikes[g.name], lava.spikes[g.name], err_msg=g.name)
        for register in emu.states[g.name]:
            np.testing.assert_array_equal(emu.states[g.name][register],
                                          lava.states[g.name][register], err_msg=g.name)
    from snn_export.sim import lava_runner  # the graph file --target lava writes for it
    built = lava_runner.run(net, x, progress=False)
    for name, spikes in emu.spikes.items():
        np.testing.assert_array_equal(spikes, built.spikes[name], err_msg=name)


@pytest.mark.lava
@settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck))
@given(seed=st.integers(0, 2**16), scale=st.sampled_from([1, 2, 4]),
       current=st.sampled_from([0.01, 0.25, 1.0]), voltage=st.sampled_from([0.0, 0.03, 0.5]),
       bits=st.integers(1, 4), recurrent=st.booleans(),
       input_block=st.sampled_from([None, (1.0, None), (0.5, -0.25), (3.0, 0.5)]),
       in_time=st.booleans())
def test_random_slayer_dense_blocks_run_as_in_stock_netx(seed, scale, current, voltage, bits,
                                                         recurrent, input_block, in_time,
                                                         tmp_path_factory):
    """Hypothesis-drawn slayer Dense chains (weight scales, decays, graded input levels,
    static or varying in time, a recurrent block, netx's dense_rec, an Input block of
    neurons with its weight and bias): the emulator equals stock netx in Lava."""
    torch = pytest.importorskip("torch")
    slayer = pytest.importorskip("lava.lib.dl.slayer")
    torch.manual_seed(seed)
    params = {**NEURON, "current_decay": current, "voltage_decay": voltage}
    middle = slayer.block.cuba.Recurrent if recurrent else slayer.block.cuba.Dense
    blocks = [middle(params, 12, 8, weight_scale=scale, weight_norm=False),
              slayer.block.cuba.Dense(params, 8, 5, weight_scale=scale, weight_norm=False)]
    if input_block:
        blocks.insert(0, slayer.block.cuba.Input(params, *input_block))
    path = tmp_path_factory.mktemp("slayer") / "network.net"
    slayer_file(path, blocks, (12,), input_layer=not input_block)
    net, _ = netx_import.read(path, time_steps=10, input_bits=bits)
    assert any(s.source == s.target for s in net.synapses) == recurrent
    x = np.random.default_rng(seed).integers(0, 2**bits, (3, 10, 12) if in_time else (3, 12))
    emu, lava = emulator.run(net, x), lava_run(path, net, x)
    for g in netx_import.netx_groups(net.neurons):
        np.testing.assert_array_equal(emu.spikes[g.name], lava.spikes[g.name], err_msg=g.name)


@pytest.mark.lava
@settings(max_examples=200, deadline=None)
@given(st.data())
def test_weight_bits_are_netx_own(data):
    """netx's weight fitting, transcribed (:func:`netx_import.weight_bits`), gives lava-dl's
    ``optimize_weight_bits`` weights, bits and exponent."""
    from lava.lib.dl.netx.utils import optimize_weight_bits
    low = data.draw(st.integers(-600, 600))
    high = data.draw(st.integers(low, 600))
    w = np.array(data.draw(st.lists(st.integers(low, high), min_size=1, max_size=12)))
    w = w * 2 ** data.draw(st.integers(0, 3))
    if not w.any():
        return  # (netx divides by zero; snn-export keeps the zeros)
    with contextlib.redirect_stdout(io.StringIO()), np.errstate(all="ignore"):
        ref = optimize_weight_bits(w.copy())
    ours = netx_import.weight_bits(w.copy())
    np.testing.assert_array_equal(ours[0], ref[0])
    assert ours[1:] == (ref[1], ref[2])


@pytest.mark.lava
def test_cli_reports_evaluates_and_verifies_a_slayer_file_against_stock_netx(tmp_path, capsys):
    """`snn-export network.net --time-steps N --dataset digits --evaluate --verify`: the
    report, the deployed accuracy in the emulator (there is no float model) and the user's
    own file in stock netx, bit-exact with the emulator."""
    path = tmp_path / "network.net"
    slayer_file(path, slayer_cnn(3), (1, 8, 8),
                delays={3: np.random.default_rng(4).integers(0, 3, 20)})
    capsys.readouterr()  # (what lava-dl prints on its first import)
    assert main([str(path), "--time-steps", "12", "--target", "lava", "--dataset", "digits",
                 "--evaluate", "40", "--verify", "3", "--json", "-q"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["evaluation"]["samples"] == 40
    assert summary["evaluation"]["float_accuracy"] is None
    assert summary["bit_exact"] and summary["accuracy"]["float"] is None
    assert sum(layer["spikes_lava"] for layer in summary["layers"]) > 0
    assert (tmp_path / "network_lava" / "report.md").is_file()


@pytest.mark.lava
def test_cli_runs_an_input_layer_network_on_npy_samples_against_stock_netx(tmp_path, capsys):
    """`snn-export network.net --time-steps N --input x.npy [--labels y.npy] --verify`: an
    input layer with neurons, fed spike trains from a file, stock netx (samples back to
    back, netx's own resets) bit-exact with the emulator; without labels no accuracy."""
    path = tmp_path / "network.net"
    slayer_file(path, slayer_input_cnn(9), (2, 5, 7), input_layer=False)
    capsys.readouterr()  # (what lava-dl prints on its first import)
    rng = np.random.default_rng(10)
    x, y = tmp_path / "x.npy", tmp_path / "y.npy"
    np.save(x, rng.integers(0, 2, (6, 12, 2, 5, 7)).astype(np.uint8))
    np.save(y, rng.integers(0, 6, 6))
    assert main([str(path), "--time-steps", "12", "--target", "lava", "--input", str(x),
                 "--labels", str(y), "--evaluate", "6", "--verify", "3", "--json", "-q"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["bit_exact"] and summary["back_to_back"]
    assert [layer["layer"] for layer in summary["layers"]] == ["layer0", "layer1", "layer3"]
    assert all(layer["spikes_lava"] > 0 for layer in summary["layers"])
    assert summary["evaluation"]["samples"] == 6 and summary["accuracy"]["lava"] is not None
    header = (tmp_path / "network_lava" / "report.md").read_text().split("## Layers")[0]
    assert f"- read from: `{path}`" in header and "input layer `layer0`" in header
    assert "from the input and `bias` through one from the always-on `bias_source`" in header
    assert "trained" not in header
    np.save(x, np.load(x).reshape(6, 12, -1))  # frames flattened (C, H, W) row-major
    assert main([str(path), "--time-steps", "12", "--target", "lava", "--input", str(x),
                 "--verify", "2", "--json", "-q", "-o", str(tmp_path / "unlabelled")]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["bit_exact"] and summary["accuracy"] == {"float": None, "emulator": None,
                                                            "lava": None}


def _layer(f, k: int, kind: str, **datasets):
    g = f.require_group("layer").create_group(str(k))
    g.create_dataset("type", (1,), "S10", [kind.encode()])
    for key, value in datasets.items():
        g.create_dataset(key, data=value)
    return g


def _neuron(g, kind: str = "CUBA", **extra):
    for key, value in {"type": kind, "iDecay": 1024, "vDecay": 128, "vThMant": 80,
                       "refDelay": 1, "gradedSpike": False, **extra}.items():
        g.create_dataset(f"neuron/{key}", data=value)


@pytest.mark.parametrize("kind, neuron, extra, message", [
    ("pool", None, {}, "layer 2 (pool): netx does not implement it"),
    ("average", None, {}, "layer 2 (average): netx does not implement it"),
    ("concat", None, {}, "layer 2 (concat): netx does not implement it"),
    ("convT", None, {}, "layer 2 (convT): netx does not implement it"),
    ("unpool", None, {}, "layer 2 (unpool): netx does not implement it"),
    ("dense_comp", None, {}, "layer 2 (dense_comp): complex-valued synapses are not modelled"),
    ("wobble", None, {}, "layer 2 (wobble): unknown layer type (netx skips it silently)"),
    ("dense", "SDNN", {}, "layer 2 (dense): neuron type 'SDNN' (sigma-delta) is not modelled"),
    ("dense", "RF_IZ", {}, "layer 2 (dense): neuron type 'RF_IZ' (resonate-and-fire)"),
    ("dense", "CUBA", {"messageBits": 3}, "layer 2 (dense): graded output spikes"),
    ("dense", "CUBA", {"iDecay": 0}, "layer 2 (dense): iDecay 0 (slayer's current_decay 0) "
     "is Lava's du = -1"),
    ("dense", "", {}, "layer 2 (dense): has no neuron group"),
])
def test_what_snn_export_cannot_read_is_refused_by_layer(kind, neuron, extra, message,
                                                         tmp_path, capsys):
    path = tmp_path / "network.net"
    with h5py.File(path, "w") as f:
        _layer(f, 0, "input", shape=np.array([6]))
        _neuron(_layer(f, 1, "dense", shape=np.array([4]), weight=np.ones((4, 6)) * 8))
        g = _layer(f, 2, kind, shape=np.array([3]), weight=np.ones((3, 4)) * 8)
        if neuron:
            _neuron(g, neuron, **extra)
    assert main([str(path), "--time-steps", "8", "--target", "lava"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{path}: {message}" in err, err
    assert not (tmp_path / "network_lava").exists()


def _chain(path, build) -> None:
    """A netx file: an input layer (2, 3, 3), then what ``build(f)`` writes from layer 1."""
    with h5py.File(path, "w") as f:
        _layer(f, 0, "input", shape=np.array([2, 3, 3]))
        build(f)


def _conv(f, k: int, **missing):
    g = _layer(f, k, "conv", shape=np.array([2, 3, 3]), weight=np.ones((2, 2, 3, 3)) * 8,
               **{key: value for key, value in {"stride": [1, 1], "padding": [1, 1],
                                                 "dilation": [1, 1], "groups": 1}.items()
                  if key not in missing})
    _neuron(g)


def _dense(f, k: int, n_in: int, **datasets):
    g = _layer(f, k, "dense", shape=np.array([3]), **{"weight": np.ones((3, n_in)) * 8,
                                                        **datasets})
    _neuron(g)


@pytest.mark.parametrize("build, message", [
    (lambda f: (_conv(f, 1), _dense(f, 2, 18)),
     "layer 2 (dense): reads the (2, 3, 3) layer layer1 without a flatten layer"),
    (lambda f: _conv(f, 1, stride=None, groups=None),
     "layer 1 (conv): no stride, groups (netx reads them without defaults)"),
    (lambda f: _dense(f, 1, 18, weight=np.zeros((3, 18))),
     "layer 1 (dense): all weights are 0"),
    (lambda f: (_dense(f, 1, 18), _layer(f, 2, "flatten")), "layer 2 (flatten): follows a "
     "flat layer"),
    (lambda f: (_conv(f, 1), _layer(f, 2, "flatten"), _conv(f, 3)),
     "layer 3 (conv): follows a flatten layer"),
    (lambda f: _conv(f, 1) or f["layer/1"].create_dataset("bias", data=np.ones((3, 3, 3))),
     "layer 1 (conv): bias of shape (3, 3, 3) for neurons (2, 3, 3)"),
    (lambda f: _dense(f, 1, 18, weight_rec=np.ones((3, 3)), delay=np.ones(3)) or
     f["layer/1/type"].__setitem__(0, b"dense_rec"),
     "layer 1 (dense_rec): netx builds a recurrent layer with delays without its weight"),
    (lambda f: _neuron(_layer(f, 1, "dense", shape=np.array([3]), **{
        "weight/real": np.ones((3, 18)), "weight/imag": np.ones((3, 18))})),
     "layer 1 (dense): complex-valued weights"),
    (lambda f: _neuron(_layer(f, 1, "dense", shape=np.array([3]))),
     "layer 1 (dense): KeyError"),
    (lambda f: (_dense(f, 1, 18), _layer(f, 2, "input", shape=np.array([3]))),
     "layer 2 (input): an input layer after layer 0"),
])
def test_what_netx_could_not_connect_or_load_is_refused_by_layer(build, message, tmp_path):
    """Layouts and fields stock netx would fail on (or build differently from its file):
    one SnnExportError naming the layer, never a traceback from inside the reader."""
    _chain(tmp_path / "network.net", build)
    with pytest.raises(SnnExportError) as caught:
        netx_import.read(tmp_path / "network.net", time_steps=8)
    assert f"network.net: {message}" in str(caught.value), caught.value


def test_a_conv_bias_reads_per_neuron_in_netx_order_or_per_channel(tmp_path):
    """netx takes a (C, H, W) layer's bias per neuron stored (W, H, C), or per channel."""
    per_neuron = np.arange(18).reshape(3, 3, 2)  # (W, H, C)
    for bias, expected in ((per_neuron, per_neuron.transpose(2, 1, 0).reshape(-1)),
                           (np.array([4, -5]), np.repeat([4, -5], 9))):
        path = tmp_path / f"b{bias.size}.net"
        _chain(path, lambda f: _conv(f, 1) or f["layer/1"].create_dataset("bias", data=bias))
        net, _ = netx_import.read(path, time_steps=8)
        np.testing.assert_array_equal(net.neurons[0].bias, expected)


@pytest.mark.parametrize("transform, message", [
    ({"weight": 300}, "layer 0 (input): weight 300 is outside the 8-bit synapse range "
     "-255..255 that carries the input"),
    ({"bias": -256}, "layer 0 (input): bias -256 is outside"),
    ({"weight": np.full(6, 64.0)}, "layer 0 (input): weight of shape (6,); netx reads one "
     "value"),
])
def test_an_input_transform_beyond_a_synapse_is_refused(transform, message, tmp_path):
    path = tmp_path / "network.net"
    with h5py.File(path, "w") as f:
        _neuron(_layer(f, 0, "input", shape=np.array([6]), **transform))
        _neuron(_layer(f, 1, "dense", shape=np.array([4]), weight=np.ones((4, 6)) * 8))
    with pytest.raises(SnnExportError, match=re.escape(message)):
        netx_import.read(path, time_steps=8)


def test_an_input_layer_alone_is_refused(tmp_path):
    path = tmp_path / "network.net"
    with h5py.File(path, "w") as f:
        _neuron(_layer(f, 0, "input", shape=np.array([6]), bias=np.array([4.0])))
    with pytest.raises(SnnExportError, match="network.net: no dense or conv layer"):
        netx_import.read(path, time_steps=8)


def test_an_input_layer_with_neurons_reads_netx_defaults_and_bad_options_are_refused(
        tmp_path, capsys):
    """Without ``weight`` and ``bias`` netx's transform is 64 x + 0: a one-to-one synapse
    of 64 and no bias source; the file's neuron registers, no Loihi bias."""
    path = tmp_path / "network.net"
    with h5py.File(path, "w") as f:
        _neuron(_layer(f, 0, "input", shape=np.array([6])), iDecay=4096, vDecay=0)
        _neuron(_layer(f, 1, "dense", shape=np.array([4]), weight=np.ones((4, 6)) * 8))
    net, _ = netx_import.read(path, time_steps=8)
    first, into = net.group("layer0"), net.synapses[0]
    assert (first.params.du, first.params.dv, first.params.vth) == (4095, 0, 80)
    assert [g.name for g in net.neurons] == ["layer0", "layer1"]
    assert (into.source, into.target) == ("input", "layer0")
    assert (into.rows.tolist(), into.cols.tolist()) == (list(range(6)), list(range(6)))
    assert into.weight.tolist() == [64] * 6
    for args, said in ((["--time-steps", "8", "--dialect", "norse"], "--dialect is for NIR"),
                       (["--time-steps", "8", "--dataset", "digits", "--input", "x.npy"],
                        "--input x.npy and --dataset digits both give the test samples"),
                       ([], "a netx file holds no step count: give --time-steps N")):
        assert main([str(path), "--target", "lava", *args]) == 1
        assert said in capsys.readouterr().err


def test_a_hand_written_dense_chain_reads_with_netx_registers(tmp_path):
    """Without Lava: the registers netx would set (weights fitted to the synapse, decays,
    threshold, per-channel bias, delays per output clipped to 62 with a warning)."""
    path = tmp_path / "network.net"
    w = np.array([[2, -4, 6], [8, 0, -2]])
    with h5py.File(path, "w") as f:
        _layer(f, 0, "input", shape=np.array([3]))
        g = _layer(f, 1, "dense", shape=np.array([2]), weight=w.astype(np.float32),
                   bias=np.array([5, -7]), delay=np.array([1.9, 70.0], np.float32))
        _neuron(g)
    net, warnings = netx_import.read(path, time_steps=8, input_bits=2)
    (dense,) = net.synapses
    assert (dense.num_weight_bits, dense.weight_exp) == netx_import.weight_bits(w)[1:]
    np.testing.assert_array_equal(dense.delays, [[1, 1, 1], [62, 62, 62]])
    assert warnings == [f"{path}: layer 1 (dense): delays up to 70 clipped to 62, as netx does"]
    group = net.neurons[0]
    assert (group.params.vth, group.params.du, group.params.dv) == (80, 1023, 128)
    np.testing.assert_array_equal(group.bias, [5, -7])
    out = emulator.run(net, np.array([[3, 1, 0]]))
    assert set(out.spikes) == {"layer1"}


def test_an_input_layer_with_neurons_written_as_nir_reads_back_exactly(tmp_path, capsys):
    """NIR out of a netx file whose input layer has neurons, a weight and a bias: the
    one-to-one input synapse and the bias source's read back, the same spikes."""
    pytest.importorskip("nir")
    from snn_export.deploy import from_nir
    path = tmp_path / "network.net"
    with h5py.File(path, "w") as f:
        _neuron(_layer(f, 0, "input", shape=np.array([2, 3, 3]), weight=np.array([40.0]),
                       bias=np.array([-8.0])), vThMant=60)
        _layer(f, 1, "flatten")
        _dense(f, 2, 18)
    net, _ = netx_import.read(path, time_steps=8, input_bits=2)
    assert main([str(path), "--time-steps", "8", "--input-bits", "2", "--target", "nir",
                 "-q"]) == 0
    assert "input layer `layer0`" in capsys.readouterr().out
    back = from_nir.read(tmp_path / "network_nir" / "network.nir")
    assert [g.name for g in back.neurons] == [g.name for g in net.neurons]
    x = np.random.default_rng(3).integers(0, 4, (4, 2, 3, 3))
    ours = emulator.run(net, x).spikes
    assert ours["layer0"].sum() > 0 and ours["layer2"].sum() > 0
    for name, spikes in emulator.run(back, x).spikes.items():
        np.testing.assert_array_equal(spikes, ours[name], err_msg=name)


def test_a_netx_file_written_as_nir_reads_back_exactly(tmp_path):
    """NIR out of a netx file: its per-neuron delays in a Delay node, read back exactly."""
    pytest.importorskip("nir")
    from snn_export.deploy import from_nir
    path = tmp_path / "network.net"
    with h5py.File(path, "w") as f:
        _layer(f, 0, "input", shape=np.array([3]))
        _neuron(_layer(f, 1, "dense", shape=np.array([2]),
                       weight=np.array([[2, -4, 6], [8, 0, -2]], np.float32),
                       delay=np.array([1, 3], np.float32)))
    net, _ = netx_import.read(path, time_steps=8, input_bits=2)
    (dense,) = net.synapses
    assert main([str(path), "--time-steps", "8", "--input-bits", "2", "--target", "nir",
                 "-q"]) == 0
    back = from_nir.read(tmp_path / "network_nir" / "network.nir")
    np.testing.assert_array_equal(back.synapses[0].delays, dense.delays)
    x = np.array([[3, 1, 0], [1, 2, 3]])
    for name, spikes in emulator.run(back, x).spikes.items():
        np.testing.assert_array_equal(spikes, emulator.run(net, x).spikes[name])


@pytest.mark.lava
@pytest.mark.slow
@pytest.mark.parametrize("input_neurons", [False, True])
def test_the_slayer_example_trains_and_verifies_bit_exact(input_neurons, tmp_path, capsys):
    """The done-when, shortened: examples/slayer_digits.py trains a conv + dense CUBA network
    in slayer on digits (2 epochs) and exports it; snn-export reads it, evaluates it in the
    emulator at slayer's own accuracy and verifies it bit-exact against stock netx. With
    slayer's Input block, on the 2-bit test samples the example writes (--input)."""
    import runpy
    example = runpy.run_path("examples/slayer_digits.py")
    example["main"](["--epochs", "2", "-o", str(tmp_path / "network.net")]
                    + ["--input-neurons"] * input_neurons)
    said = capsys.readouterr().out
    slayer_accuracy = float(said.split("steps): ")[1].split()[0])
    samples = ["--input-bits", "2", "--input", str(tmp_path / "x_test.npy"), "--labels",
               str(tmp_path / "y_test.npy")] if input_neurons else ["--dataset", "digits"]
    assert main([str(tmp_path / "network.net"), "--time-steps", "16", "--target", "lava",
                 *samples, "--evaluate", "360", "--verify", "3", "--json", "-q"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["bit_exact"]
    assert (summary["layers"][0]["layer"] == "layer0") == input_neurons
    assert summary["evaluation"]["deployed_accuracy"] == pytest.approx(slayer_accuracy,
                                                                      abs=0.02)
    assert slayer_accuracy > 0.5
