"""Layout and install: one distribution, stage folders installed as snn_export.<stage>,
and the core usable with Lava hidden."""
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

HIDE_LAVA = textwrap.dedent("""
    import importlib.abc, sys
    class HideLava(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name == "lava" or name.startswith("lava."):
                raise ModuleNotFoundError(f"No module named {name!r} (hidden by the test)")
    sys.meta_path.insert(0, HideLava())
""")


def test_core_works_with_lava_hidden(tmp_path, trained):
    script = HIDE_LAVA + textwrap.dedent(f"""
        import numpy as np
        import snn_export, snn_export.train, snn_export.export, snn_export.deploy, snn_export.sim
        from snn_export.sim import emulator, verify, lava_runner
        from snn_export.cli import main
        from snn_export.errors import SnnExportError
        assert main([{str(trained)!r}, "--target", "lava", "-o", {str(tmp_path / 'o')!r}, "-q"]) == 0
        from snn_export.deploy import netx_hdf5
        net = netx_hdf5.read({str(tmp_path / 'o' / 'network.net')!r})
        spikes = emulator.run(net, np.zeros((2, 64), dtype=int)).spikes
        assert [s.shape for s in spikes.values()] == [(2, 18, 128), (2, 18, 10)]  # T + depth
        try:
            lava_runner.run(net, np.zeros((1, 64), dtype=int))
        except SnnExportError as exc:
            assert "Lava is not available" in str(exc) and "snn-export[lava]" in str(exc)
        else:
            raise AssertionError("expected SnnExportError")
        assert not any(m == "lava" or m.startswith("lava.") for m in sys.modules)
        print("ok")
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().endswith("ok")


def test_verify_without_lava_is_a_clear_error(tmp_path, trained):
    script = HIDE_LAVA + textwrap.dedent(f"""
        from snn_export.cli import main
        raise SystemExit(main([{str(trained)!r}, "--target", "lava", "-o",
                               {str(tmp_path / 'o')!r}, "--verify", "3", "-q"]))
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 1
    assert "Lava is not available" in proc.stderr and "Traceback" not in proc.stderr


def test_wheel_installs_stage_folders_as_subpackages(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w",
                           str(tmp_path), str(ROOT)], capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        pytest.fail(proc.stderr[-2000:])
    (wheel,) = tmp_path.glob("snn_export-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for module in ("snn_export/cli.py", "snn_export/fixed_point.py", "snn_export/train/graph_model.py",
                   "snn_export/export/from_checkpoint.py", "snn_export/deploy/netx_hdf5.py",
                   "snn_export/sim/emulator.py"):
        assert module in names
    assert not any(n.startswith(("train/", "tests/", "sim/")) for n in names)
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "snn-export = snn_export.launch:snn_export" in text and \
        "snn-train = snn_export.launch:snn_train" in text
