"""snn-train on bad options, outputs it cannot write, checkpoints it cannot resume, and
Ctrl-C / SIGTERM: one line naming the option or path, exit 1 (130, 143), no traceback, no
checkpoint but the last finished epoch's."""
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from snn_export import checkpoint
from snn_export.errors import SnnExportError
from snn_export.train.cli import main
from snn_export.train.trainer import _LIMITS, TrainConfig, config_from

# option -> values outside what it accepts (wrong types included)
BAD = {"--epochs": ["-1", "0"], "--batch-size": ["0", "-5"], "--time-steps": ["0", "70000"],
       "--hidden": ["0", "-3"], "--blocks": ["0"], "--lr": ["0", "-1", "nan", "inf"],
       "--tau-mem": ["0", "0.5", "-2", "nan"], "--tau-syn": ["0.9", "0"],
       "--threshold": ["0", "-1", "nan", "inf"], "--alpha": ["0", "nan"],
       "--float-epochs": ["-1", "31"], "--shift": ["-1"], "--seed": ["-1", "4294967296"]}


def _run(argv, capsys):
    code = main(argv)
    err = capsys.readouterr().err
    return code, err


@pytest.mark.parametrize("option,value", [(o, v) for o, vs in BAD.items() for v in vs])
def test_bad_option_is_one_line_naming_it_and_writes_nothing(option, value, tmp_path, capsys):
    out = tmp_path / "m.pt"
    code, err = _run(["-q", option, value, "-o", str(out)], capsys)
    assert code == 1 and err.count("\n") == 1 and "Traceback" not in err, err
    assert err.startswith(f"snn-train: error: {option} {value}") or \
        err.startswith(f"snn-train: error: {option} {float(value)}"), err
    assert not list(tmp_path.iterdir())


FIELDS = {"epochs": st.integers(max_value=0), "batch_size": st.integers(max_value=0),
          "time_steps": st.one_of(st.integers(max_value=0), st.integers(min_value=2**16 + 1)),
          "lr": st.floats(max_value=0) | st.just(float("nan")),
          "tau_mem": st.floats(max_value=0.999) | st.just(float("nan")),
          "threshold": st.floats(max_value=0) | st.just(float("nan")),
          "hidden": st.lists(st.integers(max_value=0), min_size=1, max_size=3).map(tuple),
          "shift": st.integers(max_value=-1), "seed": st.integers(max_value=-1),
          "arch": st.text(max_size=5), "dataset": st.text(max_size=5)}


@settings(max_examples=150, deadline=None)
@given(field=st.sampled_from(sorted(FIELDS)), data=st.data(),
       wrong_type=st.sampled_from([None, "x", [1], True]))
def test_every_config_field_is_checked_by_name(field, data, wrong_type):
    """Values out of range, and values of the wrong type, in any field: SnnExportError naming
    the option (the API and the checkpoint's record go through the same table)."""
    assert set(FIELDS) <= set(_LIMITS)
    for value in (data.draw(FIELDS[field]), wrong_type):
        if field == "hidden" and value == [1]:  # (a list of sizes is a valid sequence)
            continue
        with pytest.raises(SnnExportError, match="^--" + field.replace("_", "-") + " "):
            TrainConfig(**{field: value})


def test_outputs_that_cannot_be_written_are_named_before_training(tmp_path, capsys):
    for out, says in [(tmp_path, "is a folder"), (tmp_path / "no" / "m.pt", "is not a folder"),
                      (Path("/proc/m.pt"), "cannot write there")]:
        code, err = _run(["-q", "-o", str(out)], capsys)
        assert code == 1 and err.startswith(f"snn-train: error: {out}: "), err
        assert says in err and err.count("\n") == 1


def test_resume_needs_snn_trains_record(tmp_path, capsys):
    done = tmp_path / "done.pt"
    assert main(["-q", "--epochs", "1", "--hidden", "8", "--time-steps", "2",
                 "-o", str(done)]) == 0
    capsys.readouterr()
    bare = checkpoint.load(done)
    foreign = dict(bare, training={})
    checkpoint.save(foreign, tmp_path / "foreign.pt")
    for path, says in [(done, "no resume state"), (tmp_path / "foreign.pt", "no training record")]:
        code, err = _run(["-q", "--resume", str(path), "-o", str(tmp_path / "x.pt")], capsys)
        assert code == 1 and err.startswith(f"snn-train: error: --resume {path}: {says}"), err
        assert not (tmp_path / "x.pt").exists()


def _start(out: Path) -> subprocess.Popen:
    exe = Path(sys.executable).parent / "snn-train"
    return subprocess.Popen([exe, "-q", "--epochs", "400", "--hidden", "256", "--time-steps",
                             "16", "-o", str(out)], stderr=subprocess.PIPE, text=True)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_interrupted_training_keeps_its_last_epoch_and_resumes(signum, tmp_path):
    out = tmp_path / "m.pt"
    proc = _start(out)
    try:
        deadline = time.monotonic() + 120
        while not out.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert out.exists(), "no epoch finished in 2 minutes"
        proc.send_signal(signum)
        sent = time.monotonic()
        err = proc.communicate(timeout=30)[1]
    finally:
        proc.kill()
    assert proc.returncode == 128 + signum and time.monotonic() - sent < 10
    assert err.count("\n") == 1 and "Traceback" not in err, err
    name = signal.Signals(signum).name
    assert err.startswith(f"snn-train: stopped by {name}; {out} holds epoch "), err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.pt"]  # no temporary left
    kept = checkpoint.load(out)
    assert kept["training"]["resume"]["epoch"] + 1 == int(err.split(" holds epoch ")[1].split()[0])
    assert config_from(kept).epochs == 400  # what --resume reads
