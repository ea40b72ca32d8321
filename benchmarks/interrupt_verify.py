"""Ctrl-C at random moments of ``snn-export --verify``: what is left behind.

Each trial trains nothing: it runs ``snn-export MODEL --target lava --verify N -o OUT`` in a
new session, sends SIGINT (or ``--signal TERM``) to the whole process group, as a terminal
does, at a random moment between 0 and ``--latest`` seconds, and checks: the exit status
(130 / 143, or 0 when the run had finished), the seconds it took to stop, the processes left
in the session, the new ``/dev/shm`` segments (run it alone: another Lava run's segments
would count), and the output folder (absent, or complete: description, report and figures).
Run: ``.venv/bin/python benchmarks/interrupt_verify.py MODEL [--trials 100]``.
"""
from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

COMPLETE = {"report.md", "report.html"}  # besides the description and the figures


def trial(model: str, samples: int, delay: float, signum: int, out: Path) -> dict:
    shutil.rmtree(out, ignore_errors=True)
    before = set(os.listdir("/dev/shm"))
    exe = Path(sys.executable).parent / "snn-export"
    proc = subprocess.Popen([exe, model, "--target", "lava", "--verify", str(samples), "-o",
                             str(out), "-q"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    time.sleep(delay)
    sent = time.monotonic()
    try:
        os.killpg(proc.pid, signum)
    except ProcessLookupError:
        pass
    try:
        err = proc.communicate(timeout=60)[1]
        took = time.monotonic() - sent
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        err, took = proc.communicate()[1], None
    time.sleep(1.0)  # (the time the stopped processes get to exit)
    listed = subprocess.run(["ps", "-s", str(proc.pid), "-o", "pid=,stat=,args="],
                            capture_output=True, text=True).stdout.splitlines()
    # exited children the container's init has not reaped yet ("Z") run nothing: not counted
    running = [line.split(None, 2) for line in listed if line.split()[1][0] != "Z"]
    left, kinds = [r[0] for r in running], [r[2] for r in running]
    for pid in left:
        with_suppress(lambda: os.kill(int(pid), signal.SIGKILL))
    segments = set(os.listdir("/dev/shm")) - before
    for name in segments:
        with_suppress(lambda: os.unlink(f"/dev/shm/{name}"))
    files = set(os.listdir(out)) if out.exists() else None
    return {"code": proc.returncode, "took": took, "processes": len(left), "kinds": kinds,
            "segments": len(segments), "partial": files is not None and not COMPLETE <= files,
            "lines": len(err.strip().splitlines()), "stderr": err}


def with_suppress(fn) -> None:
    try:
        fn()
    except OSError:
        pass


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("model")
    p.add_argument("--trials", type=int, default=100)
    p.add_argument("--samples", type=int, default=300, help="--verify N (default: %(default)s)")
    p.add_argument("--latest", type=float, default=8.0,
                   help="the latest moment of the signal, seconds (default: %(default)s)")
    p.add_argument("--signal", default="INT", choices=["INT", "TERM"])
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    rng = random.Random(args.seed)
    signum = getattr(signal, f"SIG{args.signal}")
    out = Path(tempfile.mkdtemp()) / "out"
    results = []
    for k in range(args.trials):
        r = trial(args.model, args.samples, rng.uniform(0, args.latest), signum, out)
        results.append(r)
        print(f"{k + 1:4d} exit {r['code']:4d}  stopped in {r['took'] or -1:5.2f} s  processes "
              f"{r['processes']}  /dev/shm {r['segments']:3d}  partial folder {r['partial']}  "
              f"stderr lines {r['lines']}"
              + "".join(f"\n     left: {kind[:100]}" for kind in r["kinds"] if kind)
              + ("".join(f"\n     stderr: {line}" for line in r["stderr"].splitlines()[-40:])
                 if r["lines"] > 1 or r["code"] not in (0, 128 + signum) else ""))
    stopped = sum(r["code"] == 128 + signum for r in results)
    finished = sum(r["code"] == 0 for r in results)
    bad = [r for r in results if r["processes"] or r["segments"] or r["partial"]
           or r["code"] not in (0, 128 + signum) or r["took"] is None or r["lines"] > 1]
    print(f"\n{len(results)} trials: {stopped} stopped by SIG{args.signal} (exit "
          f"{128 + signum}), {finished} finished first; {len(bad)} left a process, a /dev/shm "
          f"segment or a partial folder, printed more than one line, or exited otherwise; "
          f"slowest stop {max((r['took'] or 0) for r in results):.2f} s")


if __name__ == "__main__":
    main()
