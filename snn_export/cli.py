"""``snn-export``: deploy a trained spiking network, verify it in Lava, or write it as NIR or
ONNX for other tools."""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

from .errors import SnnExportError, VerificationMismatch

TARGETS = ("lava", "nir", "onnx")
NETX_NAME = "network.net"  # chains: stock lava-dl netx HDF5
GRAPH_NAME = "network.h5"  # everything else: the snn-export graph file
NIR_NAME = "network.nir"  # --target nir: the deployed network as a NIR graph
ONNX_NAME = "model.onnx"  # --target onnx: the float network unrolled over its steps
REPORT_NAME = "report.md"

EPILOG = """\
examples:
  snn-export model.pt --target lava                 write model_lava/network.net + report.md
  snn-export model.pt --target lava -o out/ --verify 200
                                                    also run 200 test samples in Lava and in
                                                    the emulator and compare every spike
  snn-export model.pt --target lava --evaluate 1000 --verify 20
                                                    deployed accuracy on 1,000 test samples
                                                    (emulator), 20 of them also in Lava
  snn-export model.pt --target lava --verify 50 --json
  snn-export model.pt --target lava --check --junit compliance.xml
                                                    only the spike-only compliance check
  snn-export model.pt --target nir --verify 10      the deployed network as NIR (model_nir/
                                                    network.nir), read back and run in Lava
  snn-export model.pt --target onnx                 the float network unrolled over its time
                                                    steps (model_onnx/model.onnx), for onnxruntime

exit status: 0 ok, 1 error (bad input, missing file, ...), 2 not spike-only compliant,
             3 verification mismatch
"""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # usage errors exit 1, like every other error
        self.print_usage(sys.stderr)
        self.exit(1, f"{self.prog}: error: {message}\n")


def parser() -> argparse.ArgumentParser:
    p = _Parser(prog="snn-export", description=__doc__.strip(), epilog=EPILOG,
                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", help="trained checkpoint (model.pt, written by snn-train)")
    p.add_argument("--target", required=True, metavar="TARGET",
                   help="what to produce: lava (the deployed network for Lava: netx HDF5 or "
                        "the snn-export graph file), nir (the deployed network as a NIR "
                        "graph) or onnx (the float network, unrolled over its steps)")
    p.add_argument("-o", "--output", metavar="DIR",
                   help="output folder (default: <model stem>_<target> beside the model)")
    p.add_argument("--verify", type=int, metavar="N", default=0,
                   help="run N test samples in Lava's CPU simulator and the emulator and compare "
                        "spikes on every layer at every step (default: 0, no verification)")
    p.add_argument("--evaluate", type=int, metavar="N", default=0,
                   help="run N test samples through the deployed integer network in the "
                        "exact emulator (no Lava, fast) and report its accuracy next to the "
                        "float model's (default: 0)")
    p.add_argument("--check", action="store_true",
                   help="only run the spike-only compliance check (exit 2 if it fails)")
    p.add_argument("--allow", action="append", default=[], metavar="RULE",
                   help="accept violations of this rule id (repeatable), e.g. "
                        "spike-only/graded-join")
    p.add_argument("--junit", metavar="FILE",
                   help="also write the compliance result as JUnit XML (for CI test reports)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    return p


def _write_outputs(out_dir: Path, net, graph: bool, target: str) -> tuple[list[Path], list]:
    """Write every file to a temporary folder first, then move them in: on an error
    nothing is left half-written. Returns the files and the writer's warnings."""
    from snn_export.deploy import graph_hdf5, netx_hdf5, report

    name = NIR_NAME if target == "nir" else GRAPH_NAME if graph else NETX_NAME
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f".{out_dir.name}."))
    warnings = []
    try:
        if target == "nir":
            from snn_export.export import to_nir
            warnings = to_nir.write(net, tmp / name)
        elif graph:
            graph_hdf5.write(net, tmp / name)
        else:
            netx_hdf5.write(net, tmp / name)
        text = report.graph_text(net, name) if graph else report.text(net, name)
        (tmp / REPORT_NAME).write_text(text)
        out_dir.mkdir(exist_ok=True)
        files = []
        for f in (name, REPORT_NAME):
            os.replace(tmp / f, out_dir / f)
            files.append(out_dir / f)
        return files, warnings
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _lower_and_check(model, ckpt, args, model_path: Path):
    """The deployable network (None if the graph itself is not compliant) and every
    compliance violation."""
    from snn_export.deploy import compliance
    from snn_export.deploy.lower import lower
    from snn_export.deploy.lower_graph import lower_graph
    from snn_export.export.from_checkpoint import to_graph
    from snn_export.train.graph_model import GraphSNN

    allow = frozenset(args.allow)
    if isinstance(model, GraphSNN):
        found = compliance.check_graph(model.graph, allow)
        if found:
            return None, found
        net = lower_graph(model.graph, model.tensors(), int(ckpt["time_steps"]),
                          {"source": str(model_path), "dataset": ckpt["dataset"],
                           "training": ckpt.get("training", {})})
    else:
        net = lower(to_graph(model, ckpt, source=str(model_path)))
    return net, [v for v in compliance.check_network(net) if v.rule not in allow]


def _export(args) -> int:
    from snn_export.deploy import compliance
    from snn_export.export.from_checkpoint import load_model
    from snn_export.train.graph_model import GraphSNN

    model_path = Path(args.model)
    model, ckpt = load_model(model_path)
    for flag in ("verify", "evaluate"):
        if getattr(args, flag) < 0:
            raise SnnExportError(f"--{flag} N needs N >= 0")
    if args.target == "onnx" and not args.check:
        return _export_onnx(args, model, ckpt, model_path)
    if args.verify or args.evaluate:
        from snn_export.train import datasets
        name = ckpt["dataset"].get("name")
        try:
            data = datasets.load(name, ckpt["dataset"].get("split", {}).get("root", "data"),
                                 frames=ckpt["dataset"].get("frames"))
        except ValueError as exc:
            raise SnnExportError(f"{model_path}: field 'dataset.name': {exc}") from None
        for flag in ("verify", "evaluate"):
            if getattr(args, flag) > len(data.x_test):
                raise SnnExportError(f"--{flag} {getattr(args, flag)}: the {name} test split "
                                     f"has only {len(data.x_test)} samples")
    unknown = set(args.allow) - set(compliance.RULES)
    if unknown:
        raise SnnExportError(f"--allow {sorted(unknown)[0]}: unknown rule; known: "
                             f"{', '.join(compliance.RULES)}")
    net, violations = _lower_and_check(model, ckpt, args, model_path)
    if args.junit:
        from snn_export.atomic import atomic_path
        with atomic_path(Path(args.junit)) as tmp:
            Path(tmp).write_text(compliance.to_junit(violations, str(model_path)))
    if args.check or violations:
        if args.json:
            print(json.dumps(compliance.to_json(violations, str(model_path)), indent=2))
        else:
            print(compliance.to_text(violations, str(model_path)),
                  file=sys.stdout if args.check else sys.stderr)
        return 2 if violations else 0
    graph = isinstance(model, GraphSNN)
    out_dir = _out_dir(args, model_path)
    files, warnings = _write_outputs(out_dir, net, graph, args.target)
    summary = {"target": args.target, "files": [str(f) for f in files], "compliant": True}
    if warnings:
        summary["warnings"] = warnings
        for warning in warnings:
            print(f"snn-export: warning: {warning}", file=sys.stderr)
    if not args.json:
        print((out_dir / REPORT_NAME).read_text())
        print("wrote " + ", ".join(summary["files"]))
    if args.evaluate:
        from snn_export.sim.evaluate import evaluate
        result = evaluate(net, model, data.x_test[:args.evaluate], data.y_test[:args.evaluate],
                          progress=not (args.quiet or args.json))
        summary["evaluation"] = result.to_json()
        if not args.json:
            print(result.summary())
    if args.verify:
        from snn_export.sim.verify import verify
        result = verify(files[0], model, data.x_test[:args.verify],
                        data.y_test[:args.verify], progress=not (args.quiet or args.json))
        summary.update(result.to_json())
        if not args.json:
            print(result.summary())
        if not result.bit_exact:
            if args.json:
                print(json.dumps(summary, indent=2))
            raise VerificationMismatch(f"{files[0]}: Lava and the emulator differ "
                                       f"on {result.mismatches} spikes and neuron states")
    if args.json:
        print(json.dumps(summary, indent=2))
    return 0


def _out_dir(args, model_path: Path) -> Path:
    """``-o``, or ``<model stem>_<target>`` beside the model."""
    return Path(args.output) if args.output else \
        model_path.parent / f"{model_path.stem}_{args.target}"


def _shapes(tensors: dict) -> str:
    return ", ".join(f"{name} {tuple(shape)}" for name, shape in tensors.items())


def _export_onnx(args, model, ckpt, model_path: Path) -> int:
    """The float inference network as ONNX; no lowering, so no Lava to verify against."""
    from snn_export.export.to_onnx import write_onnx

    if args.verify or args.evaluate:
        raise SnnExportError("--verify and --evaluate run the deployed integer network: use "
                             "--target lava or nir (ONNX holds the float network)")
    out_dir = _out_dir(args, model_path)
    out_dir.mkdir(parents=True, exist_ok=True)
    facts = write_onnx(model, ckpt, out_dir / ONNX_NAME)
    summary = {"target": "onnx", "files": [facts["path"]], **facts}
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(f"wrote {facts['path']}: opset {facts['opset']}, unrolled over "
              f"{facts['time_steps']} steps; inputs {_shapes(facts['inputs'])}; outputs "
              f"{_shapes(facts['outputs'])}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        if args.target not in TARGETS:
            raise SnnExportError(f"unknown --target {args.target!r}; available: "
                                 f"{', '.join(TARGETS)}")
        return _export(args)
    except SnnExportError as exc:
        print(f"snn-export: error: {exc}", file=sys.stderr)
        return exc.exit_code


if __name__ == "__main__":
    sys.exit(main())
