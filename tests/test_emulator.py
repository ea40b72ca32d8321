"""Emulator: input checks, exactness bound, batching, and a CUDA run when a GPU is present."""
import numpy as np
import pytest
import torch

from snn_export.sim import emulator

from .conftest import random_network


def test_batches_do_not_interact():
    rng = np.random.default_rng(0)
    net = random_network(rng, [6, 5, 4])
    x = rng.integers(0, 16, (37, 6))
    whole = emulator.run(net, x).spikes
    pieces = emulator.run(net, x, batch_size=5).spikes
    alone = emulator.run(net, x[7:8]).spikes
    for w, p, a in zip(whole, pieces, alone):
        np.testing.assert_array_equal(w, p)
        np.testing.assert_array_equal(w[7:8], a)


def test_rejects_bad_input():
    net = random_network(np.random.default_rng(0), [6, 5])
    with pytest.raises(ValueError, match=r"expected \(samples, 6\)"):
        emulator.run(net, np.zeros((2, 7), dtype=int))
    with pytest.raises(ValueError, match="0..15"):
        emulator.run(net, np.full((2, 6), 16))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_equals_cpu():
    rng = np.random.default_rng(1)
    net = random_network(rng, [20, 30, 10], extreme=True)
    x = rng.integers(0, 16, (256, 20))
    cpu = emulator.run(net, x)
    gpu = emulator.run(net, x, device="cuda")
    for c, g in zip(cpu.spikes + cpu.u + cpu.v, gpu.spikes + gpu.u + gpu.v):
        np.testing.assert_array_equal(c, g)
