"""The training library's building blocks, each on its shapes, its spike behaviour and its
gradients: surrogate spike functions, LIF and ALIF neurons, residual joins, attention masks
and the seed architectures built from them (deployable variants and published forms)."""
import numpy as np
import pytest
import torch

from snn_export.errors import SnnExportError
from snn_export.model_graph import (ModelGraph, Node, alignment_delays, check_time_steps,
                                    latencies, shapes)
from snn_export.train.architectures import (ARCHITECTURES, AT_SIZE, BIASNN_ALIF, JOIN_OPS,
                                            biasnn_resnet, sew_resnet, syna_resnet)
from snn_export.train.graph_model import GraphSNN
from snn_export.train.surrogate import SURROGATES, spike_fn

SHAPE = (1, 12, 12)
# narrow widths of the seed networks at their sizes (a fixed number of stages)
NARROW = {**{a: (4, 8, 8, 8) for a in AT_SIZE}, "resnet19": (8, 8, 8),
          "syna_resnet19": (8, 8, 8)}


def _run(model: GraphSNN, x: torch.Tensor, time_steps: int) -> dict:
    with torch.no_grad():
        return model(x, time_steps)


def _lively(model: GraphSNN) -> GraphSNN:
    """Batch norm statistics as after some training, in eval mode: a network with spikes
    in every layer."""
    torch.manual_seed(0)
    for module in model.ops.values():
        if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
            module.running_mean.uniform_(-0.2, 0.2)
            module.running_var.uniform_(0.02, 0.1)
    return model.eval()


# --- Surrogate gradients ---

@pytest.mark.parametrize("kind", SURROGATES)
def test_surrogate_is_heaviside_forward_and_a_unit_area_bump_backward(kind):
    x = torch.linspace(-60, 60, 240001, dtype=torch.float64, requires_grad=True)
    spikes = spike_fn(kind, alpha=2.0)(x, 0.5)  # scale: a threshold of 0.5
    assert torch.equal(spikes, (x > 0).double())
    spikes.sum().backward()
    d = x.grad
    assert torch.trapezoid(d, x).item() == pytest.approx(1.0, abs=0.01)
    assert torch.allclose(d, d.flip(0))  # symmetric about the threshold
    half = d[len(d) // 2:]
    assert half[0] == d.max() and (half[1:] <= half[:-1]).all()  # peaks at the threshold
    sharp = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    spike_fn(kind, alpha=4.0)(sharp, 0.5).backward()
    assert sharp.grad.item() > d.max().item()  # a larger alpha is sharper


def test_unknown_surrogate_is_named():
    with pytest.raises(ValueError, match="unknown surrogate 'relu'; choose one of atan"):
        spike_fn("relu")


# --- Neurons ---

def _neuron_graph(neuron: dict, op: str = "lif") -> ModelGraph:
    return ModelGraph((1,), 8, 1.0, [Node("fc", "linear", ("input",), {"out_features": 1,
                                                                       "bias": False}),
                                     Node("n", op, ("fc",), neuron)])


def _drive(model: GraphSNN, weight: float, x, time_steps: int) -> np.ndarray:
    with torch.no_grad():
        model.ops["fc"].weight.fill_(weight)
    return _run(model, torch.as_tensor(x), time_steps)["n"][:, :, 0].numpy()


@pytest.mark.parametrize("quantized", [False, True])
def test_lif_integrates_leaks_and_resets_hard(quantized):
    """tau_mem = 2 (the membrane keeps half per step), threshold 1, input current 0.6:
    v = 0.6, 0.9, 1.05 -> spike and reset to 0, so one spike every third step, from the
    step the input arrives (the standard timing)."""
    model = GraphSNN(_neuron_graph({"tau_mem": 2.0, "tau_syn": None, "threshold": 1.0}))
    model.quantized_mode = quantized
    spikes = _drive(model, 0.6, [[1]], 13)
    assert spikes[0].tolist() == [0, 0, 1] * 4 + [0]


def test_lif_synaptic_current_keeps_input():
    """With tau_syn the current outlives a one-step pulse: a pulse too weak to fire a
    neuron without current memory fires one with it."""
    pulse = np.zeros((1, 10, 1), np.int64)
    pulse[0, 0] = 1
    counts = []
    for tau_syn in (None, 4.0):
        model = GraphSNN(_neuron_graph({"tau_mem": 4.0, "tau_syn": tau_syn, "threshold": 1.0}))
        counts.append(_drive(model, 0.8, pulse, 10).sum())
    assert counts == [0, 1]


@pytest.mark.parametrize("quantized", [False, True])
def test_alif_threshold_adapts_and_recovers(quantized):
    """Under constant drive the adaptive threshold spaces the spikes out (a LIF neuron with
    the same drive fires every step); after a pause the threshold has relaxed and the
    neuron fires at its first rate again."""
    x = np.zeros((1, 60, 1), np.int64)
    x[0, :20] = x[0, 40:] = 1
    lif_model = GraphSNN(_neuron_graph({"tau_mem": 2.0, "tau_syn": None, "threshold": 1.0}))
    alif = GraphSNN(_neuron_graph({k: v for k, v in BIASNN_ALIF.items() if k != "op"}, "alif"))
    for m in (lif_model, alif):
        m.quantized_mode = quantized
    steady = _drive(lif_model, 1.5, x, 60)[0]
    adapting = _drive(alif, 1.5, x, 60)[0]
    assert steady[:20].sum() == 20 and steady[20:40].sum() == 0
    gaps = np.diff(np.flatnonzero(adapting[:20]))
    assert gaps[0] < gaps[-1]  # spikes spread out as the threshold rises
    assert adapting[:10].sum() > adapting[10:20].sum()
    assert adapting[40:50].sum() >= adapting[:10].sum() - 1  # recovered after the pause


def test_alif_state_is_per_sample_at_inference():
    """BIASNN made causal: nothing is averaged over the batch, so a sample's spikes do not
    depend on the other samples in it."""
    model = _lively(GraphSNN(biasnn_resnet(SHAPE, 4, 8, 1 / 255, (4, 6))))
    x = torch.randint(0, 256, (5, *SHAPE))
    together = _run(model, x, 14)
    for i in range(len(x)):
        alone = _run(model, x[i:i + 1], 14)
        for name, spikes in together.items():
            assert torch.equal(spikes[i:i + 1], alone[name]), name


@pytest.mark.parametrize("op", ["lif", "alif"])
@pytest.mark.parametrize("kind", SURROGATES)
def test_neuron_gradients_follow_the_input(op, kind):
    """More input current gives more spikes: the surrogate gradient of the spike count with
    respect to the input weight is positive."""
    params = {k: v for k, v in BIASNN_ALIF.items() if k != "op"} if op == "alif" else \
        {"tau_mem": 2.0, "tau_syn": None, "threshold": 1.0}
    model = GraphSNN(_neuron_graph(params, op), surrogate=kind)
    with torch.no_grad():
        model.ops["fc"].weight.fill_(0.7)
    model(torch.ones(1, 1, dtype=torch.int64), 16)["n"].sum().backward()
    assert model.ops["fc"].weight.grad.item() > 0


# --- Residual blocks ---

@pytest.mark.parametrize("join", sorted(JOIN_OPS))
def test_residual_block_shapes_and_downsampling_shortcut(join):
    graph = sew_resnet(SHAPE, 4, 8, 1 / 255, (4, 6), blocks=2, join=join)
    size = shapes(graph)
    assert size["stem"] == (4, 12, 12)
    assert size["s1b1"] == size["s1b2"] == (4, 12, 12)
    assert size["s2b1_down"] == (6, 6, 6)  # conv 1x1 stride 2 where the channels change
    assert "s1b1_down" not in size and "s2b2_down" not in size  # identity shortcuts
    assert size["out"] == (4,)


@pytest.mark.parametrize("join", ["or", "and", "iand"])
def test_binary_joins_compute_their_logic_on_their_inputs_spikes(join):
    graph = sew_resnet(SHAPE, 4, 8, 1 / 255, (4, 6), blocks=2, join=join)
    model = _lively(GraphSNN(graph))
    out = _run(model, torch.randint(0, 256, (4, *SHAPE)), 16)
    logic = {"or": lambda a, b: a + b - a * b, "and": lambda a, b: a * b,
             "andnot": lambda a, b: a * (1 - b)}[JOIN_OPS[join]]
    for name in ("s1b1", "s1b2", "s2b1", "s2b2"):
        a, b = (out[s] for s in graph.node(name).inputs)
        assert torch.equal(out[name], logic(a, b)), name
    assert 0 < out["s1b1"].sum() < out["s1b1"].numel()  # neither silent nor saturated


def test_add_join_feeds_spike_counts():
    """SEW's ADD is no spiking node: the synapses reading it see the sum of the spike
    terms, values 0..2."""
    graph = sew_resnet(SHAPE, 4, 8, 1 / 255, (4, 6), join="add")
    model = _lively(GraphSNN(graph))
    out = _run(model, torch.randint(0, 256, (4, *SHAPE)), 16)
    counts = model._source("s1b1", out)
    terms = [out[t] for t in graph.node("s1b1").inputs]
    assert torch.equal(counts, terms[0] + terms[1]) and counts.max() == 2


def test_block_depth_on_the_chip_counts_one_step_per_hop():
    """Deployed: stem 1, backbone 2 more, the join 1 more; the identity shortcut is delayed
    2 to meet the backbone."""
    graph = sew_resnet(SHAPE, 4, 8, 1 / 255, (4,), join="or")
    lat = latencies(graph)
    assert (lat["stem"], lat["s1b1_b"], lat["s1b1"]) == (1, 3, 4)
    assert alignment_delays(graph)["s1b1"] == {"s1b1_b": 0, "stem": 2}


# --- Attention ---

@pytest.mark.parametrize("form, mask_shape", [("channel", (6, 1, 1)), ("spatial", (1, 6, 6))])
def test_syna_masks_have_their_form_and_gate_both_paths(form, mask_shape):
    graph = syna_resnet(SHAPE, 4, 8, 1 / 255, (4, 6), form=form)
    size = shapes(graph)
    assert size["s2b1_ma"] == size["s2b1_ia"] == mask_shape
    assert graph.node("s2b1_ma_gate").inputs == ("s2b1_b", "s2b1_ma")
    assert graph.node("s2b1_ia_gate").inputs == ("s2b1_down", "s2b1_ia")
    assert graph.node("s2b1").inputs == ("s2b1_ma_gate", "s2b1_ia_gate")


def _force_masks(model: GraphSNN, graph: ModelGraph, value: float) -> None:
    """Drive every mask neuron by a constant: +100 fires it at every step, -100 silences
    it (the conv bias of channel masks, the batch norm bias of spatial ones)."""
    with torch.no_grad():
        for node in graph.nodes:
            if node.name.endswith(("_ma", "_ia", "sa_mask", "ca_mask")):
                module = model.ops[node.inputs[0]]
                module.bias.fill_(value)


@pytest.mark.parametrize("arch", ["syna_resnet", "syna_s_resnet", "biasnn_resnet"])
def test_silent_masks_pass_everything_and_firing_masks_prune(arch):
    """A mask applied as ``x AND NOT mask``: silent, the block is the plain OR-residual
    block; always firing, its path is pruned (seed 004's natural pruning)."""
    graph = ARCHITECTURES[arch](SHAPE, 4, 8, 1 / 255, (4, 6))
    model = _lively(GraphSNN(graph))
    x = torch.randint(0, 256, (4, *SHAPE))
    gates = [n for n in graph.nodes if n.name.endswith("_gate")]
    _force_masks(model, graph, -100.0)
    out = _run(model, x, 16)
    for gate in gates:
        source = out[gate.inputs[0]]
        assert torch.equal(out[gate.name], source) and source.sum() > 0, gate.name
    _force_masks(model, graph, 100.0)
    out = _run(model, x, 16)
    for gate in gates:
        assert out[gate.name].sum() == 0, gate.name
    joined = [n.name for n in graph.nodes if n.op == "or"]
    if arch == "biasnn_resnet":  # the backbone is pruned, the shortcut passes
        for name in joined:
            short = graph.node(name).inputs[1]
            assert torch.equal(out[name], out[short]), name
    else:  # both pruned: the network after the first block is silent
        assert all(out[name].sum() == 0 for name in joined)


def test_biasnn_mask_is_adaptive_and_spatial():
    graph = biasnn_resnet(SHAPE, 4, 8, 1 / 255, (4, 6))
    mask = graph.node("s1b1_ma")
    assert mask.op == "alif" and shapes(graph)["s1b1_ma"] == (1, 12, 12)
    assert mask.attrs == {k: v for k, v in BIASNN_ALIF.items() if k != "op"}
    assert "s1b1_ia" not in shapes(graph)  # BIASNN gates the block's features only


def test_published_forms_compute_float_attention():
    """The published SynA MA weights features by a sigmoid in (0, 1); BIASNN's published
    mask passes X where S = 0 and zeroes it where S = 1."""
    for arch, probe in (("syna_resnet_published", "s1b1_ma"), ("biasnn_published", "s1b1_att")):
        graph = ARCHITECTURES[arch](SHAPE, 4, 8, 1 / 255, (4, 6))
        model = _lively(GraphSNN(graph))
        x = torch.randint(0, 256, (3, *SHAPE))
        out = _run(model, x, 12)
        with torch.no_grad():
            value = model._value(probe, out, {})
        if arch == "syna_resnet_published":
            assert 0 < value.min() and value.max() < 1
        else:
            features = model._value("s1b1_b_bn", out, {})
            s = model._value("s1b1_att_s", out, {})
            assert set(s.unique().tolist()) == {0.0, 1.0}
            assert torch.equal(value, features * (1 - s))


def test_graded_paths_read_input_levels_as_their_float_values():
    """A real-valued path from the input (MS-ResNet's membrane shortcut from the stem) sees
    ``level * input_scale``, as the folded synaptic path does: both feed one batch norm, whose
    running statistics must describe one scale."""
    graph = ARCHITECTURES["ms_resnet"](SHAPE, 4, 8, 1 / 255, (4, 6))
    model = GraphSNN(graph).eval()
    x = torch.randint(0, 256, (2, *SHAPE))
    trains = {"input": x.float().unsqueeze(1).expand(-1, 6, *SHAPE), **_run(model, x, 6)}
    with torch.no_grad():
        value = model._value("stem_conv", trains, {})
        conv = model.ops["stem_conv"]
        expected = torch.nn.functional.conv2d(x.float() / 255, conv.weight, None, conv.stride,
                                              conv.padding)
    torch.testing.assert_close(value[:, -1], expected)


def test_synat_weights_every_step_from_all_steps():
    """SynA-T (published): per-step MA weights in (0, 1) and binary IA spikes of shape
    (1, 1, 1); a change in the last input frames changes the weight of the first step (it
    reads the whole sample: not causal); built for one step count."""
    graph = ARCHITECTURES["syna_t_resnet"](SHAPE, 4, 8, 1 / 255, (4, 6), time_steps=12)
    model = _lively(GraphSNN(graph)).eval()
    frames = torch.randint(0, 256, (2, 12, *SHAPE))
    later = frames.clone()
    later[:, 5:] = 255 - later[:, 5:]
    weights = []
    for x in (frames, later):
        out = _run(model, x, 12)
        with torch.no_grad():
            weights.append(model._value("s1b1_ma", out, {}))
        assert out["s1b1_ia"].shape == (2, 12, 1, 1, 1)
        assert set(out["s1b1_ia"].unique().tolist()) <= {0.0, 1.0}
    assert weights[0].shape == (2, 12, 1, 1, 1) and 0 < weights[0].min() < weights[0].max() < 1
    assert not torch.equal(weights[0][:, 0], weights[1][:, 0])
    with pytest.raises(SnnExportError, match="time_steps=10, but node 's1b1_ma_time'"):
        check_time_steps(graph, 10)
    with pytest.raises(SnnExportError,
                       match="'s1b1_(ma|ia)_time' \\(time_linear\\) maps 12 steps"):
        _run(model, frames[:, :10], 10)


# --- Every architecture ---

@pytest.mark.parametrize("arch", sorted(ARCHITECTURES))
def test_architecture_shapes_spikes_and_gradients(arch):
    """Every spiking node emits binary spikes of its declared shape; every parameter gets a
    finite, nonzero gradient in float mode, and in the deployed (quantized) mode for the
    deployable ones."""
    channels = 6 if arch == "attention_net" else NARROW.get(arch, (8, 8))  # MLPs: 2 units
    graph = ARCHITECTURES[arch](SHAPE, 4, 8, 1 / 255, channels=channels)
    steps = 16  # fewer than the deep ones' depth on the chip: the standard timing
    torch.manual_seed(0)
    model = _lively(GraphSNN(graph))
    with torch.no_grad():  # no ReLU of the attention MLPs starts dead
        for node in graph.nodes:
            if node.op == "relu":
                model.ops[node.inputs[0]].bias.fill_(1.0)
            if arch == "dense" and node.op == "linear":  # no batch norm: spikes from the init
                torch.nn.init.normal_(model.ops[node.name].weight, 0.0, 0.5)
    size = shapes(graph)
    x = torch.randint(0, 256, (3, *graph.input_shape))  # the dense chain reads it flattened
    modes = [False] if model.graded_nodes else [False, True]
    for quantized in modes:
        model.quantized_mode = quantized
        model.train(not quantized)  # float: batch statistics; quantized: the running ones
        model.zero_grad()
        out = model(x, steps)
        for name, spikes in out.items():
            assert spikes.shape == (3, steps, *size[name]), name
            assert set(spikes.unique().tolist()) <= {0.0, 1.0}, name
        total = sum(s.sum() for s in out.values())
        assert total > 0
        total.backward()
        # in float training mode batch norm cancels the bias right before it (no gradient
        # through it)
        cancelled = {f"ops.{n.inputs[0]}.bias" for n in model.graph.nodes
                     if n.op == "batchnorm" and not quantized}
        for name, p in model.named_parameters():
            if name in cancelled:
                continue
            assert p.grad is not None and torch.isfinite(p.grad).all(), (quantized, name)
            assert p.grad.abs().sum() > 0, (quantized, name)


# --- The seed networks at their published sizes ---

def _convs(graph: ModelGraph) -> list:
    """(name, out channels, kernel, stride) of every conv outside the attention masks."""
    return [(n.name, n.get("out_channels"), n.get("kernel"), n.get("stride", 1))
            for n in graph.nodes if n.op == "conv" and "_ma" not in n.name
            and "_ia" not in n.name]


@pytest.mark.parametrize("attention", [None, "syna_c", "syna_s"])
@pytest.mark.parametrize("dataset, input_shape, stem, pooled, side", [
    ("mnist", (1, 28, 28), (3, 1), False, 4),  # 28, 14, 7, 4
    ("fashion_mnist", (1, 28, 28), (3, 1), False, 4),  # the MNIST form
    ("dvs_gesture", (2, 32, 32), (7, 2), True, 1),  # 16, pool 8, 4, 2, 1
    ("cifar10_dvs", (2, 32, 32), (3, 2), True, 1),  # 32x32 frames: no adaptive pooling
    ("cifar10_dvs", (2, 96, 96), (3, 2), True, 2)])  # AdaptiveAP(48): 48, 24, pool 12, 6, 3, 2
def test_table_ix_layout(dataset, input_shape, stem, pooled, side, attention):
    """Seed 004's Table IX: the stem (kernel, stride), max pooling k3s2p1 for the event
    datasets, four plain conv 3x3 stride 1 layers at the first width, one downsampling
    OR-SEW block per further width, average pooling, FC; spike-only."""
    from snn_export.deploy.compliance import check_graph
    from snn_export.train.architectures import table_ix
    channels = (4, 8, 8, 8)
    graph = table_ix(input_shape, 10, 8, 1 / 255, channels, dataset=dataset,
                     attention=attention)
    size = shapes(graph)
    assert check_graph(graph) == []
    convs = _convs(graph)
    assert convs[0] == ("stem_conv", 4, *stem)
    assert convs[1:5] == [(f"conv{k}_conv", 4, 3, 1) for k in range(1, 5)]
    for s, c in enumerate(channels[1:], 1):  # block: a (stride 2), b, the 1x1 shortcut
        assert convs[2 + 3 * s:5 + 3 * s] == [(f"s{s}b1_a_conv", c, 3, 2),
                                              (f"s{s}b1_b_conv", c, 3, 1),
                                              (f"s{s}b1_down_conv", c, 1, 2)]
    assert len(convs) == 14
    pools = [n for n in graph.nodes if n.op == "maxpool"]
    assert [(p.get("kernel"), p.get("stride"), p.get("padding")) for p in pools] == \
        ([(3, 2, 1)] if pooled else [])
    assert [n.name for n in graph.nodes if n.op == "or"] == ["s1b1", "s2b1", "s3b1"]
    assert size["s3b1"] == (8, side, side) and size["out"] == (10,)
    gates = [n.name for n in graph.nodes if n.op == "andnot"]
    assert gates == ([] if attention is None else
                     [f"s{s}b1_{m}_gate" for s in (1, 2, 3) for m in ("ma", "ia")])
    assert ("adaptive_pool" in size) == (input_shape[1] == 96)


def test_table_ix_defaults_are_the_papers_and_128_frames_are_refused():
    from snn_export.train.architectures import orrc_table9, syna_table9
    graph = syna_table9((2, 32, 32), 11, 1, 1.0, dataset="dvs_gesture")
    assert [c for _, c, _, _ in _convs(graph)] == [64] * 5 + [128] * 3 + [256] * 3 + [512] * 3
    with pytest.raises(ValueError, match="AdaptiveAP"):
        orrc_table9((2, 128, 128), 10, 1, 1.0, dataset="cifar10_dvs")


def test_resnet18_19_and_biasnn_ms_resnet18_layouts():
    """ResNet-18: 4 stages of 2 OR-SEW blocks; ResNet-19: 3, 3, 2 and a hidden FC layer;
    BIASNN: an ALIF mask on blocks 2, 4 and 6 (every other block, not the last)."""
    from snn_export.deploy.compliance import check_graph
    from snn_export.train.architectures import (biasnn_ms_resnet18, resnet18, resnet19,
                                                syna_resnet19)
    shape = (3, 32, 32)
    r18 = resnet18(shape, 10, 8, 1 / 255, (4, 8, 8, 8))
    assert [n.name for n in r18.nodes if n.op == "or"] == \
        [f"s{s}b{k}" for s in range(1, 5) for k in (1, 2)]
    assert shapes(r18)["s4b2"] == (8, 4, 4)
    r19 = resnet19(shape, 10, 8, 1 / 255, (4, 8, 8))
    assert [n.name for n in r19.nodes if n.op == "or"] == \
        [f"s{s}b{k}" for s, n in ((1, 3), (2, 3), (3, 2)) for k in range(1, n + 1)]
    assert shapes(r19)["fc_h1"] == (256,) and shapes(r19)["s3b2"] == (8, 8, 8)
    syna = syna_resnet19(shape, 10, 8, 1 / 255, (4, 8, 8))
    assert sum(n.op == "andnot" for n in syna.nodes) == 16
    bias = biasnn_ms_resnet18(shape, 10, 8, 1 / 255, (4, 8, 8, 8))
    assert bias.node("stem_conv").get("kernel") == 7 and bias.node("stem_conv").get("stride") == 1
    assert [n.name for n in bias.nodes if n.op == "alif"] == ["s1b2_ma", "s2b2_ma", "s3b2_ma"]
    for graph in (r18, r19, syna, bias):
        assert check_graph(graph) == []


@pytest.mark.parametrize("arch, shape, dataset", [("syna_table9", (2, 32, 32), "dvs_gesture"),
                                                  ("biasnn_ms_resnet18", (3, 16, 16), None)])
def test_seed_networks_at_size_lower_and_match_the_emulator(arch, shape, dataset):
    """Narrow, lowered with T = 3, well below the depth: the trained model's quantized
    spikes equal the emulator's delayed by each group's depth, node for node (max pooling
    with padding included)."""
    from snn_export.deploy.lower_graph import lower_graph
    from snn_export.sim import emulator
    from snn_export.sim.verify import differing_from_model
    kwargs = {"dataset": dataset} if dataset else {}
    graph = ARCHITECTURES[arch](shape, 5, 1, 1.0, channels=(2, 4, 4, 4), **kwargs)
    model = _lively(GraphSNN(graph))
    with torch.no_grad():
        for node in graph.nodes:  # the input layer lively at 1 bit
            if node.op == "batchnorm":
                model.ops[node.name].running_mean.uniform_(-0.5, 0.0)
    model.quantized_mode = True
    steps = 3
    torch.manual_seed(1)
    x = torch.randint(0, 2, (2, *shape))
    with torch.no_grad():
        trained = model(x, steps)
    net = lower_graph(graph, model.tensors(), steps)
    assert net.time_steps == steps + latencies(graph)[graph.readout]
    emu = emulator.run(net, x.numpy())
    assert sum(int(t.sum()) for t in trained.values()) > 0
    assert differing_from_model(net, emu, trained) == 0


@pytest.mark.parametrize("kernel, stride, padding, side", [(3, 2, 1, 7), (2, 2, 1, 6),
                                                           (3, 1, 1, 5)])
def test_padded_maxpool_of_spikes_trains_as_it_deploys(kernel, stride, padding, side):
    """maxpool with padding: shapes, the training forward (the OR of each window, padded
    taps silent) and the lowered sum-pool gate agree."""
    from snn_export.deploy.lower_graph import lower_graph
    from snn_export.sim import emulator
    from snn_export.sim.verify import differing_from_model
    from snn_export.train.architectures import lif
    nodes = [Node("c1", "conv", ("input",), {"out_channels": 3, "kernel": 3, "padding": 1}),
             Node("l1", "lif", ("c1",), lif(threshold=0.5)),
             Node("pool", "maxpool", ("l1",), {"kernel": kernel, "stride": stride,
                                               "padding": padding}),
             Node("c2", "conv", ("pool",), {"out_channels": 2, "kernel": 1}),
             Node("out", "lif", ("c2",), lif(threshold=0.5))]
    graph = ModelGraph((1, side, side), 1, 1.0, nodes)
    expect = (side + 2 * padding - kernel) // stride + 1
    assert shapes(graph)["pool"] == (3, expect, expect)
    torch.manual_seed(0)
    model = GraphSNN(graph).eval()
    model.quantized_mode = True
    x = torch.randint(0, 2, (4, 1, side, side))
    with torch.no_grad():
        trained = model(x, 6)
    net = lower_graph(graph, model.tensors(), 6)
    assert trained["pool"].sum() > 0
    assert differing_from_model(net, emulator.run(net, x.numpy()), trained) == 0
    bad = ModelGraph((1, 6, 6), 1, 1.0, [*nodes[:2], Node("pool", "maxpool", ("l1",),
                                                          {"kernel": 2, "padding": 2})])
    with pytest.raises(SnnExportError, match="half the kernel"):
        shapes(bad)

