"""Atomic file writing: a failed write never leaves a half-written output file."""
from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

from .errors import SnnExportError
from .interrupts import check


@contextlib.contextmanager
def atomic_path(path: str | Path):
    """Yield a temporary path in ``path``'s folder; rename it to ``path`` if the block succeeds,
    delete it if the block raises. The file gets the mode a plain ``open`` would give it."""
    path = Path(path)
    tmp = _temporary(path)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it private; give it a normal file's mode
    try:
        yield Path(tmp)
        try:
            os.replace(tmp, path)
        except OSError as exc:
            raise SnnExportError(f"{path}: cannot write there ({exc.strerror})") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


@contextlib.contextmanager
def staged_folder(out_dir: Path):
    """Yield a new temporary folder beside ``out_dir``; when the block ends normally, its
    files move into ``out_dir`` (made if needed; other files there stay). On any exception,
    an interrupt included, the temporary folder and any folder made for it are removed:
    ``out_dir`` stays as it was."""
    made = [p for p in [out_dir.parent, *out_dir.parent.parents] if not p.exists()]
    try:
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f".{out_dir.name}."))
    except OSError as exc:
        raise SnnExportError(f"{out_dir}: cannot write there ({exc.strerror})") from None
    done = False
    try:
        yield tmp
        check()  # (a Ctrl-C that code in the block caught and dropped still leaves nothing)
        try:
            out_dir.mkdir(exist_ok=True)
            for f in sorted(tmp.iterdir()):
                os.replace(f, out_dir / f.name)
        except OSError as exc:
            raise SnnExportError(f"{out_dir}: cannot write there ({exc.strerror})") from None
        done = True
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if not done:
            for folder in made:  # innermost first
                with contextlib.suppress(OSError):
                    folder.rmdir()


def atomic_files(out_dir: Path, write) -> list[Path]:
    """``write(folder)`` into a :func:`staged_folder` of ``out_dir``: on an error nothing is
    left half-written. Returns the files in ``out_dir``."""
    with staged_folder(out_dir) as tmp:
        written = write(tmp)
    return [out_dir / f.name for f in written]


def check_writable_file(path: str | Path, what: str = "output") -> Path:
    """``path`` as a file that can be written (it may exist and is then replaced);
    ``SnnExportError`` naming it if it is a folder, or its folder is missing or takes no new
    file (tried: permissions alone do not tell, e.g. for root)."""
    path = Path(path)
    if path.is_dir():
        raise SnnExportError(f"{path}: is a folder; name the {what} file to write")
    if not path.parent.is_dir():
        raise SnnExportError(f"{path}: {path.parent} is not a folder")
    os.unlink(_temporary(path))
    return path


def check_writable_folder(path: str | Path) -> Path:
    """``path`` as an output folder that exists or can be made (files in it are replaced);
    ``SnnExportError`` naming it if it, or a folder above it, is a file, or if nothing can be
    made where it would go."""
    path = Path(path)
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        what = "is a file; name a folder" if existing == path else f"{existing} is a file"
        raise SnnExportError(f"{path}: {what}")
    os.unlink(_temporary(existing / path.name))
    return path


def _temporary(path: Path) -> str:
    """A new empty file beside ``path`` (``SnnExportError`` naming ``path`` if none can be
    made there)."""
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise SnnExportError(f"{path}: cannot write there ({exc.strerror})") from None
    os.close(fd)
    return tmp
