"""Write the golden vectors in tests/golden/: networks covering every synapse and neuron kind
the deploy stage can emit, with extreme parameters, run in real Lava (needs the lava extra).

    .venv/bin/python -m tests.make_golden              (or: make golden) every file, anew
    .venv/bin/python -m tests.make_golden CASE ...     only these hand-written cases

Each file holds the network, its input and Lava's spikes and final states (tests/golden.py).
The hand-written cases are deterministic; the random ones are drawn from tests/strategies.py.
"""
from __future__ import annotations

import sys
import warnings

import numpy as np
from hypothesis.errors import NonInteractiveExampleWarning

from snn_export import fixed_point as fp
from snn_export.graph import INPUT, Conv, Dense, Network, Neurons, Sparse
from snn_export.sim import lava_runner

from . import golden
from .conftest import random_network
from .strategies import input_specs, inputs, networks

RANDOM_CASES = 12
MIN_RANDOM_SPIKES = 20


def lif(rng, vth=(20, 600)) -> fp.LIFParams:
    return fp.LIFParams(vth=int(rng.integers(*vth)), du=int(rng.integers(0, 4096)),
                        dv=int(rng.integers(0, 4097)))


def cases(rng: np.random.Generator) -> dict[str, tuple[Network, np.ndarray]]:
    w = lambda shape, lo=-256, hi=255: rng.integers(lo, hi + 1, shape)
    out = {}
    chain = random_network(rng, [64, 128, 10], time_steps=16, input_bits=5)
    out["chain_digits_sized"] = chain, rng.integers(0, 32, (8, 64))
    out["chain_extreme"] = (random_network(rng, [9, 7, 5, 3], time_steps=12, input_bits=8,
                                           extreme=True), rng.integers(0, 256, (6, 9)))
    out["dense_exp_bits_signs"] = Network((10,), 6, 10, [
        Neurons("exc", (6,), lif(rng), w(6, -200, 200)),
        Neurons("inh", (5,), lif(rng), w(5, 0, 800)),
        Neurons("mixed", (4,), lif(rng), w(4, -200, 200))], [
        Dense("exc.dense", INPUT, "exc", w((6, 10), 0, 255), weight_exp=-3, num_weight_bits=5),
        Dense("inh.dense", INPUT, "inh", w((5, 10), -255, 0), weight_exp=2, num_weight_bits=3),
        Dense("mixed.dense", "exc", "mixed", w((4, 6)), weight_exp=-8, num_weight_bits=8,
              sign_mode="mixed"),
        Dense("mixed.inh", "inh", "mixed", w((4, 5), -40, 255), sign_mode="inhibitory")]), \
        rng.integers(0, 64, (6, 10))
    out["delays"] = Network((8,), 4, 20, [
        Neurons("a", (6,), lif(rng), w(6, -50, 300)), Neurons("b", (4,), lif(rng), w(4, -50, 50))], [
        Dense("a.dense", INPUT, "a", w((6, 8)), delays=rng.integers(0, 5, (6, 8))),
        Dense("b.dense", "a", "b", w((4, 6)), weight_exp=1, delays=rng.integers(0, 12, (4, 6))),
        Dense("b.late", INPUT, "b", w((4, 8), -30, 30), delays=np.full((4, 8), 15))]), \
        rng.integers(0, 16, (5, 8))
    conv1 = Conv("c1.conv", INPUT, "c1", w((4, 1, 3, 3)), stride=(2, 1), padding=(1, 2),
                 dilation=(1, 2), groups=2)
    c1_shape = conv1.output_shape((2, 7, 6))
    conv2 = Conv("c2.conv", "c1", "c2", w((6, 4, 2, 2), -20, 60), stride=(1, 1), padding=(0, 0))
    c2_shape = conv2.output_shape(c1_shape)
    out["conv"] = Network((2, 7, 6), 4, 10, [
        Neurons("c1", c1_shape, lif(rng), w(int(np.prod(c1_shape)), -100, 100)),
        Neurons("c2", c2_shape, lif(rng), w(int(np.prod(c2_shape)), -100, 100)),
        Neurons("fc", (5,), lif(rng), w(5, -100, 100))], [
        conv1, conv2, Dense("fc.dense", "c2", "fc", w((5, int(np.prod(c2_shape)))))]), \
        rng.integers(0, 16, (4, 2, 7, 6))
    out["conv_wrap"] = Network((16, 3, 3), 8, 4, [
        Neurons("c", (2, 1, 1), fp.LIFParams(vth=10, du=4095, dv=4096), np.zeros(2, int))], [
        Conv("c.conv", INPUT, "c", np.stack([np.full((16, 3, 3), 255), w((16, 3, 3))]))]), \
        np.full((3, 16, 3, 3), 255)
    out["atrlif_attention"] = Network((10,), 5, 16, [
        Neurons("feat", (8,), lif(rng), w(8, -100, 300)),
        Neurons("mask", (8,), fp.ATRLIFParams(theta_0=60, theta_step=40, d_i=1024, d_v=512,
                                              d_theta=300, d_r=800), w(8, -50, 50))], [
        Dense("feat.dense", INPUT, "feat", w((8, 10))),
        Dense("mask.dense", "feat", "mask", w((8, 8), 0, 255)),
        Dense("mask.recurrent", "mask", "mask", w((8, 8), -255, 0))]), rng.integers(0, 32, (6, 10))
    out["lif_reset_time_varying"] = Network((6,), 3, 12, [
        Neurons("r", (5,), lif(rng), w(5, -20, 200), reset_interval=4, reset_offset=1)], [
        Dense("r.dense", INPUT, "r", w((5, 6)))]), rng.integers(0, 8, (5, 12, 6))
    out["saturate_and_wrap"] = Network((12,), 8, 6, [
        Neurons("a", (3,), fp.LIFParams(vth=fp.VTH_MAX, du=0, dv=0), np.zeros(3, int)),
        Neurons("b", (2,), fp.LIFParams(vth=1, du=4095, dv=0), np.zeros(2, int))], [
        Dense("a.dense", INPUT, "a", np.array([[255] * 12, [-256] * 12, [3] * 12]), weight_exp=7),
        Dense("b.dense", INPUT, "b", np.full((2, 12), -9), weight_exp=2)]), \
        np.full((2, 12), 255)
    # DelaySparse: graded input, zero weights and zero delays listed, a recurrent group,
    # a (C, H, W) target, a uniform delay; appended last so the cases above keep their draws
    pairs = lambda shape, p: np.nonzero(rng.random(shape) < p)
    r1, c1 = pairs((8, 10), 0.5)
    w1, d1 = w(r1.size), rng.integers(0, 6, r1.size)
    w1[::5], d1[1::4] = 0, 0
    r2, c2 = pairs((8, 8), 0.3)
    r3, c3 = pairs((4, 8), 0.6)
    r4, c4 = pairs((4, 10), 0.4)
    out["sparse_delays"] = Network((10,), 4, 24, [
        Neurons("a", (2, 2, 2), lif(rng), w(8, -50, 300)),
        Neurons("b", (4,), lif(rng), w(4, -50, 50))], [
        Sparse("a.sparse", INPUT, "a", r1, c1, w1, (8, 10), weight_exp=-2, num_weight_bits=6,
               delays=d1),
        Sparse("a.recurrent", "a", "a", r2, c2, w(r2.size, -255, 0), (8, 8),
               delays=rng.integers(0, 3, r2.size)),
        Sparse("b.sparse", "a", "b", r3, c3, w(r3.size), (4, 8), weight_exp=1,
               delays=rng.integers(0, 16, r3.size)),
        Sparse("b.late", INPUT, "b", r4, c4, w(r4.size, -30, 30), (4, 10),
               delays=np.full(r4.size, 12))]), rng.integers(0, 16, (5, 10))
    return out


def random_cases():
    """Random networks from the fuzzing strategies (kept only if they spike a little)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NonInteractiveExampleWarning)
        while True:
            spec = input_specs().example()
            yield networks(spec).example(), inputs(spec, samples=4).example()


def main(names: list[str]) -> None:
    """Write every golden file anew, or (``names`` given) only those hand-written cases."""
    fixed = cases(np.random.default_rng(2026))
    unknown = set(names) - set(fixed)
    if unknown:
        sys.exit(f"unknown cases {sorted(unknown)}; the hand-written ones are {list(fixed)}")
    golden.FOLDER.mkdir(exist_ok=True)
    todo = [(name, fixed[name], 0) for name in names]
    if not names:
        for old in golden.files():
            old.unlink()
        todo = [(name, case, 0) for name, case in fixed.items()] + \
            [(f"random_{k:02d}", None, MIN_RANDOM_SPIKES) for k in range(RANDOM_CASES)]
    drawn = random_cases()
    for name, case, min_spikes in todo:
        while True:
            net, x = case or next(drawn)
            lava = lava_runner.run(net, x, progress=False)
            spikes = sum(int(s.sum()) for s in lava.spikes.values())
            if spikes >= min_spikes:
                break
        golden.save(golden.FOLDER / f"{name}.h5", net, x, lava)
        print(f"{name}: {len(net.neurons)} groups, {len(net.synapses)} synapse groups, "
              f"{len(x)} samples x {net.time_steps} steps, {spikes} spikes")


if __name__ == "__main__":
    main(sys.argv[1:])
