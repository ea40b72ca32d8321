"""The emulator against Lava's stored outputs (tests/golden/, written by tests/make_golden.py).

These run without Lava, so a GPU machine checks the emulator on CUDA against Lava's numbers.
"""
import pytest
import torch

from snn_export.deploy import graph_hdf5
from snn_export.sim import emulator, lava_runner
from snn_export.sim.verify import compare

from . import golden

FILES = golden.files()
DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(
    not torch.cuda.is_available(), reason="no CUDA device"))]


def test_the_golden_set_covers_every_kind():
    kinds = set()
    for path in FILES:
        net = graph_hdf5.read(path)
        kinds |= {g.kind for g in net.neurons} | {type(s).__name__ for s in net.synapses}
        kinds |= {f"{type(s).__name__} delays" for s in net.synapses
                  if getattr(s, "delays", None) is not None}
        kinds |= {"reset" for g in net.neurons if g.reset_interval}
    assert len(FILES) >= 20
    assert kinds >= {"lif", "atrlif", "Dense", "Sparse", "Conv", "Dense delays", "Sparse delays",
                     "reset"}


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_emulator_equals_lava_golden_vectors(path, device):
    net, x, lava = golden.load(path)
    emu = emulator.run(net, x, device=device)
    layers, first, total = compare(emu, lava)
    assert total == 0, (layers, first)


@pytest.mark.lava
def test_lava_still_produces_the_golden_vectors():
    """Guards the stored vectors: today's Lava run gives the same numbers."""
    for path in FILES:
        net, x, stored = golden.load(path)
        layers, first, total = compare(stored, lava_runner.run(net, x, progress=False))
        assert total == 0, (path.name, layers, first)


def test_a_changed_golden_value_is_detected():
    net, x, lava = golden.load(FILES[0])
    name = net.neurons[0].name
    lava.spikes[name] = lava.spikes[name].copy()
    lava.spikes[name][0, -1, 0] ^= 1
    _, first, total = compare(emulator.run(net, x), lava)
    assert total == 1 and first.layer == name and first.step == net.time_steps
