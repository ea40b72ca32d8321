"""Fuzzing: random networks in real Lava and in the emulator, every spike and state equal.

``SNN_FUZZ_EXAMPLES`` sets the number of hypothesis examples (each is 1-4 random networks
run together in one Lava run); the default fits CI. ``SNN_FUZZ_LOG=FILE`` appends one line
per example (networks, groups, synapse groups, steps, spikes): progress for long campaigns. A failing case is shrunk by hypothesis,
and the minimal one is written to ``tests/golden/failures/last-failure.h5`` with Lava's
outputs: move it into ``tests/golden/`` to keep it as a regression test.
"""
import os
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from snn_export import fixed_point as fp
from snn_export.graph import INPUT, Conv, Dense, Network, Neurons
from snn_export.sim import emulator, lava_runner
from snn_export.sim.verify import compare

from . import golden
from .strategies import input_specs, inputs, merge, networks

pytestmark = pytest.mark.lava

EXAMPLES = int(os.environ.get("SNN_FUZZ_EXAMPLES", "100"))
FAILURE = Path(__file__).parent / "golden" / "failures" / "last-failure.h5"


def check_against_lava(net: Network, x: np.ndarray, networks: int = 1) -> None:
    emu = emulator.run(net, x)
    lava = lava_runner.run(net, x, progress=False)
    layers, first, total = compare(emu, lava)
    if os.environ.get("SNN_FUZZ_LOG"):
        with open(os.environ["SNN_FUZZ_LOG"], "a") as log:
            log.write(f"networks={networks} groups={len(net.neurons)} "
                      f"synapses={len(net.synapses)} samples={len(x)} steps={net.time_steps} "
                      f"spikes={sum(int(s.sum()) for s in lava.spikes.values())} "
                      f"differing={total}\n")
    if total:
        FAILURE.parent.mkdir(exist_ok=True)
        golden.save(FAILURE, net, x, lava)
        bad = [f"{c.layer}: {c.differing} spikes, {c.differing_states} states" for c in layers
               if c.differing or c.differing_states]
        raise AssertionError(f"Lava and the emulator differ ({'; '.join(bad)}); first spike: "
                             f"{first}; case saved to {FAILURE}")


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(spec=input_specs(), data=st.data())
def test_random_networks_match_lava(spec, data):
    count = data.draw(st.integers(1, 4))
    net = merge([data.draw(networks(spec, prefix=f"n{k}")) for k in range(count)])
    check_against_lava(net, data.draw(inputs(spec)), networks=count)


def test_conv_sum_wraps_at_24_bits():
    """144 inputs of 255 times weight 255 is 9,363,600: past 2**23, so the Conv output wraps."""
    weight = np.full((1, 16, 3, 3), 255)
    net = Network((16, 3, 3), 8, 4,
                  [Neurons("c", (1, 1, 1), fp.LIFParams(vth=10, du=4095, dv=4096), np.zeros(1, int))],
                  [Conv("c.conv", INPUT, "c", weight)])
    x = np.full((2, 16, 3, 3), 255)
    check_against_lava(net, x)
    u = emulator.run(net, x).states["c"]["u"]
    assert (u < 0).all()  # wrapped negative: no spike despite the huge positive sum


def test_current_wraps_and_voltage_saturates():
    """A maximal shifted input drives u past 32 bits (int32 and one-shot 24-bit wraps); a
    large negative one drives v into saturation at -(2**23 - 1)."""
    net = Network((12,), 8, 6,
                  [Neurons("a", (3,), fp.LIFParams(vth=fp.VTH_MAX, du=0, dv=0), np.zeros(3, int)),
                   Neurons("b", (2,), fp.LIFParams(vth=1, du=4095, dv=0), np.zeros(2, int))],
                  [Dense("a.dense", INPUT, "a", np.array([[255] * 12, [-256] * 12, [3] * 12]),
                         weight_exp=7),
                   Dense("b.dense", INPUT, "b", np.full((2, 12), -9), weight_exp=2)])
    x = np.full((2, 12), 255)
    check_against_lava(net, x)
    v = emulator.run(net, x).states["b"]["v"]
    assert (v == -(2**23 - 1)).all()


def test_a_failing_case_is_saved_for_regression(tmp_path, monkeypatch):
    """The fuzzing harness itself: a difference is reported and the case saved with Lava's
    outputs in the golden format."""
    net = Network((4,), 4, 5, [Neurons("a", (3,), fp.LIFParams(vth=5, du=4095, dv=4096),
                                       np.zeros(3, int))],
                  [Dense("a.dense", INPUT, "a", np.full((3, 4), 40))])
    x = np.full((2, 4), 15)
    real_run = emulator.run

    def off_by_one_spike(net, x, **kwargs):
        result = real_run(net, x, **kwargs)
        result.spikes["a"][1, 3, 2] ^= 1
        return result

    saved = tmp_path / "last-failure.h5"
    monkeypatch.setattr(emulator, "run", off_by_one_spike)
    monkeypatch.setattr(sys.modules[__name__], "FAILURE", saved)
    with pytest.raises(AssertionError, match=r"a: 1 spikes, 0 states.*step=4.*saved to"):
        check_against_lava(net, x)
    stored_net, stored_x, lava = golden.load(saved)
    np.testing.assert_array_equal(stored_x, x)
    np.testing.assert_array_equal(lava.spikes["a"], real_run(net, x).spikes["a"])
    assert stored_net.synapses[0].weight.tolist() == net.synapses[0].weight.tolist()
