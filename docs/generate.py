"""Write the reference pages in docs/ from the code: the CLIs' --help, the modules'
docstrings (the one place each format is specified) and tables read from their constants.

    python docs/generate.py            rewrite the pages
    python docs/generate.py --check    exit 1 if a page differs from the code (the tests run this)
"""
from __future__ import annotations

import argparse
import dataclasses
import inspect
import os
import re
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
WIDTH = "100"  # argparse wraps --help to $COLUMNS: fixed, so the pages do not depend on a terminal


def markdown(doc: str) -> str:
    """A reStructuredText docstring as Markdown: roles and double backquotes to code."""
    doc = inspect.cleandoc(doc)
    doc = re.sub(r":(?:func|data|class|mod|meth|attr):`~?([^`]+)`", r"`\1`", doc)
    return doc.replace("``", "`").replace("::\n", ":\n")


def help_text(prog: str) -> str:
    from snn_export import cli
    from snn_export.train import cli as train_cli

    return (cli if prog == "snn-export" else train_cli).parser().format_help()


def page_cli() -> str:
    out = ["# Command-line reference", "",
           "Generated from the parsers (`python docs/generate.py`).", ""]
    for prog in ("snn-export", "snn-train"):
        out += [f"## `{prog}`", "", "```text", help_text(prog).rstrip(), "```", ""]
    return "\n".join(out)


def page_checkpoint() -> str:
    from snn_export import checkpoint

    rows = [f"| `{k}` | {t.__name__} |" for k, t in checkpoint.REQUIRED.items()]
    return "\n".join([
        "# Checkpoint format (`model.pt`)", "", markdown(checkpoint.__doc__), "",
        f"`format` must be `{checkpoint.FORMAT}` and `format_version` {checkpoint.FORMAT_VERSION}. "
        "Required fields and their types (checked on load; an error names the file and field):",
        "", "| field | type |", "|---|---|", *rows, "",
        "## Graph architectures", "", "The `architecture` field of a graph model:", "",
        markdown(__import__("snn_export.model_graph", fromlist=["x"]).__doc__), ""])


def page_graph_file() -> str:
    from snn_export import graph, samples_file
    from snn_export.deploy import graph_hdf5, netx_hdf5, netx_import

    return "\n".join(["# Graph description formats", "",
                      "## The deployed network in memory (`snn_export.graph`)", "",
                      markdown(graph.__doc__), "",
                      "## The snn-export graph file (`network.h5`)", "",
                      markdown(graph_hdf5.__doc__), "",
                      "## netx HDF5 (`network.net`, chains)", "", markdown(netx_hdf5.__doc__),
                      "", "## netx HDF5 files other tools wrote (lava-dl's slayer), read", "",
                      markdown(netx_import.__doc__), "",
                      "## Test samples (`--input`, `--labels`)", "",
                      markdown(samples_file.__doc__), ""])


def page_fixed_point() -> str:
    from snn_export import fixed_point as fp

    comments = dict(re.findall(r"^([A-Z][A-Z0-9_]*) = [^#\n]*#\s*(.*)$", inspect.getsource(fp),
                               re.M))
    rows = [f"| `{k}` | {v} | {comments.get(k, '').replace('``', '`')} |"
            for k, v in vars(fp).items()
            if re.fullmatch(r"[A-Z][A-Z0-9_]*", k) and isinstance(v, int)]
    params = [f"| `{cls.__name__}` | {', '.join(f'`{f.name}`' for f in dataclasses.fields(cls))} |"
              for cls in (fp.LIFParams, fp.ATRLIFParams)]
    return "\n".join(["# Fixed-point semantics", "", markdown(fp.__doc__), "",
                      "## Constants", "", "| name | value | meaning |", "|---|---|---|", *rows,
                      "",
                      "## Neuron registers", "", "| parameters | fields |", "|---|---|",
                      *params, "",
                      "## The step", "", "`lif_step`:", "", markdown(fp.lif_step.__doc__), "",
                      "`atrlif_step`:", "", markdown(fp.atrlif_step.__doc__), ""])


def page_compliance() -> str:
    from snn_export.deploy import compliance, never_firing

    rows = [f"| `{rule}` | {why} |" for rule, why in compliance.RULES.items()]
    limits = compliance.Loihi2Limits()
    figures = [f"| `{f.name}` | {getattr(limits, f.name):,} |"
               for f in dataclasses.fields(limits)]
    systems = [f"| `{s.name}` | {s.chips:,} | {s.what} |" for s in compliance.SYSTEMS.values()]
    return "\n".join(["# Compliance rules", "", markdown(compliance.__doc__), "",
                      "Allow a rule with `snn-export ... --allow <id>`.", "",
                      "| rule | why |", "|---|---|", *rows, "",
                      "## Loihi 2 limits", "", markdown(compliance.Loihi2Limits.__doc__), "",
                      "| limit | value |", "|---|---|", *figures, "",
                      "## Loihi 2 systems (`--system`)", "",
                      markdown(compliance.LoihiSystem.__doc__), "",
                      "| `--system` | chips | system |", "|---|---|---|", *systems, "",
                      "## Partitioning over cores and chips", "",
                      markdown(compliance.partition.__doc__), "",
                      "## Groups that can never fire (a warning)", "",
                      markdown(never_firing.__doc__), ""])


def page_nir() -> str:
    from snn_export.deploy import to_nir
    from snn_export.export import nir_dialects, nir_import

    tools = [f"| {tool} | {writes} | {reads} | {refuses} |"
             for tool, (writes, reads, refuses) in nir_dialects.TOOLS.items()]
    return "\n".join(["# NIR", "", "## Writing (`--target nir`)", "", markdown(to_nir.__doc__),
                      "", "## Reading graphs other tools wrote", "",
                      markdown(nir_import.__doc__), "", "## Each tool", "",
                      "| tool | writes | snn-export reads | and refuses |", "|---|---|---|---|",
                      *tools, "", "## Each tool's conventions", "",
                      markdown(nir_dialects.__doc__), ""])


PAGES = {"cli.md": page_cli, "checkpoint.md": page_checkpoint,
         "graph-formats.md": page_graph_file, "fixed-point.md": page_fixed_point,
         "compliance.md": page_compliance, "nir.md": page_nir}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--check", action="store_true", help="compare instead of writing")
    args = p.parse_args(argv)
    before = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = WIDTH
    stale = []
    try:
        for name, make in PAGES.items():
            text = make()
            path = DOCS / name
            if args.check:
                if not path.is_file() or path.read_text() != text:
                    stale.append(name)
            else:
                path.write_text(text)
    finally:
        if before is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = before
    if stale:
        print(f"docs out of date: {', '.join(stale)}; run python docs/generate.py",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
