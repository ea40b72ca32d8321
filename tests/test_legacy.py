"""Files written by earlier releases.

``tests/legacy/dense_v1.pt`` and ``dense_v1.net`` were written by release 9deb913:
``snn-train --hidden 16 --epochs 3 --time-steps 8`` and ``snn-export --target lava``. That
release trained with the chip's timing (one step of latency per layer, biases from step 1),
which this one no longer deploys: its checkpoints are refused with a line that says to
retrain. Its deployed files are plain networks and still load and run."""
from pathlib import Path

import numpy as np

from snn_export.cli import main
from snn_export.deploy import formats
from snn_export.sim import emulator

LEGACY = Path(__file__).parent / "legacy"


def test_chip_timing_checkpoints_are_refused_with_a_line_that_says_to_retrain(tmp_path,
                                                                              capsys):
    assert main([str(LEGACY / "dense_v1.pt"), "--target", "lava", "-o", str(tmp_path)]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "dense_v1.pt" in err
    assert "format_version 1" in err and "chip's timing" in err and "retrain" in err
    assert not any(tmp_path.iterdir())


def test_old_netx_files_still_load_and_run():
    net = formats.read(LEGACY / "dense_v1.net")
    assert [g.name for g in net.neurons] == ["layer1", "layer2"] and net.time_steps == 8
    x = np.random.default_rng(0).integers(0, 2**net.input_bits, (4, *net.input_shape))
    spikes = emulator.run(net, x).spikes["layer2"]
    assert spikes.shape == (4, 8, net.group("layer2").size)
