"""Ctrl-C (to the whole process group, as a terminal sends it) and SIGTERM (a cancelled CI
job) in the middle of ``snn-export --verify``'s Lava run: exit 130 / 143 within seconds, one
line, no process and no /dev/shm segment left, no output folder."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest


def _session(pid: int) -> list[str]:
    """The running (not exited, unreaped) processes of the session ``pid`` leads."""
    listed = subprocess.run(["ps", "-s", str(pid), "-o", "pid=,stat="], capture_output=True,
                            text=True).stdout.splitlines()
    return [line.split()[0] for line in listed if line.split()[1][0] != "Z"]


@pytest.mark.lava
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_interrupted_verification_leaves_nothing(trained, tmp_path, signum):
    out = tmp_path / "out"
    shm = set(os.listdir("/dev/shm"))
    exe = Path(sys.executable).parent / "snn-export"
    proc = subprocess.Popen([exe, trained, "--target", "lava", "--verify", "360", "-o", out,
                             "-q"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while len(_session(proc.pid)) < 4 and time.monotonic() < deadline:  # Lava's actors
            time.sleep(0.05)
        assert proc.poll() is None, "the run ended before Lava started"
        time.sleep(0.5)  # inside the run
        os.killpg(proc.pid, signum)
        sent = time.monotonic()
        err = proc.communicate(timeout=60)[1]
        took = time.monotonic() - sent
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    lines = [line for line in err.splitlines() if line.startswith("snn-export")]
    assert proc.returncode == 128 + signum and took < 10, (proc.returncode, took, err)
    assert lines == [f"snn-export: stopped by {signal.Signals(signum).name}; nothing written"]
    assert "Traceback" not in err, err
    time.sleep(1.0)
    assert _session(proc.pid) == []
    assert set(os.listdir("/dev/shm")) - shm == set()
    assert sorted(p.name for p in tmp_path.iterdir()) == []


@pytest.mark.lava
def test_a_lava_run_without_progress_is_given_up(trained, tmp_path):
    """--lava-timeout: a run that goes that long without a step ends with one line and exit
    1, leaving nothing (here a limit far below one step's time stands in for a stall)."""
    out = tmp_path / "out"
    shm = set(os.listdir("/dev/shm"))
    exe = Path(sys.executable).parent / "snn-export"
    proc = subprocess.run([exe, trained, "--target", "lava", "--verify", "100", "-o", out, "-q",
                           "--lava-timeout", "0.0001"], capture_output=True, text=True,
                          timeout=300, start_new_session=True)
    lines = [line for line in proc.stderr.splitlines() if line.startswith("snn-export")]
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert lines == ["snn-export: error: Lava made no progress for 0.0001 s while running; "
                     "stopped (--lava-timeout SECONDS gives it longer)"]
    time.sleep(1.0)
    assert set(os.listdir("/dev/shm")) - shm == set() and not out.exists()
