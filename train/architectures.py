"""Graph architectures from the seed papers: deployable (spike-only) variants, and published
forms for comparison (float only; the compliance check says what blocks them).

Each builder returns a :class:`~snn_export.model_graph.ModelGraph`; :class:`GraphSNN
<snn_export.train.graph_model.GraphSNN>` trains it and the deploy stage lowers it.

- :func:`sew_resnet`: SEW-style basic blocks (SEW ResNet) whose residual join is chosen:
  ``or`` (ORRC, the OR-Spiking ResNet of the SynA paper: :func:`orrc_resnet`), ``and``,
  ``iand`` (``(NOT block) AND shortcut``) on binary spikes, or SEW's ``add`` (spike counts:
  deployable only where the user allows graded joins); downsampling shortcuts are conv 1x1
  (stride 2) + batch norm + LIF.
- :func:`syna_resnet`: SynA-ResNet (seed 004), spike-only or as published;
  :func:`ms_resnet`: MS-ResNet's membrane shortcut, as published (reference, non-deployable).
- :func:`attention_net`: binary spiking attention masks applied by gating: a channel mask
  (SynA-C inhibitory attention: global average pooling, conv 1x1, LIF) and a spatial mask
  from adaptive-threshold neurons (BIASNN: conv, batch norm, ALIF), each applied as
  ``x AND NOT mask``.
"""
from __future__ import annotations

from snn_export.model_graph import ModelGraph, Node, shapes


class _Builder:
    def __init__(self, neuron: dict):
        self.nodes: list[Node] = []
        self.neuron = neuron

    def add(self, name: str, op: str, inputs, **attrs) -> str:
        self.nodes.append(Node(name, op, tuple(inputs), attrs))
        return name

    def conv_bn_lif(self, name: str, src: str, out: int, kernel: int = 3, stride: int = 1,
                    neuron: dict | None = None) -> str:
        self.add(f"{name}_conv", "conv", [src], out_channels=out, kernel=kernel, stride=stride,
                 padding=kernel // 2, bias=False)
        self.add(f"{name}_bn", "batchnorm", [f"{name}_conv"])
        n = neuron or self.neuron
        return self.add(name, n.get("op", "lif"), [f"{name}_bn"],
                        **{k: v for k, v in n.items() if k != "op"})

    def channel_mask(self, name: str, src: str, shape: tuple) -> str:
        """A binary channel mask (C, 1, 1) from spikes: global average pooling, conv 1x1,
        LIF (SynA-C with a spiking neuron in place of the float activation)."""
        self.add(f"{name}_pool", "avgpool", [src], kernel=[shape[1], shape[2]])
        self.add(f"{name}_conv", "conv", [f"{name}_pool"], out_channels=shape[0], kernel=1)
        return self.add(name, "lif", [f"{name}_conv"], **self.neuron)

    def head(self, src: str, shape: tuple, num_classes: int) -> str:
        """Global average pooling of spikes, then a linear readout (batch-normalised) into
        LIF neurons."""
        self.add("pool", "avgpool", [src], kernel=[shape[1], shape[2]])
        self.add("flat", "flatten", ["pool"])
        self.add("fc", "linear", ["flat"], out_features=num_classes)
        self.add("fc_bn", "batchnorm", ["fc"])
        return self.add("out", "lif", ["fc_bn"], **self.neuron)


def lif(tau_mem: float = 2.0, threshold: float = 1.0, tau_syn: float | None = None) -> dict:
    return {"tau_mem": tau_mem, "tau_syn": tau_syn, "threshold": threshold}


JOIN_OPS = {"or": "or", "and": "and", "iand": "andnot", "add": "add"}


def sew_resnet(input_shape, num_classes: int, input_bits: int, input_scale: float,
               channels=(8, 16), blocks: int = 1, neuron: dict | None = None,
               join: str = "add", attention: bool = False) -> ModelGraph:
    """Stem conv (stride 2 for inputs of 16x16 and more), then per stage ``blocks`` residual
    blocks joined by ``join`` (one of :data:`JOIN_OPS`; the first block of every stage after
    the first halves the resolution), then the pooled linear readout.

    attention: SynA-C in its spike-only form: a binary channel mask on the backbone (MA)
    and one on the shortcut (IA), each applied as ``x AND NOT mask`` (a silent mask passes
    everything, so training starts from the plain residual network; a mask that always
    fires prunes its path, seed 004's "natural pruning")."""
    if join not in JOIN_OPS:
        raise ValueError(f"join {join!r}: use one of {', '.join(JOIN_OPS)}")
    b = _Builder(neuron or lif())
    stem_stride = 2 if min(input_shape[1:]) >= 16 else 1  # 28x28: work at 14x14
    x = b.conv_bn_lif("stem", "input", channels[0], stride=stem_stride)
    c, h, w = channels[0], *[(n + stem_stride - 1) // stem_stride for n in input_shape[1:]]
    for s, out in enumerate(channels):
        for k in range(blocks):
            name = f"s{s + 1}b{k + 1}"
            stride = 2 if (s > 0 and k == 0) else 1
            y = b.conv_bn_lif(f"{name}_a", x, out, stride=stride)
            y = b.conv_bn_lif(f"{name}_b", y, out)
            short = x if (stride == 1 and out == c) else \
                b.conv_bn_lif(f"{name}_down", x, out, kernel=1, stride=stride)
            c, h, w = out, (h + stride - 1) // stride, (w + stride - 1) // stride
            if attention:
                ma = b.channel_mask(f"{name}_ma", y, (c, h, w))
                y = b.add(f"{name}_ma_gate", "andnot", [y, ma])
                ia = b.channel_mask(f"{name}_ia", short, (c, h, w))
                short = b.add(f"{name}_ia_gate", "andnot", [short, ia])
            inputs = [short, y] if join == "iand" else [y, short]  # IAND: short AND NOT y
            x = b.add(name, JOIN_OPS[join], inputs)
    b.head(x, (c, h, w), num_classes)
    return ModelGraph(tuple(input_shape), input_bits, input_scale, b.nodes)


def orrc_resnet(input_shape, num_classes: int, input_bits: int, input_scale: float,
                channels=(8, 16), blocks: int = 1, neuron: dict | None = None) -> ModelGraph:
    """The OR-Spiking ResNet: :func:`sew_resnet` with OR joins."""
    return sew_resnet(input_shape, num_classes, input_bits, input_scale, channels, blocks,
                      neuron, join="or")


def syna_resnet(input_shape, num_classes: int, input_bits: int, input_scale: float,
                channels=(8, 16), blocks: int = 1, neuron: dict | None = None,
                published: bool = False) -> ModelGraph:
    """SynA-ResNet: the OR-Spiking ResNet with SynA-C on every block.

    Spike-only (default): binary channel masks on the backbone and the shortcut
    (:func:`sew_resnet` with ``join="or", attention=True``). ``published=True``: seed 004's
    form, non-deployable: the backbone's MA scales features by sigmoid channel weights (a
    float activation and a float multiply), the shortcut's IA multiplies by a spiking mask.
    """
    if not published:
        return sew_resnet(input_shape, num_classes, input_bits, input_scale, channels, blocks,
                          neuron, join="or", attention=True)
    graph = orrc_resnet(input_shape, num_classes, input_bits, input_scale, channels, blocks,
                        neuron)
    b = _Builder(neuron or lif())
    size = shapes(graph)
    for node in graph.nodes:
        if node.op != "or":
            b.nodes.append(node)
            continue
        y, short = node.inputs
        c, h, w = size[y]
        b.add(f"{node.name}_ma_pool", "avgpool", [y], kernel=[h, w])
        b.add(f"{node.name}_ma_conv", "conv", [f"{node.name}_ma_pool"], out_channels=c, kernel=1)
        b.add(f"{node.name}_ma", "sigmoid", [f"{node.name}_ma_conv"])
        y = b.add(f"{node.name}_ma_scaled", "mul", [y, f"{node.name}_ma"])
        ia = b.channel_mask(f"{node.name}_ia", short, (c, h, w))
        short = b.add(f"{node.name}_ia_gate", "and", [short, ia])
        b.add(node.name, "add", [y, short])  # features and spikes: a real-valued join
    return ModelGraph(tuple(input_shape), input_bits, input_scale, b.nodes)


def ms_resnet(input_shape, num_classes: int, input_bits: int, input_scale: float,
              channels=(8, 16), blocks: int = 1, neuron: dict | None = None) -> ModelGraph:
    """MS-ResNet (membrane shortcut), as published, non-deployable: each block adds its
    batch-normalised output to the block input's real values (``m + BN(conv(LIF(...)))``),
    so real values pass between blocks; the downsampling shortcut is conv 1x1 + batch norm
    of the input's spikes."""
    b = _Builder(neuron or lif())
    stem_stride = 2 if min(input_shape[1:]) >= 16 else 1
    b.add("stem_conv", "conv", ["input"], out_channels=channels[0], kernel=3, padding=1,
          stride=stem_stride, bias=False)
    m = b.add("stem_bn", "batchnorm", ["stem_conv"])
    c, h, w = channels[0], *[(n + stem_stride - 1) // stem_stride for n in input_shape[1:]]
    for s, out in enumerate(channels):
        for k in range(blocks):
            name = f"s{s + 1}b{k + 1}"
            stride = 2 if (s > 0 and k == 0) else 1
            x = b.add(f"{name}_in", "lif", [m], **b.neuron)
            y = b.conv_bn_lif(f"{name}_a", x, out, stride=stride)
            b.add(f"{name}_b_conv", "conv", [y], out_channels=out, kernel=3, padding=1,
                  bias=False)
            y = b.add(f"{name}_b_bn", "batchnorm", [f"{name}_b_conv"])
            if stride != 1 or out != c:
                b.add(f"{name}_down_conv", "conv", [x], out_channels=out, kernel=1,
                      stride=stride, bias=False)
                m = b.add(f"{name}_down_bn", "batchnorm", [f"{name}_down_conv"])
            m = b.add(name, "add", [y, m])
            c, h, w = out, (h + stride - 1) // stride, (w + stride - 1) // stride
    x = b.add("last", "lif", [m], **b.neuron)
    b.head(x, (c, h, w), num_classes)
    return ModelGraph(tuple(input_shape), input_bits, input_scale, b.nodes)


def attention_net(input_shape, num_classes: int, input_bits: int, input_scale: float,
                  channels: int = 8, neuron: dict | None = None) -> ModelGraph:
    """Stem, one conv layer, a channel mask and an ALIF spatial mask (each gating by
    AND NOT), then the pooled linear readout."""
    b = _Builder(neuron or lif())
    x = b.conv_bn_lif("stem", "input", channels)
    x = b.conv_bn_lif("conv1", x, channels)
    h, w = input_shape[1], input_shape[2]
    b.channel_mask("ca_mask", x, (channels, h, w))  # (C, 1, 1): 1 inhibits the channel
    x = b.add("ca_gate", "andnot", [x, "ca_mask"])
    alif = {"op": "alif", "tau_mem": 2.0, "tau_syn": None, "threshold": 1.0,
            "theta_step": 0.5, "tau_theta": 8.0, "tau_r": 2.0}
    b.add("sa_conv", "conv", [x], out_channels=1, kernel=3, padding=1, bias=False)
    b.add("sa_bn", "batchnorm", ["sa_conv"])
    b.add("sa_mask", "alif", ["sa_bn"], **{k: v for k, v in alif.items() if k != "op"})
    x = b.add("sa_gate", "andnot", [x, "sa_mask"])  # BIASNN: X * (1 - S)
    b.head(x, (channels, h, w), num_classes)
    return ModelGraph(tuple(input_shape), input_bits, input_scale, b.nodes)


def syna_resnet_published(*args, **kwargs) -> ModelGraph:
    """:func:`syna_resnet` with ``published=True``."""
    return syna_resnet(*args, **kwargs, published=True)


ARCHITECTURES = {"orrc_resnet": orrc_resnet, "sew_resnet": sew_resnet,
                 "syna_resnet": syna_resnet, "syna_resnet_published": syna_resnet_published,
                 "ms_resnet": ms_resnet, "attention_net": attention_net}
