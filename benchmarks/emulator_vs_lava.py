"""Emulator vs Lava: samples per second on the same network, measured side by side.

A 784-256-256-10 Dense/LIF network (random 8-bit weights and biases, 8-bit input levels),
T = 32 steps.
Lava runs a few samples in its CPU simulator (``fixed_pt``), once as one continuous run
(its raw speed, the base of the ratios) and once through the verification runner (samples
back to back, each group reset at the first step of its window:
:func:`snn_export.sim.lava_runner.back_to_back`); the emulator runs many samples on CPU
and, when there is one, on a CUDA GPU. The script also checks that the emulator's spikes and
states on the Lava samples equal Lava's, and on the CPU samples that CUDA's equal the CPU's.
Run: ``make bench`` or
``.venv/bin/python benchmarks/emulator_vs_lava.py [--lava-samples N] [--cpu-samples N]``.
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch

from snn_export import fixed_point as fp
from snn_export.deploy.lower_graph import BIAS_SHAPE, BIAS_SOURCE, const
from snn_export.graph import INPUT, Dense, Network, Neurons
from snn_export.sim import emulator
from snn_export.sim.verify import compare

SIZES = [784, 256, 256, 10]
T = 32


def network(rng: np.random.Generator) -> Network:
    """Weights scaled so that every layer spikes at a moderate rate; biases deployed as
    lowering deploys them (Dense synapses from the always-on ``bias_source``, delayed to
    start at each layer's depth)."""
    neurons, synapses, source = [const(BIAS_SOURCE, BIAS_SHAPE)], [], INPUT
    for k, (n_in, n_out) in enumerate(zip(SIZES[:-1], SIZES[1:])):
        name = f"layer{k + 1}"
        w = fp.WEIGHT_STEP * rng.integers(-64, 64, (n_out, n_in))
        params = fp.LIFParams(vth=1500 if k == 0 else 400, du=2048, dv=1024)
        neurons.append(Neurons(name, (n_out,), params, np.zeros(n_out, int)))
        synapses.append(Dense(f"{name}.dense", source, name, w))
        bias = fp.WEIGHT_STEP * rng.integers(-25, 25, (n_out, 1))
        synapses.append(Dense(f"{name}.bias", BIAS_SOURCE, name, bias,
                              delays=np.full(bias.shape, k) if k else None))
        source = name
    return Network((SIZES[0],), 8, T, neurons, synapses)


def lava_continuous(net: Network, x: np.ndarray) -> float:
    """Seconds for one uninterrupted Lava run of all samples back to back (no pauses, no
    state resets, start-up excluded): Lava's raw simulation speed, the fairest figure."""
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi2SimCfg
    from lava.proc.io.source import RingBuffer as Source

    from snn_export.sim import lava_builder

    built = lava_builder.build(net)
    source = Source(data=np.repeat(x.T, T, axis=1))
    for port, to_dense in built.inputs:
        lava_builder.connect(source.s_out, port, net.input_shape, to_dense)
    cfg = Loihi2SimCfg(select_tag="fixed_pt")
    try:
        source.run(condition=RunSteps(num_steps=T), run_cfg=cfg)  # compile and start
        _, seconds = timed(source.run, condition=RunSteps(num_steps=T * (len(x) - 1)), run_cfg=cfg)
    finally:
        source.stop()
    return seconds


def timed(fn, *args, **kwargs):
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - start


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--lava-samples", type=int, default=10)
    p.add_argument("--cpu-samples", type=int, default=4000)
    p.add_argument("--gpu-samples", type=int, default=100_000)
    args = p.parse_args()
    rng = np.random.default_rng(0)
    net = network(rng)
    x = rng.integers(0, 256, (max(args.cpu_samples, args.gpu_samples, args.lava_samples), 784))
    rows = []
    print(f"network {'-'.join(map(str, SIZES))}, T = {T}; torch {torch.__version__}, "
          f"{os.cpu_count()} CPU cores, threads {torch.get_num_threads()}")

    try:
        from snn_export.sim import lava_builder, lava_runner
        lava_builder.import_lava()
        have_lava = True
    except Exception as exc:  # noqa: BLE001  (report and go on without Lava)
        print(f"Lava not available ({exc}); emulator figures only")
        have_lava = False
    if have_lava:
        xs = x[:args.lava_samples]
        _, t1 = timed(lava_runner.run, net, xs[:1], progress=False)
        lava, tn = timed(lava_runner.run, net, xs, progress=False)
        raw = lava_continuous(net, xs)
        rows.append(("Lava CPU, one continuous run", len(xs) - 1, (len(xs) - 1) / raw))
        per_sample = (tn - t1) / (len(xs) - 1)
        rows.append(("Lava CPU, verify runner (back to back)", len(xs) - 1, 1 / per_sample))
        rows.append((f"  the same with its {t1:.1f} s start-up", len(xs), len(xs) / tn))
        _, first, total = compare(emulator.run(net, xs), lava)
        print(f"emulator vs Lava on {len(xs)} samples: {total} differing spikes and states")

    emulator.run(net, x[:64])  # warm-up
    cpu, t = timed(emulator.run, net, x[:args.cpu_samples])
    rows.append(("emulator CPU", args.cpu_samples, args.cpu_samples / t))
    if torch.cuda.is_available():
        emulator.run(net, x[:1024], device="cuda")
        torch.cuda.synchronize()
        for batch in (4096, 16384):
            gpu, t = timed(emulator.run, net, x[:args.gpu_samples], device="cuda", batch_size=batch)
            rows.append((f"emulator {torch.cuda.get_device_name()} (batch {batch})",
                         args.gpu_samples, args.gpu_samples / t))
        n = args.cpu_samples
        _, _, total = compare(cpu, gpu.first(n))
        print(f"emulator CUDA vs CPU on {n} samples: {total} differing spikes and states")
    base = rows[0][2] if have_lava else None  # the fastest Lava figure
    print(f"\n{'':48s} {'samples':>8s} {'samples/s':>12s} {'x Lava':>10s}")
    for name, n, rate in rows:
        ratio = f"{rate / base:10.{2 if rate < 10 * base else 0}f}" if base else f"{'-':>10s}"
        print(f"{name:48s} {n:8d} {rate:12.1f} {ratio}")


if __name__ == "__main__":
    main()
