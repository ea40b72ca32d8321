"""Hypothesis strategies for random deployable networks, parameters at their extremes.

Structure (group count, shapes, synapse kinds, connections, scalar parameters) is drawn by
hypothesis and shrinks; large integer arrays come from a numpy generator seeded by a drawn
integer and a drawn "style" (full range, one sign, extremes only, sparse), which shrink to
the simplest seed and style.
"""
from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from snn_export import fixed_point as fp
from snn_export.graph import INPUT, MAX_DELAY, Conv, Dense, Network, Neurons, Sparse


def edgy(lo: int, hi: int):
    """Integers in [lo, hi], with the ends (and 0, 1) drawn often."""
    ends = sorted({v for v in (lo, hi, 0, 1) if lo <= v <= hi})
    return st.one_of(st.sampled_from(ends), st.integers(lo, hi))


@st.composite
def int_array(draw, shape, lo: int, hi: int):
    """An integer array in [lo, hi]."""
    seed = draw(st.integers(0, 2**32 - 1))
    style = draw(st.sampled_from(["uniform", "sparse", "extremes", "small"]))
    rng = np.random.default_rng(seed)
    if style == "extremes":
        return rng.choice(np.array(sorted({v for v in (lo, hi, 0) if lo <= v <= hi})), shape)
    if style == "small":
        return rng.integers(max(lo, -3), min(hi, 3) + 1, shape)
    values = rng.integers(lo, hi + 1, shape)
    if style == "sparse":
        values = values * (rng.random(shape) < 0.2)
    return values


@st.composite
def input_specs(draw):
    """(input_shape, input_bits, time_steps)."""
    if draw(st.booleans()):
        shape = (draw(st.integers(1, 12)),)
    else:
        shape = (draw(st.integers(1, 4)), draw(st.integers(1, 6)), draw(st.integers(1, 6)))
    return shape, draw(st.integers(1, fp.INPUT_BITS_MAX)), draw(st.integers(1, 12))


@st.composite
def lif_params(draw):
    vth = draw(st.one_of(edgy(0, 400), edgy(0, fp.VTH_MAX)))
    return fp.LIFParams(vth=vth, du=draw(edgy(0, 4095)), dv=draw(edgy(0, 4096)))


@st.composite
def atrlif_params(draw):
    return fp.ATRLIFParams(theta_0=draw(st.one_of(edgy(0, 200), edgy(0, 4095))),
                           theta_step=draw(edgy(0, 4095)), d_i=draw(edgy(0, 4095)),
                           d_v=draw(edgy(0, 4095)), d_theta=draw(edgy(0, 4095)),
                           d_r=draw(edgy(0, 4095)))


@st.composite
def neuron_groups(draw, name: str, shape: tuple, time_steps: int):
    size = int(np.prod(shape))
    b = draw(st.sampled_from([0, 300, fp.BIAS_MANT_MAX]))
    bias = draw(int_array((size,), max(-b, fp.BIAS_MANT_MIN), b))
    if draw(st.booleans()):
        return Neurons(name, shape, draw(lif_params()), bias)
    if draw(st.booleans()):  # LIFReset, with an interval that divides the sample length
        interval = draw(st.sampled_from([d for d in range(1, time_steps + 1)
                                         if time_steps % d == 0]))
        return Neurons(name, shape, draw(lif_params()), bias, interval,
                       draw(st.integers(0, 2 * interval)))
    return Neurons(name, shape, draw(atrlif_params()), bias)


@st.composite
def dense(draw, name: str, source: str, target: str, n_in: int, n_out: int):
    """A Dense, DelayDense, Sparse or DelaySparse (listing a random subset of the pairs,
    explicit zeros included)."""
    lo, hi = draw(st.sampled_from([(-256, 255), (0, 255), (-255, 0), (-16, 16)]))
    weight = draw(int_array((n_out, n_in), lo, hi))
    kind = draw(st.sampled_from(["dense", "dense", "delays", "sparse", "sparse delays"]))
    registers = dict(weight_exp=draw(edgy(-8, 7)), num_weight_bits=draw(edgy(1, fp.WEIGHT_BITS)),
                     sign_mode=draw(st.sampled_from([None, None, *fp.SIGN_MODES])))
    delays = None
    if "delays" in kind:
        delays = draw(int_array((n_out, n_in), 0, draw(st.sampled_from([1, 3, 6, MAX_DELAY]))))
    if "sparse" in kind:
        rows, cols = np.nonzero(draw(int_array((n_out, n_in), 0, 1)))
        return Sparse(name, source, target, rows, cols, weight[rows, cols], (n_out, n_in),
                      **registers, delays=None if delays is None else delays[rows, cols])
    return Dense(name, source, target, weight, delays=delays, **registers)


@st.composite
def conv(draw, name: str, source: str, target: str, in_shape: tuple):
    """A Conv and its output shape."""
    c_in, h, w = in_shape
    groups = draw(st.sampled_from([g for g in range(1, c_in + 1) if c_in % g == 0]))
    c_out = groups * draw(st.integers(1, 2))
    stride = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    padding = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    kernel = tuple(draw(st.integers(1, max(1, min(3, (n + 2 * p - 1) // d + 1))))
                   for n, p, d in zip((h, w), padding, dilation))
    lo, hi = draw(st.sampled_from([(-256, 255), (0, 255), (-16, 16)]))
    weight = draw(int_array((c_out, c_in // groups, *kernel), lo, hi))
    syn = Conv(name, source, target, weight, stride, padding, dilation, groups)
    return syn, syn.output_shape(in_shape)


@st.composite
def networks(draw, spec, prefix: str = ""):
    """A random network on input ``spec``: 1-4 neuron groups (LIF, LIFReset, ATRLIF), each
    fed by a Conv or a :func:`dense` group (Dense, DelayDense, Sparse or DelaySparse) from an
    earlier node, some also by extra :func:`dense` groups from any earlier node or from
    themselves (recurrence), and sometimes one group by a later one (a cycle through
    several groups)."""
    input_shape, input_bits, time_steps = spec
    nodes = [(INPUT, tuple(input_shape))]
    neurons, synapses = [], []
    for k in range(draw(st.integers(1, 4))):
        name = f"{prefix}g{k}"
        source, src_shape = draw(st.sampled_from(nodes))
        if len(src_shape) == 3 and draw(st.booleans()):
            syn, shape = draw(conv(f"{name}.conv", source, name, src_shape))
        else:
            shape = draw(st.one_of(st.tuples(st.integers(1, 10)),
                                   st.tuples(*[st.integers(1, 3)] * 3)))
            syn = draw(dense(f"{name}.dense", source, name, int(np.prod(src_shape)),
                             int(np.prod(shape))))
        neurons.append(draw(neuron_groups(name, shape, time_steps)))
        synapses.append(syn)
        for j in range(draw(st.integers(0, 2))):
            extra, extra_shape = draw(st.sampled_from(nodes + [(name, shape)]))
            synapses.append(draw(dense(f"{name}.extra{j}", extra, name,
                                       int(np.prod(extra_shape)), int(np.prod(shape)))))
        nodes.append((name, shape))
    groups = nodes[1:]
    if len(groups) > 1 and draw(st.booleans()):  # feedback: a cycle through several groups
        late = draw(st.integers(1, len(groups) - 1))
        (source, src_shape), (target, shape) = groups[late], groups[draw(st.integers(0, late - 1))]
        synapses.append(draw(dense(f"{target}.back", source, target, int(np.prod(src_shape)),
                                   int(np.prod(shape)))))
    return Network(tuple(input_shape), input_bits, time_steps, neurons, synapses)


@st.composite
def inputs(draw, spec, samples: int = 3):
    """Input levels: one frame per sample, or one per step."""
    shape, bits, time_steps = spec
    per_step = (time_steps,) if draw(st.booleans()) else ()
    return draw(int_array((samples, *per_step, *shape), 0, 2**bits - 1))


def merge(nets: list[Network]) -> Network:
    """Independent networks on the same input as one network (names must differ)."""
    first = nets[0]
    return Network(first.input_shape, first.input_bits, first.time_steps,
                   [g for n in nets for g in n.neurons], [s for n in nets for s in n.synapses])
