"""Ctrl-C (to the whole process group, as a terminal sends it) and SIGTERM (a cancelled CI
job) in the middle of ``snn-export --verify``'s Lava run: exit 130 / 143 within seconds, one
line, no process and no /dev/shm segment left, no output folder."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
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
    """--lava-timeout: a run that takes that long to start ends with one line and exit 1,
    leaving nothing (here a limit far below Lava's start-up time stands in for a stall)."""
    out = tmp_path / "out"
    shm = set(os.listdir("/dev/shm"))
    exe = Path(sys.executable).parent / "snn-export"
    proc = subprocess.run([exe, trained, "--target", "lava", "--verify", "100", "-o", out, "-q",
                           "--lava-timeout", "0.0001"], capture_output=True, text=True,
                          timeout=300, start_new_session=True)
    lines = [line for line in proc.stderr.splitlines() if line.startswith("snn-export")]
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert lines == ["snn-export: error: Lava made no progress for 0.001 s while starting; "
                     "stopped (--lava-timeout SECONDS gives it longer)"]
    time.sleep(1.0)
    assert set(os.listdir("/dev/shm")) - shm == set() and not out.exists()


def _small_network():
    from snn_export import fixed_point as fp
    from snn_export.graph import INPUT, Dense, Network, Neurons

    params = fp.LIFParams(vth=10, du=4095, dv=2048)
    return Network((4,), 4, 8, [Neurons("n", (3,), params, np.zeros(3, int))],
                   [Dense("n.dense", INPUT, "n", np.full((3, 4), 2))])


def _stalls(at, seconds):
    """Replace ``at`` (a "module:Class.method" path) by a version that first sleeps
    ``seconds`` once: a real stall of Lava's, where the code ran."""
    import importlib
    module, _, attr = at.partition(":")
    owner_name, method_name = attr.split(".")
    owner = getattr(importlib.import_module(module), owner_name)
    original, slept = getattr(owner, method_name), []

    def stalled(self, *args, **kwargs):
        if not slept:
            slept.append(True)
            time.sleep(seconds)
        return original(self, *args, **kwargs)
    return owner, method_name, stalled


@pytest.mark.lava
@pytest.mark.parametrize("where, limit, phase, seconds", [  # (start: ten times the limit)
    ("lava.magma.compiler.compiler:Compiler.compile", 0.5, "starting", 5),  # before any process
    ("lava.proc.io.extractor:PyLoihiExtractorModel.run_spk", 10.0, "running", 10)])  # a child
def test_a_stalled_lava_start_or_step_is_given_up(monkeypatch, where, limit, phase, seconds):
    """The watchdog ends a Lava run that stalls while it starts (the compiler, in this
    process) or at a step (a process model, in Lava's forked child, which wakes 20 s
    later): one SnnExportError naming the phase, no process and no /dev/shm segment left."""
    import multiprocessing

    from snn_export.errors import SnnExportError
    from snn_export.sim import lava_builder, lava_runner

    lava_builder.import_lava()
    monkeypatch.setattr(*_stalls(where, 20.0))
    shm = set(os.listdir("/dev/shm"))
    start = time.monotonic()
    with pytest.raises(SnnExportError, match=f"no progress for {seconds:g} s while {phase};"):
        lava_runner.run(_small_network(), np.zeros((2, 4), int), progress=False,
                        stall_limit=limit)
    assert time.monotonic() - start < 60
    time.sleep(1.0)
    assert multiprocessing.active_children() == []
    assert set(os.listdir("/dev/shm")) - shm == set()


class _SignalledWhileFinalised:
    """An object whose finaliser sends ``signum`` to this process: the handler runs inside
    the finaliser, where Python drops the exception it raises."""

    def __init__(self, signum: int):
        self.signum = signum

    def __del__(self):
        os.kill(os.getpid(), self.signum)
        for _ in range(10_000):  # the handler runs in here, between bytecodes
            pass


def test_a_signal_dropped_in_a_finaliser_is_raised_at_the_next_check(capsys, monkeypatch):
    """Python drops an exception raised inside a finaliser (here, the signal handler's):
    nothing is printed, and the next check() raises it."""
    from snn_export.interrupts import Interrupted, check, interruptible

    reached, reported = False, []
    monkeypatch.setattr(sys, "unraisablehook", reported.append)  # Python's report would go here
    with pytest.raises(Interrupted, match="SIGINT"):
        with interruptible():
            _SignalledWhileFinalised(signal.SIGINT)  # (finalised at once: the raise is dropped)
            reached = True
            check()
    assert reached and reported == [] and capsys.readouterr().err == ""


def test_a_dropped_signal_is_raised_when_the_block_ends(monkeypatch):
    """A Ctrl-C dropped after the last check() still stops the command: the block that
    took it raises it when it ends, also when nested (as the console commands nest it)."""
    from snn_export.interrupts import Interrupted, interruptible

    monkeypatch.setattr(sys, "unraisablehook", lambda report: None)
    with pytest.raises(Interrupted, match="SIGTERM"):
        with interruptible():
            with interruptible():
                _SignalledWhileFinalised(signal.SIGTERM)


def test_an_error_after_a_dropped_signal_is_reported_as_the_signal(monkeypatch):
    """Code that catches the signal's exception may fail otherwise (a half-done import, say):
    that error is the signal's doing, and the command stops as interrupted."""
    from snn_export.interrupts import Interrupted, interruptible

    monkeypatch.setattr(sys, "unraisablehook", lambda report: None)
    with pytest.raises(Interrupted, match="SIGINT"):
        with interruptible():
            _SignalledWhileFinalised(signal.SIGINT)
            raise AttributeError("module 'torch' has no attribute ...")
    with pytest.raises(AttributeError):  # (without a signal, the error is the error)
        with interruptible():
            raise AttributeError("a real bug")
