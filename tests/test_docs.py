"""The reference pages in docs/ are generated from the code and must match it."""
import importlib.util
import re
from pathlib import Path

DOCS = Path(__file__).resolve().parents[1] / "docs"


def generator():
    spec = importlib.util.spec_from_file_location("generate", DOCS / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_pages_match_the_code(capsys):
    assert generator().main(["--check"]) == 0, capsys.readouterr().err


def test_index_links_every_page_and_pages_hold_what_they_promise():
    gen = generator()
    index = (DOCS / "README.md").read_text()
    assert sorted(re.findall(r"\]\(([\w-]+\.md)\)", index)) == sorted(gen.PAGES)
    cli = (DOCS / "cli.md").read_text()
    assert "exit status: 0 ok, 1 error" in cli and "usage: snn-train" in cli
    from snn_export.deploy.compliance import RULES
    compliance = (DOCS / "compliance.md").read_text()
    assert all(f"| `{rule}` |" in compliance for rule in RULES)
    from snn_export.checkpoint import REQUIRED
    checkpoint = (DOCS / "checkpoint.md").read_text()
    assert all(f"| `{field}` |" in checkpoint for field in REQUIRED)


def test_a_stale_page_is_detected(tmp_path, monkeypatch, capsys):
    gen = generator()
    for name in gen.PAGES:
        (tmp_path / name).write_text((DOCS / name).read_text())
    (tmp_path / "cli.md").write_text("outdated")
    monkeypatch.setattr(gen, "DOCS", tmp_path)
    assert gen.main(["--check"]) == 1
    assert "cli.md" in capsys.readouterr().err
