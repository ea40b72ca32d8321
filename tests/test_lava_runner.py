"""When the Lava runner may run samples back to back (no Lava needed to decide)."""
import dataclasses

import numpy as np

from snn_export import fixed_point as fp
from snn_export.graph import INPUT, Dense, Network, Neurons
from snn_export.sim.lava_runner import back_to_back


def _chain(time_steps=6, bias=0, delay=None, kind="lif", reset=0) -> Network:
    params = fp.LIFParams(100, 0, 0) if kind == "lif" else fp.ATRLIFParams(1, 1, 0, 0, 0, 0)
    groups = [Neurons(n, (2,), params, np.full(2, bias if n == "b" else 0), reset_interval=reset)
              for n in ("a", "b")]
    delays = None if delay is None else np.full((2, 2), delay)
    synapses = [Dense("a.dense", INPUT, "a", np.full((2, 3), 2)),
                Dense("b.dense", "a", "b", np.full((2, 2), 2), delays=delays)]
    return Network((3,), 4, time_steps, groups, synapses)


def test_each_group_resets_at_the_first_step_of_its_window():
    net = back_to_back(_chain())
    assert [(g.reset_interval, g.reset_offset) for g in net.neurons] == [(6, 2), (6, 3)]
    assert back_to_back(_chain(time_steps=3)).neurons[1].reset_offset == 0  # step 3, 6, ...


def test_not_where_a_sample_would_not_start_clean():
    assert back_to_back(_chain(bias=1)) is None  # acts before the group's depth
    assert back_to_back(_chain(time_steps=2)) is None  # b's depth 2 is a whole sample
    assert back_to_back(_chain(kind="atrlif")) is None  # no reset in Lava's ATRLIF
    assert back_to_back(_chain(reset=3)) is None  # a reset of its own
    net = _chain(delay=1)  # b's depth is 3: delay 1 aligns it with a ...
    assert back_to_back(net) is not None
    skip = Dense("skip", INPUT, "b", np.full((2, 3), 2))  # ... an undelayed skip does not
    assert back_to_back(dataclasses.replace(net, synapses=net.synapses + [skip])) is None
