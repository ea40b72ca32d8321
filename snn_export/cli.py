"""snn-export: deploy a trained spiking network to Loihi-style fixed point, verify it in Lava,
or write it as NIR or ONNX for other tools."""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

from .errors import SnnExportError, VerificationMismatch
from .export.nir_dialects import DIALECTS

NIR_OPTIONS = ("dialect", "dt", "time_steps", "dataset", "input_bits", "input_scale")

TARGETS = ("lava", "nir", "onnx")
NETX_NAME = "network.net"  # chains: stock lava-dl netx HDF5
GRAPH_NAME = "network.h5"  # everything else: the snn-export graph file
NIR_NAME = "network.nir"  # --target nir: the deployed network as a NIR graph
ONNX_NAME = "model.onnx"  # --target onnx: the float network unrolled over its steps

EPILOG = """\
examples:
  snn-export model.pt --target lava                 write model_lava/network.net, report.md
                                                    (and report.html) and its figures
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
  snn-export net.nir --dialect norse --time-steps 20 --target lava --dataset digits --verify 10
                                                    a NIR graph written by norse, quantized and
                                                    deployed like a model.pt, verified in Lava

exit status: 0 ok, 1 error (bad input, missing file, ...), 2 not spike-only compliant,
             3 verification mismatch
"""


class Parser(argparse.ArgumentParser):
    """argparse, with usage errors exiting 1 like every other error (2 and 3 have their
    own meanings: not compliant, verification mismatch)."""

    def error(self, message):
        self.print_usage(sys.stderr)
        self.exit(1, f"{self.prog}: error: {message}\n")


def parser() -> argparse.ArgumentParser:
    p = Parser(prog="snn-export", description=__doc__.strip(), epilog=EPILOG,
                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", help="trained checkpoint (model.pt, written by snn-train), or a "
                   "NIR graph (.nir) written by snn-export, norse, snnTorch or another NIR tool")
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
    nir = p.add_argument_group(
        "NIR input", "a .nir file that another tool wrote holds neither the time step, nor the\n"
        "step count, nor the input encoding: say them here")
    nir.add_argument("--dialect", choices=DIALECTS,
                     help="the tool that wrote the graph, whose discretization is read: norse "
                          "(norse 1.1 to_nir), snntorch (export_to_nir) or nir (forward Euler of "
                          "NIR's equations)")
    nir.add_argument("--dt", type=float, metavar="SECONDS",
                     help="the time step the graph was written for (default: norse 1e-3, "
                          "snntorch 1e-4; required for --dialect nir)")
    nir.add_argument("--time-steps", type=int, metavar="N", help="steps per sample (required)")
    nir.add_argument("--dataset", metavar="NAME",
                     help="the dataset the network reads, for the report's activity, --verify "
                          "and --evaluate; its input encoding is used (e.g. digits, mnist5k, "
                          "moving_bars)")
    nir.add_argument("--input-bits", type=int, metavar="B",
                     help="input levels of B bits (default 1: binary spikes); not with --dataset")
    nir.add_argument("--input-scale", type=float, metavar="S",
                     help="level x stands for the value x * S (default 1.0); not with --dataset")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    return p


def _atomic_files(out_dir: Path, write) -> list[Path]:
    """``write(folder)`` into a temporary folder beside ``out_dir``, then move its files in:
    on an error nothing is left half-written. Returns the files in ``out_dir``."""
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f".{out_dir.name}."))
    try:
        written = write(tmp)
        out_dir.mkdir(exist_ok=True)
        for f in written:
            os.replace(f, out_dir / f.name)
        return [out_dir / f.name for f in written]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _write_description(out_dir: Path, net, graph: bool, target: str) -> tuple[Path, list]:
    """The deployed network's file (netx, graph file or NIR) and the writer's warnings."""
    from snn_export.deploy import graph_hdf5, netx_hdf5

    name = NIR_NAME if target == "nir" else GRAPH_NAME if graph else NETX_NAME
    warnings = []

    def write(folder: Path) -> list[Path]:
        if target == "nir":
            from snn_export.export import to_nir
            warnings.extend(to_nir.write(net, folder / name))
        elif graph:
            graph_hdf5.write(net, folder / name)
        else:
            netx_hdf5.write(net, folder / name)
        return [folder / name]

    (path,) = _atomic_files(out_dir, write)
    return path, warnings


def _lower_and_check(model, ckpt, model_path: Path, allow: frozenset):
    """The deployable network (None if the graph itself is not compliant) and every
    compliance violation, allowed or not (the graph's rules are checked first: a graph that
    breaks one not in ``allow`` is not lowered)."""
    from snn_export.deploy import compliance
    from snn_export.deploy.lower import lower
    from snn_export.deploy.lower_graph import lower_graph
    from snn_export.export.from_checkpoint import to_graph
    from snn_export.train.graph_model import GraphSNN

    if not isinstance(model, GraphSNN):
        net = lower(to_graph(model, ckpt, source=str(model_path)))
        return net, compliance.check_network(net)
    found = compliance.check_graph(model.graph)
    if any(v.rule not in allow for v in found):
        return None, found
    net = lower_graph(model.graph, model.tensors(), int(ckpt["time_steps"]),
                      {"source": str(model_path), "dataset": ckpt["dataset"],
                       "training": ckpt.get("training", {})})
    return net, found + compliance.check_network(net)


def _load_nir(args, path: Path):
    """A .nir input: (model, ckpt, data, None, warnings) for a graph another tool wrote
    (read with the NIR options), or (None, None, data, network, []) for one snn-export wrote
    (the deployed network itself)."""
    from snn_export.export import from_nir, nir_import

    graph = nir_import.read_graph(path)
    data = None
    if args.dataset:
        if args.input_bits is not None or args.input_scale is not None:
            raise SnnExportError("--input-bits and --input-scale come from --dataset; give one "
                                 "or the other")
        data = _dataset(args.dataset, args.time_steps, f"--dataset {args.dataset}",
                        frames=args.time_steps)
    elif args.verify or args.evaluate:
        raise SnnExportError(f"{path}: --verify and --evaluate run test samples: name the "
                             "dataset the network reads with --dataset (e.g. digits, mnist5k)")
    if from_nir.written_by_snn_export(graph):
        given = [o for o in NIR_OPTIONS if o != "dataset" and getattr(args, o) is not None]
        if given:
            raise SnnExportError(f"{path}: written by snn-export, which stores the step, the "
                                 f"encoding and the registers: drop --{given[0].replace('_', '-')}")
        if args.evaluate or args.target == "onnx":
            raise SnnExportError(f"{path}: holds the deployed integer network only: "
                                 + ("--evaluate compares it with the float model" if args.evaluate
                                    else "--target onnx writes the float model")
                                 + "; run it on the model.pt")
        return None, None, data, from_nir.network(graph, path), []
    how = nir_import.NirInput(args.dialect, args.time_steps or 0, args.dt,
                              data.input_bits if data else args.input_bits or 1,
                              data.input_scale if data else args.input_scale or 1.0)
    model, ckpt, warnings = nir_import.load(graph, how, str(path))
    ckpt["dataset"]["name"] = args.dataset or ""
    if data is not None and ckpt["dataset"]["input_size"] != data.x_test.shape[-1]:
        raise SnnExportError(f"--dataset {args.dataset}: samples of {data.x_test.shape[-1]} "
                             f"values, but {path} reads {tuple(model.graph.input_shape)}")
    return model, ckpt, data, None, warnings


def _dataset(name: str, time_steps: int | None, where: str, root="data", frames=None):
    """A dataset by name; event data must have one frame per step."""
    from snn_export.train import datasets
    try:
        data = datasets.load(name, root, frames=frames)
    except ValueError as exc:
        raise SnnExportError(f"{where}: {exc}") from None
    if data.frames and time_steps and data.frames != time_steps:
        raise SnnExportError(f"{where}: {data.frames} frames per sample, but --time-steps "
                             f"{time_steps}: use --time-steps {data.frames}")
    return data


def _export(args) -> int:
    from snn_export.deploy import compliance
    from snn_export.export.from_checkpoint import load_model
    from snn_export.sim.report import REPORT_NAME, SAMPLES as REPORT_SAMPLES, Report
    from snn_export.train.graph_model import GraphSNN

    model_path = Path(args.model)
    for flag in ("verify", "evaluate"):
        if getattr(args, flag) < 0:
            raise SnnExportError(f"--{flag} N needs N >= 0")
    net, warnings = None, []
    no_data = "no --dataset given (a NIR file holds no samples)"
    if model_path.suffix == ".nir":
        model, ckpt, data, net, warnings = _load_nir(args, model_path)
    else:
        given = [o for o in NIR_OPTIONS if getattr(args, o) is not None]
        if given:
            raise SnnExportError(f"--{given[0].replace('_', '-')} is for NIR input (.nir); "
                                 f"{model_path} holds its own settings")
        model, ckpt = load_model(model_path)
        if args.target == "onnx" and not args.check:
            return _export_onnx(args, model, ckpt, model_path)
        try:  # the test samples: for --verify and --evaluate, and the report's activity
            data = _dataset(ckpt["dataset"].get("name"), None,
                            f"{model_path}: field 'dataset.name'",
                            ckpt["dataset"].get("split", {}).get("root", "data"),
                            ckpt["dataset"].get("frames"))
        except SnnExportError as exc:
            if args.verify or args.evaluate:
                raise
            data, no_data = None, str(exc)
    if args.target == "onnx" and not args.check:
        return _export_onnx(args, model, ckpt, model_path)
    if args.verify or args.evaluate:
        for flag in ("verify", "evaluate"):
            if getattr(args, flag) > len(data.x_test):
                raise SnnExportError(f"--{flag} {getattr(args, flag)}: the {data.name} test "
                                     f"split has only {len(data.x_test)} samples")
    unknown = set(args.allow) - set(compliance.RULES)
    if unknown:
        raise SnnExportError(f"--allow {sorted(unknown)[0]}: unknown rule; known: "
                             f"{', '.join(compliance.RULES)}")
    if net is None:
        net, found = _lower_and_check(model, ckpt, model_path, frozenset(args.allow))
    else:
        found = compliance.check_network(net)
    violations = [v for v in found if v.rule not in set(args.allow)]
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
    graph = model is None or isinstance(model, GraphSNN)
    out_dir = _out_dir(args, model_path)
    description, written = _write_description(out_dir, net, graph, args.target)
    warnings = warnings + written
    for warning in warnings:
        print(f"snn-export: warning: {warning}", file=sys.stderr)
    report = Report(net, description.name, allowed=found, warnings=warnings)
    if data is not None:
        report.x = data.x_test[:REPORT_SAMPLES]
    else:
        report.no_samples = no_data
    summary = {"target": args.target, "files": [str(description)], "compliant": True}
    try:
        if args.evaluate:
            from snn_export.sim.evaluate import evaluate
            report.evaluation = evaluate(net, model, data.x_test[:args.evaluate],
                                         data.y_test[:args.evaluate],
                                         progress=not (args.quiet or args.json))
            summary["evaluation"] = report.evaluation.to_json()
        if args.verify:
            from snn_export.sim.verify import verify
            report.verification = verify(description, model, data.x_test[:args.verify],
                                         data.y_test[:args.verify],
                                         progress=not (args.quiet or args.json))
            summary.update(report.verification.to_json())
    finally:  # the report also tells of a mismatch
        summary["files"] += [str(f) for f in _atomic_files(out_dir, report.write)]
        if warnings:
            summary["warnings"] = warnings
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print((out_dir / REPORT_NAME).read_text())
        print("wrote " + ", ".join(summary["files"]))
    if report.verification is not None and not report.verification.bit_exact:
        raise VerificationMismatch(f"{description}: Lava and the emulator differ on "
                                   f"{report.verification.mismatches} spikes and neuron states")
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
