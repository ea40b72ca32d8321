"""Graph architectures from the seed papers: deployable (spike-only) variants, and published
forms for comparison (float only; the compliance check says what blocks them).

Each builder returns a :class:`~snn_export.model_graph.ModelGraph`; :class:`GraphSNN
<snn_export.train.graph_model.GraphSNN>` trains it and the deploy stage lowers it.

- :func:`dense`: a chain of Dense + LIF layers (``snn-train``'s default).
- the seed networks at their published sizes (default widths: the papers'):
  :func:`table_ix` (seed 004's Table IX for MNIST / DVS Gesture / CIFAR10-DVS:
  :func:`orrc_table9`, :func:`syna_table9`, :func:`syna_s_table9`),
  :func:`biasnn_ms_resnet18` (seed 000 on an MS-ResNet18-shaped spike-only backbone),
  :func:`resnet18` and :func:`resnet19` (spike-only, optionally SynA-C:
  :func:`syna_resnet18`, :func:`syna_resnet19`).
- :func:`sew_resnet`: SEW-style basic blocks (SEW ResNet) whose residual join is chosen:
  ``or`` (ORRC, the OR-Spiking ResNet of the SynA paper: :func:`orrc_resnet`), ``and``,
  ``iand`` (``(NOT block) AND shortcut``) on binary spikes, or SEW's ``add`` (spike counts:
  deployable only where the user allows graded joins); downsampling shortcuts are conv 1x1
  (stride 2) + batch norm + LIF.
- :func:`syna_resnet`: SynA-ResNet (seed 004), spike-only with channel (SynA-C) or spatial
  (SynA-S, :func:`syna_s_resnet`) masks, or as published (:func:`syna_resnet_published`).
- :func:`biasnn_resnet`: BIASNN (seed 000) made deployable, an ALIF binary spatial mask
  from each block's spikes; :func:`biasnn_published`: as published on MS-ResNet.
- :func:`ms_resnet`: MS-ResNet's membrane shortcut, as published (reference, non-deployable).
- :func:`attention_net`: binary spiking attention masks applied by gating: a channel mask
  (SynA-C inhibitory attention: global average pooling, conv 1x1, LIF) and a spatial mask
  from adaptive-threshold neurons (BIASNN: conv, batch norm, ALIF), each applied as
  ``x AND NOT mask``.
- reference blocks as published, on a plain spiking CNN: :func:`ma_snn` (seed 001),
  :func:`staa_snn` (seed 002), :func:`spikeatconv` (seed 003).

Every builder takes ``head`` (:data:`HEADS`): the readout reads each channel's average or
every spike of the last stage.
"""
from __future__ import annotations

import math

from snn_export.model_graph import ModelGraph, Node, dense_chain, shapes


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

    def spatial_mask(self, name: str, src: str, neuron: dict | None = None) -> str:
        """A binary spatial mask (1, H, W) from spikes: conv 3x3 to one channel, batch norm,
        a spiking neuron (LIF: SynA-S, whose pooling over channels the conv learns; ALIF:
        BIASNN)."""
        self.add(f"{name}_conv", "conv", [src], out_channels=1, kernel=3, padding=1, bias=False)
        self.add(f"{name}_bn", "batchnorm", [f"{name}_conv"])
        n = neuron or self.neuron
        return self.add(name, n.get("op", "lif"), [f"{name}_bn"],
                        **{k: v for k, v in n.items() if k != "op"})

    def attend(self, name: str, attention: str, y: str, short: str,
               shape: tuple) -> tuple[str, str]:
        """Gate a block's backbone ``y`` (MA) and, for SynA, its shortcut (IA) with binary
        masks (``x AND NOT mask``); see :func:`sew_resnet`."""
        if attention == "syna_c":
            ma, ia = self.channel_mask(f"{name}_ma", y, shape), \
                self.channel_mask(f"{name}_ia", short, shape)
        elif attention == "syna_s":
            ma, ia = self.spatial_mask(f"{name}_ma", y), self.spatial_mask(f"{name}_ia", short)
        else:  # biasnn
            ma, ia = self.spatial_mask(f"{name}_ma", y, BIASNN_ALIF), None
        y = self.add(f"{name}_ma_gate", "andnot", [y, ma])
        if ia is not None:
            short = self.add(f"{name}_ia_gate", "andnot", [short, ia])
        return y, short

    def block(self, name: str, x: str, shape: tuple, out: int, stride: int = 1,
              join: str = "or", attention: str | None = None) -> tuple[str, tuple]:
        """A SEW basic block on spikes ``x`` of ``shape`` (C, H, W): conv 3x3 (``stride``) +
        batch norm + LIF, conv 3x3 + batch norm + LIF, joined by ``join`` (one of
        :data:`JOIN_OPS`) with the shortcut: ``x`` itself, or where the stride or the
        channels change a conv 1x1 (``stride``) + batch norm + LIF; ``attention`` (one of
        :data:`ATTENTION`) gates the two paths first (:meth:`attend`). Returns the join and
        its shape. ``join="or"``: seed 004's OR-SEW block."""
        c, h, w = shape
        y = self.conv_bn_lif(f"{name}_a", x, out, stride=stride)
        y = self.conv_bn_lif(f"{name}_b", y, out)
        short = x if (stride == 1 and out == c) else \
            self.conv_bn_lif(f"{name}_down", x, out, kernel=1, stride=stride)
        shape = (out, (h + stride - 1) // stride, (w + stride - 1) // stride)
        if attention:
            y, short = self.attend(name, attention, y, short, shape)
        inputs = [short, y] if join == "iand" else [y, short]  # IAND: short AND NOT y
        return self.add(name, JOIN_OPS[join], inputs), shape

    def biasnn_published(self, name: str, x: str) -> str:
        """BIASNN's attention as published on real values ``x``: ``x * (1 - S)``, S the
        ALIF spikes of the inverted, min-max normalised attention map (see :func:`ms_resnet`)."""
        self.add(f"{name}_pool", "conv", [x], out_channels=2, kernel=1, bias=False)
        self.add(f"{name}_dw", "conv", [f"{name}_pool"], out_channels=2, kernel=3, padding=1,
                 groups=2, bias=False)
        self.add(f"{name}_pw", "conv", [f"{name}_dw"], out_channels=1, kernel=1)
        self.add(f"{name}_norm", "minmax", [f"{name}_pw"])
        self.add(f"{name}_inv", "invert", [f"{name}_norm"])
        self.add(f"{name}_s", "alif", [f"{name}_inv"],
                 **{k: v for k, v in BIASNN_ALIF.items() if k != "op"})
        self.add(f"{name}_u", "invert", [f"{name}_s"])
        return self.add(name, "mul", [x, f"{name}_u"])

    def head(self, src: str, shape: tuple, num_classes: int, head: str = "pool",
             hidden: tuple = ()) -> str:
        """The linear readout (batch-normalised) into LIF neurons, reading the global average
        of every channel's spikes (``head="pool"``) or every spike (``"flatten"``: C*H*W
        inputs, more to learn from at a larger fan-in); ``hidden``: sizes of linear + batch
        norm + LIF layers in between (``fc_h<k>``)."""
        if head not in HEADS:
            raise ValueError(f"head {head!r}: use one of {', '.join(HEADS)}")
        if head == "pool":
            src = self.add("pool", "avgpool", [src], kernel=[shape[1], shape[2]])
        src = self.add("flat", "flatten", [src])
        for k, n in enumerate(hidden, 1):
            self.add(f"fc_h{k}_fc", "linear", [src], out_features=int(n))
            self.add(f"fc_h{k}_bn", "batchnorm", [f"fc_h{k}_fc"])
            src = self.add(f"fc_h{k}", "lif", [f"fc_h{k}_bn"], **self.neuron)
        self.add("fc", "linear", [src], out_features=num_classes)
        self.add("fc_bn", "batchnorm", ["fc"])
        return self.add("out", "lif", ["fc_bn"], **self.neuron)


def lif(tau_mem: float = 2.0, threshold: float = 1.0, tau_syn: float | None = None) -> dict:
    return {"tau_mem": tau_mem, "tau_syn": tau_syn, "threshold": threshold}


HEADS = ("pool", "flatten")
# BIASNN's adaptive-threshold mask neuron (Eq. 9-13, causal: per-sample state)
BIASNN_ALIF = {"op": "alif", "tau_mem": 2.0, "tau_syn": None, "threshold": 1.0,
               "theta_step": 0.5, "tau_theta": 8.0, "tau_r": 2.0}
ATTENTION = ("syna_c", "syna_s", "biasnn")
JOIN_OPS = {"or": "or", "and": "and", "iand": "andnot", "add": "add"}


def sew_resnet(input_shape, num_classes: int, input_bits: int, input_scale: float,
               channels=(8, 16), blocks: int = 1, neuron: dict | None = None,
               join: str = "add", attention: str | None = None,
               head: str = "pool") -> ModelGraph:
    """Stem conv (stride 2 for inputs of 16x16 and more), then per stage ``blocks`` residual
    blocks joined by ``join`` (one of :data:`JOIN_OPS`; the first block of every stage after
    the first halves the resolution), then the linear readout.

    attention (one of :data:`ATTENTION`), binary masks applied as ``x AND NOT mask`` (a
    silent mask passes everything, so training starts from the plain residual network; a
    mask that always fires prunes its path, seed 004's "natural pruning"):
    ``"syna_c"``: SynA-C in spike-only form, a channel mask on the backbone (MA) and one on
    the shortcut (IA); ``"syna_s"``: SynA-S, spatial masks there; ``"biasnn"``: BIASNN's
    adaptive-threshold (ALIF) spatial mask on the backbone, computed from spikes."""
    if join not in JOIN_OPS:
        raise ValueError(f"join {join!r}: use one of {', '.join(JOIN_OPS)}")
    if attention not in (None, *ATTENTION):
        raise ValueError(f"attention {attention!r}: use one of {', '.join(ATTENTION)}")
    if attention and join == "add":
        raise ValueError("attention masks gate binary spikes, but an ADD join passes spike "
                         "counts to the next block: use join or, and or iand with attention")
    b = _Builder(neuron or lif())
    stem_stride = 2 if min(input_shape[1:]) >= 16 else 1  # 28x28: work at 14x14
    x = b.conv_bn_lif("stem", "input", channels[0], stride=stem_stride)
    shape = (channels[0], *[(n + stem_stride - 1) // stem_stride for n in input_shape[1:]])
    x, shape = _stages(b, x, shape, [(out, blocks, 2 if s else 1)
                                     for s, out in enumerate(channels)], join, attention)
    b.head(x, shape, num_classes, head)
    return ModelGraph(tuple(input_shape), input_bits, input_scale, b.nodes)


def _stages(b: _Builder, x: str, shape: tuple, stages, join: str = "or",
            attention: str | None = None, attended=None) -> tuple[str, tuple]:
    """Residual stages of :meth:`_Builder.block`: ``stages`` lists (channels, blocks, stride
    of the stage's first block); block ``k`` of stage ``s`` is ``s<s>b<k>`` (from 1).
    attended: which blocks, numbered 1.. over the whole network, carry ``attention``
    (default: all)."""
    n = 0
    for s, (out, count, stride) in enumerate(stages):
        for k in range(count):
            n += 1
            x, shape = b.block(f"s{s + 1}b{k + 1}", x, shape, out, stride if k == 0 else 1,
                               join, attention if attended is None or attended(n) else None)
    return x, shape


def orrc_resnet(input_shape, num_classes: int, input_bits: int, input_scale: float,
                channels=(8, 16), blocks: int = 1, neuron: dict | None = None,
                head: str = "pool") -> ModelGraph:
    """The OR-Spiking ResNet: :func:`sew_resnet` with OR joins."""
    return sew_resnet(input_shape, num_classes, input_bits, input_scale, channels, blocks,
                      neuron, join="or", head=head)


def syna_resnet(input_shape, num_classes: int, input_bits: int, input_scale: float,
                channels=(8, 16), blocks: int = 1, neuron: dict | None = None,
                published: bool = False, head: str = "pool",
                form: str = "channel", time_steps: int | None = None) -> ModelGraph:
    """SynA-ResNet: the OR-Spiking ResNet with SynA on every block.

    Spike-only (default): binary masks on the backbone and the shortcut, per channel
    (``form="channel"``, SynA-C) or per pixel (``"spatial"``, SynA-S): :func:`sew_resnet`
    with ``join="or"``. ``published=True``: seed 004's SynA, non-deployable: the
    backbone's MA scales features by sigmoid weights (a float activation and a float
    multiply), the shortcut's IA multiplies by a spiking mask, per channel
    (``form="channel"``, SynA-C) or per time step (``"temporal"``, SynA-T, which needs
    ``time_steps``: each step's weight is a learned linear map (``time_linear``) of every
    step's pooled activity, so it needs the whole sample first: ``causal/temporal-pool``).
    SynA-T's stand-ins: a conv 1x1 to one channel pools the channels (for max and mean
    pooling) and one linear map over the steps replaces the bottleneck MLP.
    """
    forms = {"channel": "syna_c", "spatial": "syna_s", "temporal": None}
    if form not in forms or (published and form == "spatial") or \
            (not published and form == "temporal"):
        raise ValueError(f"form {form!r}: use channel or spatial (published: channel or "
                         "temporal)")
    if form == "temporal" and not time_steps:
        raise ValueError("SynA-T maps the time axis: give time_steps")
    if not published:
        return sew_resnet(input_shape, num_classes, input_bits, input_scale, channels, blocks,
                          neuron, join="or", attention=forms[form], head=head)
    graph = orrc_resnet(input_shape, num_classes, input_bits, input_scale, channels, blocks,
                        neuron, head)
    b = _Builder(neuron or lif())
    size = shapes(graph)
    for node in graph.nodes:
        if node.op != "or":
            b.nodes.append(node)
            continue
        y, short = node.inputs
        c, h, w = size[y]
        if form == "temporal":
            ma = b.add(f"{node.name}_ma", "sigmoid", [_step_weights(b, f"{node.name}_ma", y,
                                                                    (c, h, w), time_steps)])
            ia = b.add(f"{node.name}_ia", "lif", [_step_weights(b, f"{node.name}_ia", short,
                                                                (c, h, w), time_steps)],
                       **b.neuron)
        else:
            b.add(f"{node.name}_ma_pool", "avgpool", [y], kernel=[h, w])
            b.add(f"{node.name}_ma_conv", "conv", [f"{node.name}_ma_pool"], out_channels=c,
                  kernel=1)
            ma = b.add(f"{node.name}_ma", "sigmoid", [f"{node.name}_ma_conv"])
            ia = b.channel_mask(f"{node.name}_ia", short, (c, h, w))
        y = b.add(f"{node.name}_ma_scaled", "mul", [y, ma])
        short = b.add(f"{node.name}_ia_gate", "and", [short, ia])
        b.add(node.name, "add", [y, short])  # features and spikes: a real-valued join
    return ModelGraph(tuple(input_shape), input_bits, input_scale, b.nodes)


def _step_weights(b: _Builder, name: str, x: str, shape: tuple, time_steps: int) -> str:
    """SynA-T's temporal scores (1, 1, 1) per step: ``x`` pooled over space (average) and
    channels (a conv 1x1 to one channel), then a linear map over all steps."""
    b.add(f"{name}_pool", "avgpool", [x], kernel=list(shape[1:]))
    b.add(f"{name}_conv", "conv", [f"{name}_pool"], out_channels=1, kernel=1)
    return b.add(f"{name}_time", "time_linear", [f"{name}_conv"], steps=time_steps)


def ms_resnet(input_shape, num_classes: int, input_bits: int, input_scale: float,
              channels=(8, 16), blocks: int = 1, neuron: dict | None = None,
              head: str = "pool", attention: bool = False) -> ModelGraph:
    """MS-ResNet (membrane shortcut), as published, non-deployable: each block adds its
    batch-normalised output to the block input's real values (``m + BN(conv(LIF(...)))``),
    so real values pass between blocks; the downsampling shortcut is conv 1x1 + batch norm
    of the input's spikes.

    attention: BIASNN as published, on every block's output ``X`` before the shortcut:
    pooling over channels (a learned conv 1x1 to two maps, in place of [max; mean]), a
    depthwise-separable conv, per-channel min-max normalisation, inversion, ALIF neurons,
    and ``X * (1 - S)``: float operations on real values throughout."""
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
            if attention:
                y = b.biasnn_published(f"{name}_att", y)
            if stride != 1 or out != c:
                b.add(f"{name}_down_conv", "conv", [x], out_channels=out, kernel=1,
                      stride=stride, bias=False)
                m = b.add(f"{name}_down_bn", "batchnorm", [f"{name}_down_conv"])
            m = b.add(name, "add", [y, m])
            c, h, w = out, (h + stride - 1) // stride, (w + stride - 1) // stride
    x = b.add("last", "lif", [m], **b.neuron)
    b.head(x, (c, h, w), num_classes, head)
    return ModelGraph(tuple(input_shape), input_bits, input_scale, b.nodes)


def attention_net(input_shape, num_classes: int, input_bits: int, input_scale: float,
                  channels: int = 8, neuron: dict | None = None,
                  head: str = "pool") -> ModelGraph:
    """Stem, one conv layer, a channel mask and an ALIF spatial mask (each gating by
    AND NOT), then the pooled linear readout."""
    b = _Builder(neuron or lif())
    x = b.conv_bn_lif("stem", "input", channels)
    x = b.conv_bn_lif("conv1", x, channels)
    h, w = input_shape[1], input_shape[2]
    b.channel_mask("ca_mask", x, (channels, h, w))  # (C, 1, 1): 1 inhibits the channel
    x = b.add("ca_gate", "andnot", [x, "ca_mask"])
    b.spatial_mask("sa_mask", x, BIASNN_ALIF)
    x = b.add("sa_gate", "andnot", [x, "sa_mask"])  # BIASNN: X * (1 - S)
    b.head(x, (channels, h, w), num_classes, head)
    return ModelGraph(tuple(input_shape), input_bits, input_scale, b.nodes)


def syna_resnet_published(input_shape, num_classes: int, input_bits: int, input_scale: float,
                          channels=(8, 16), blocks: int = 1, neuron: dict | None = None,
                          head: str = "pool") -> ModelGraph:
    """:func:`syna_resnet` with ``published=True``."""
    return syna_resnet(input_shape, num_classes, input_bits, input_scale, channels, blocks,
                       neuron, published=True, head=head)


def syna_t_resnet(input_shape, num_classes: int, input_bits: int, input_scale: float,
                  channels=(8, 16), blocks: int = 1, neuron: dict | None = None,
                  head: str = "pool", time_steps: int = 16) -> ModelGraph:
    """:func:`syna_resnet` as published with temporal attention (SynA-T), non-deployable;
    built for ``time_steps`` steps."""
    return syna_resnet(input_shape, num_classes, input_bits, input_scale, channels, blocks,
                       neuron, published=True, head=head, form="temporal",
                       time_steps=time_steps)


def syna_s_resnet(input_shape, num_classes: int, input_bits: int, input_scale: float,
                  channels=(8, 16), blocks: int = 1, neuron: dict | None = None,
                  head: str = "pool") -> ModelGraph:
    """:func:`syna_resnet` with spatial masks (SynA-S)."""
    return syna_resnet(input_shape, num_classes, input_bits, input_scale, channels, blocks,
                       neuron, head=head, form="spatial")


def biasnn_resnet(input_shape, num_classes: int, input_bits: int, input_scale: float,
                  channels=(8, 16), blocks: int = 1, neuron: dict | None = None,
                  head: str = "pool") -> ModelGraph:
    """BIASNN, deployable: the OR-Spiking ResNet with an ALIF binary spatial mask computed
    from each block's spikes and gating them (:func:`sew_resnet`, ``attention="biasnn"``)."""
    return sew_resnet(input_shape, num_classes, input_bits, input_scale, channels, blocks,
                      neuron, join="or", attention="biasnn", head=head)


def biasnn_published(input_shape, num_classes: int, input_bits: int, input_scale: float,
                     channels=(8, 16), blocks: int = 1, neuron: dict | None = None,
                     head: str = "pool") -> ModelGraph:
    """BIASNN as published: :func:`ms_resnet` with ``attention=True``."""
    return ms_resnet(input_shape, num_classes, input_bits, input_scale, channels, blocks, neuron,
                     head, attention=True)


def _reference_cnn(input_shape, num_classes: int, input_bits: int, input_scale: float,
                   channels, neuron: dict | None, head: str, block) -> ModelGraph:
    """A plain spiking CNN carrying a published attention block: the stem, then per
    channel count a conv 3x3 (stride 2 after the first stage) with batch norm, ``block(b,
    name, x, shape)`` on that real-valued output, and LIF neurons; the readout."""
    b = _Builder(neuron or lif())
    stem_stride = 2 if min(input_shape[1:]) >= 16 else 1
    x = b.conv_bn_lif("stem", "input", channels[0], stride=stem_stride)
    h, w = [(n + stem_stride - 1) // stem_stride for n in input_shape[1:]]
    for s, c in enumerate(channels):
        stride = 2 if s > 0 else 1
        name = f"s{s + 1}"
        b.add(f"{name}_conv", "conv", [x], out_channels=c, kernel=3, stride=stride, padding=1,
              bias=False)
        h, w = (h + stride - 1) // stride, (w + stride - 1) // stride
        y = block(b, f"{name}_att", b.add(f"{name}_bn", "batchnorm", [f"{name}_conv"]),
                  (c, h, w))
        x = b.add(name, "lif", [y], **b.neuron)
    b.head(x, (c, h, w), num_classes, head)
    return ModelGraph(tuple(input_shape), input_bits, input_scale, b.nodes)


def _squeeze(b: _Builder, name: str, x: str, shape: tuple, pooled: str) -> str:
    """Channel weights in (0, 1): the pooled ``x``, a bottleneck MLP (conv 1x1, ReLU, conv
    1x1, reduction 4) and a sigmoid."""
    c, h, w = shape
    b.add(f"{name}_pool", "avgpool", [pooled], kernel=[h, w])
    b.add(f"{name}_fc1", "conv", [f"{name}_pool"], out_channels=max(c // 4, 1), kernel=1)
    b.add(f"{name}_relu", "relu", [f"{name}_fc1"])
    b.add(f"{name}_fc2", "conv", [f"{name}_relu"], out_channels=c, kernel=1)
    return b.add(f"{name}_w", "sigmoid", [f"{name}_fc2"])


def _ma_block(b: _Builder, name: str, x: str, shape: tuple) -> str:
    """MA-SNN (seed 001): temporal, channel and spatial attention weights scale the
    membrane input. Temporal: weights from the mean over all steps (MA-SNN's temporal
    branch reads every step of the sample); channel: squeeze and excitation; spatial: a
    conv 3x3 to one map (in place of pooling over channels and a conv) and a sigmoid."""
    x = b.add(f"{name}_t", "mul", [x, _squeeze(b, f"{name}_t", x, shape,
                                               b.add(f"{name}_t_mean", "time_mean", [x]))])
    x = b.add(f"{name}_c", "mul", [x, _squeeze(b, f"{name}_c", x, shape, x)])
    b.add(f"{name}_s_conv", "conv", [x], out_channels=1, kernel=3, padding=1)
    b.add(f"{name}_s_w", "sigmoid", [f"{name}_s_conv"])
    return b.add(f"{name}_s", "mul", [x, f"{name}_s_w"])


def _staa_block(b: _Builder, name: str, x: str, shape: tuple) -> str:
    """STAA-SNN (seed 002): a global-context (GC) block, its context added to every
    position (average pooling in place of the softmax-weighted pooling), then step
    attention: weights from all steps scale each step. The learnable position encoding and
    time-step dropout are training details left out."""
    c, h, w = shape
    b.add(f"{name}_ctx", "avgpool", [x], kernel=[h, w])
    b.add(f"{name}_ctx1", "conv", [f"{name}_ctx"], out_channels=max(c // 4, 1), kernel=1)
    b.add(f"{name}_ctx_relu", "relu", [f"{name}_ctx1"])
    b.add(f"{name}_ctx2", "conv", [f"{name}_ctx_relu"], out_channels=c, kernel=1)
    x = b.add(f"{name}_gc", "add", [x, f"{name}_ctx2"])
    steps = _squeeze(b, f"{name}_step", x, shape, b.add(f"{name}_mean", "time_mean", [x]))
    return b.add(name, "mul", [x, steps])


def _spikeatconv_block(b: _Builder, name: str, x: str, shape: tuple) -> str:
    """SpikeAtConv (seed 003): spike-driven self-attention (SISA): an SPK block (LIF) makes
    spikes, conv 1x1 + batch norm + LIF make Q, K and V, and ``(Q K^T) V`` over the
    positions (no softmax), projected by conv 1x1 + batch norm, feeds the next SPK block."""
    spikes = b.add(f"{name}_spk", "lif", [x], **b.neuron)
    qkv = [b.conv_bn_lif(f"{name}_{t}", spikes, shape[0], kernel=1) for t in "qkv"]
    b.add(f"{name}_proj", "conv", [b.add(name, "attention", qkv)], out_channels=shape[0],
          kernel=1, bias=False)
    return b.add(f"{name}_proj_bn", "batchnorm", [f"{name}_proj"])


def ma_snn(input_shape, num_classes: int, input_bits: int, input_scale: float,
           channels=(8, 16), neuron: dict | None = None, head: str = "pool") -> ModelGraph:
    """MA-SNN's multi-dimensional attention, as published (reference, non-deployable)."""
    return _reference_cnn(input_shape, num_classes, input_bits, input_scale, channels, neuron,
                          head, _ma_block)


def staa_snn(input_shape, num_classes: int, input_bits: int, input_scale: float,
             channels=(8, 16), neuron: dict | None = None, head: str = "pool") -> ModelGraph:
    """STAA-SNN's GC and step attention, as published (reference, non-deployable)."""
    return _reference_cnn(input_shape, num_classes, input_bits, input_scale, channels, neuron,
                          head, _staa_block)


def spikeatconv(input_shape, num_classes: int, input_bits: int, input_scale: float,
                channels=(8, 16), neuron: dict | None = None, head: str = "pool") -> ModelGraph:
    """SpikeAtConv's spike-driven self-attention, as published (reference, non-deployable)."""
    return _reference_cnn(input_shape, num_classes, input_bits, input_scale, channels, neuron,
                          head, _spikeatconv_block)


# --- The seed networks as published, at their sizes (default widths: the papers') ---

# Seed 004 (SynA), Table IX, by dataset: (stem kernel, stem stride, max pooling k3s2p1 after
# the stem); every other dataset name (MNIST, Fashion-MNIST, ...) takes the MNIST form.
TABLE_IX = {"mnist": (3, 1, False), "dvs_gesture": (7, 2, True), "cifar10_dvs": (3, 2, True)}
CIFAR10_DVS_SIZE = 48  # CIFAR10-DVS: AdaptiveAP(48) in front of the stem


def _ceil(n: int, stride: int) -> int:
    return (n + stride - 1) // stride  # conv k (odd), padding k // 2; maxpool k3 p1


def table_ix(input_shape, num_classes: int, input_bits: int, input_scale: float,
             channels=(64, 128, 256, 512), neuron: dict | None = None, head: str = "pool",
             dataset: str = "mnist", attention: str | None = None,
             blocks: int = 1) -> ModelGraph:
    """Seed 004's Table IX network for ``dataset`` (a key of :data:`TABLE_IX`; any other
    name: the MNIST form), spike-only: the stem conv + batch norm + LIF (MNIST: c64k3s1p1;
    DVS Gesture: c64k7s2p3; CIFAR10-DVS: c64k3s2p1), max pooling k3s2p1 of its spikes (the
    event datasets), four conv 3x3 + batch norm + LIF layers at ``channels[0]``, one OR-SEW
    block (:meth:`_Builder.block`, ``blocks`` per width) per further entry of ``channels``,
    each halving the resolution, global average pooling and the linear readout.

    attention: None (the OR-Spiking ResNet), ``"syna_c"`` or ``"syna_s"`` (SynA-C, SynA-S in
    spike-only form, :meth:`_Builder.attend`) on every OR-SEW block.

    CIFAR10-DVS's AdaptiveAP(48): frames of at most 48x48 (the project's 32x32 event
    frames) go in as they are (adaptive pooling to a larger size would upsample); frames of
    a multiple of 48 are average pooled (``adaptive_pool``, kernel size / 48); other sizes
    (the sensor's 128x128) are refused, since adaptive pooling of 128 to 48 averages uneven,
    overlapping windows, which an ``avgpool`` node (a kernel dividing its input) cannot
    express."""
    if len(channels) < 2:
        raise ValueError(f"Table IX needs the plain layers' width and at least one OR-SEW "
                         f"block's (the paper: 64 128 256 512), got {list(channels)}")
    form = dataset if dataset in TABLE_IX else "mnist"
    b = _Builder(neuron or lif())
    src, (h, w) = "input", input_shape[1:]
    if form == "cifar10_dvs" and max(h, w) > CIFAR10_DVS_SIZE:
        if h % CIFAR10_DVS_SIZE or w % CIFAR10_DVS_SIZE:
            raise ValueError(f"CIFAR10-DVS's AdaptiveAP({CIFAR10_DVS_SIZE}) of {h}x{w} frames "
                             "averages uneven, overlapping windows, which average pooling (a "
                             "kernel dividing its input) cannot express: bin the events at "
                             f"{CIFAR10_DVS_SIZE}x{CIFAR10_DVS_SIZE}, a multiple of it, or at "
                             "most that size")
        src = b.add("adaptive_pool", "avgpool", [src],
                    kernel=[h // CIFAR10_DVS_SIZE, w // CIFAR10_DVS_SIZE])
        h = w = CIFAR10_DVS_SIZE
    kernel, stride, pool = TABLE_IX[form]
    x = b.conv_bn_lif("stem", src, channels[0], kernel=kernel, stride=stride)
    shape = (channels[0], _ceil(h, stride), _ceil(w, stride))
    if pool:
        x = b.add("stem_pool", "maxpool", [x], kernel=3, stride=2, padding=1)
        shape = (shape[0], _ceil(shape[1], 2), _ceil(shape[2], 2))
    for k in range(4):
        x = b.conv_bn_lif(f"conv{k + 1}", x, channels[0])
    x, shape = _stages(b, x, shape, [(c, blocks, 2) for c in channels[1:]], "or", attention)
    b.head(x, shape, num_classes, head)
    return ModelGraph(tuple(input_shape), input_bits, input_scale, b.nodes)


def orrc_table9(input_shape, num_classes: int, input_bits: int, input_scale: float,
                channels=(64, 128, 256, 512), neuron: dict | None = None, head: str = "pool",
                dataset: str = "mnist", blocks: int = 1) -> ModelGraph:
    """:func:`table_ix` without attention: the OR-Spiking ResNet of Table IX."""
    return table_ix(input_shape, num_classes, input_bits, input_scale, channels, neuron, head,
                    dataset, None, blocks)


def syna_table9(input_shape, num_classes: int, input_bits: int, input_scale: float,
                channels=(64, 128, 256, 512), neuron: dict | None = None, head: str = "pool",
                dataset: str = "mnist", blocks: int = 1) -> ModelGraph:
    """:func:`table_ix` with SynA-C (spike-only channel masks) on every OR-SEW block."""
    return table_ix(input_shape, num_classes, input_bits, input_scale, channels, neuron, head,
                    dataset, "syna_c", blocks)


def syna_s_table9(input_shape, num_classes: int, input_bits: int, input_scale: float,
                  channels=(64, 128, 256, 512), neuron: dict | None = None, head: str = "pool",
                  dataset: str = "mnist", blocks: int = 1) -> ModelGraph:
    """:func:`table_ix` with SynA-S (spike-only spatial masks) on every OR-SEW block."""
    return table_ix(input_shape, num_classes, input_bits, input_scale, channels, neuron, head,
                    dataset, "syna_s", blocks)


def _resnet(input_shape, num_classes: int, input_bits: int, input_scale: float, channels,
            blocks: tuple, neuron: dict | None, head: str, stem_kernel: int = 3,
            attention: str | None = None, attended=None, hidden: tuple = ()) -> ModelGraph:
    """A spike-only ResNet at full resolution: stem conv (``stem_kernel``, stride 1) + batch
    norm + LIF at ``channels[0]``, then per entry of ``channels`` a stage of ``blocks[s]``
    OR-SEW blocks (the first of every stage after the first: stride 2), the readout
    (``hidden``: its hidden layers)."""
    if len(channels) != len(blocks):
        raise ValueError(f"{len(blocks)} stages of {list(blocks)} blocks: give {len(blocks)} "
                         f"widths, got {list(channels)}")
    b = _Builder(neuron or lif())
    x = b.conv_bn_lif("stem", "input", channels[0], kernel=stem_kernel)
    shape = (channels[0], *input_shape[1:])
    x, shape = _stages(b, x, shape, [(c, n, 2 if s else 1)
                                     for s, (c, n) in enumerate(zip(channels, blocks))],
                       "or", attention, attended)
    b.head(x, shape, num_classes, head, hidden)
    return ModelGraph(tuple(input_shape), input_bits, input_scale, b.nodes)


def resnet18(input_shape, num_classes: int, input_bits: int, input_scale: float,
             channels=(64, 128, 256, 512), neuron: dict | None = None, head: str = "pool",
             attention: str | None = None) -> ModelGraph:
    """ResNet-18 for 32x32 images (the CIFAR variant: a conv 3x3 stride-1 stem, no max
    pooling; He et al. 2016's four stages of two basic blocks), spike-only: OR-SEW blocks
    (:meth:`_Builder.block`), ``attention`` (one of :data:`ATTENTION`) on every block."""
    return _resnet(input_shape, num_classes, input_bits, input_scale, channels, (2, 2, 2, 2),
                   neuron, head, attention=attention)


def resnet19(input_shape, num_classes: int, input_bits: int, input_scale: float,
             channels=(128, 256, 512), neuron: dict | None = None, head: str = "pool",
             attention: str | None = None, fc_hidden: int = 256) -> ModelGraph:
    """ResNet-19 as in the SNN literature (Zheng et al., "Going Deeper With
    Directly-Trained Larger Spiking Neural Networks", AAAI 2021, the tdBN paper): a conv 3x3
    stem at 128, stages of 3, 3 and 2 basic blocks at 128, 256 and 512, average pooling, a
    hidden FC layer of ``fc_hidden`` (256) and the FC readout; spike-only: OR-SEW blocks,
    ``attention`` on every block."""
    return _resnet(input_shape, num_classes, input_bits, input_scale, channels, (3, 3, 2),
                   neuron, head, attention=attention, hidden=(fc_hidden,) if fc_hidden else ())


def syna_resnet18(input_shape, num_classes: int, input_bits: int, input_scale: float,
                  channels=(64, 128, 256, 512), neuron: dict | None = None,
                  head: str = "pool") -> ModelGraph:
    """:func:`resnet18` with SynA-C (spike-only) on every block."""
    return resnet18(input_shape, num_classes, input_bits, input_scale, channels, neuron, head,
                    "syna_c")


def syna_resnet19(input_shape, num_classes: int, input_bits: int, input_scale: float,
                  channels=(128, 256, 512), neuron: dict | None = None,
                  head: str = "pool") -> ModelGraph:
    """:func:`resnet19` with SynA-C (spike-only) on every block."""
    return resnet19(input_shape, num_classes, input_bits, input_scale, channels, neuron, head,
                    "syna_c")


def biasnn_ms_resnet18(input_shape, num_classes: int, input_bits: int, input_scale: float,
                       channels=(64, 128, 256, 512), neuron: dict | None = None,
                       head: str = "pool") -> ModelGraph:
    """BIASNN (seed 000), deployable, at its size: an MS-ResNet18-shaped spike-only backbone
    (the paper's stem c64k7s1p3, eight basic blocks in four stages of two at 64, 128, 256,
    512, OR joins in place of the membrane shortcut) with the ALIF binary spatial mask
    (:meth:`_Builder.attend`, ``"biasnn"``, gating the block's backbone before its join)
    "inserted after every other block, except for the last": blocks 2, 4 and 6."""
    total = 8
    return _resnet(input_shape, num_classes, input_bits, input_scale, channels, (2, 2, 2, 2),
                   neuron, head, stem_kernel=7, attention="biasnn",
                   attended=lambda n: n % 2 == 0 and n < total)


def dense(input_shape, num_classes: int, input_bits: int, input_scale: float,
          channels=(128,), neuron: dict | None = None, head: str = "pool") -> ModelGraph:
    """A chain of Dense + LIF layers on the flattened input, ``channels`` the hidden sizes
    (:func:`~snn_export.model_graph.dense_chain`; ``head`` does not apply)."""
    return dense_chain([math.prod(input_shape), *channels, num_classes], input_bits,
                       input_scale, neuron or lif())


ARCHITECTURES = {"dense": dense, "orrc_resnet": orrc_resnet, "sew_resnet": sew_resnet,
                 "syna_resnet": syna_resnet, "syna_s_resnet": syna_s_resnet,
                 "syna_resnet_published": syna_resnet_published, "syna_t_resnet": syna_t_resnet,
                 "ms_resnet": ms_resnet, "biasnn_resnet": biasnn_resnet,
                 "biasnn_published": biasnn_published, "attention_net": attention_net,
                 "ma_snn": ma_snn, "staa_snn": staa_snn, "spikeatconv": spikeatconv,
                 "orrc_table9": orrc_table9, "syna_table9": syna_table9,
                 "syna_s_table9": syna_s_table9, "biasnn_ms_resnet18": biasnn_ms_resnet18,
                 "resnet18": resnet18, "syna_resnet18": syna_resnet18, "resnet19": resnet19,
                 "syna_resnet19": syna_resnet19}
# The seed networks at their published sizes (a fixed layout, default widths the papers'):
# deep (26-43 hops), so trained with more steps than the short benchmark recipe's.
AT_SIZE = ("orrc_table9", "syna_table9", "syna_s_table9", "biasnn_ms_resnet18", "resnet18",
           "syna_resnet18", "resnet19", "syna_resnet19")
