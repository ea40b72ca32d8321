"""snn-export: deploy a trained spiking network to Loihi-style fixed point, verify it in Lava,
or write it as NIR or ONNX for other tools."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from . import pipeline
from .argparsing import Parser
from .atomic import atomic_path, check_writable_file, check_writable_folder, staged_folder
from .errors import NotCompliant, SnnExportError, VerificationMismatch
from .export.nir_dialects import DIALECTS
from .launch import guarded

TARGETS = ("lava", "nir", "onnx")

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
  snn-export model.pt --target lava --system kapoho-point
                                                    a network too big for one chip, placed on
                                                    the 8 chips of a Kapoho Point board
  snn-export model.pt --target nir --verify 10      the deployed network as NIR (model_nir/
                                                    network.nir), read back and run in Lava
  snn-export model.pt --target onnx                 the float network unrolled over its time
                                                    steps (model_onnx/model.onnx), for onnxruntime
  snn-export net.nir --dialect norse --time-steps 20 --target lava --dataset digits --verify 10
                                                    a NIR graph written by norse, quantized and
                                                    deployed like a model.pt, verified in Lava
  snn-export network.net --time-steps 16 --target lava --dataset digits --evaluate 360 --verify 5
                                                    a lava-dl slayer network: report, accuracy
                                                    (emulator), its own file in stock netx
  snn-export network.net --time-steps 16 --target lava --input x.npy --labels y.npy --verify 5
                                                    your own test samples: .npy input levels
                                                    or spike trains, and their classes

exit status: 0 ok, 1 error (bad input, missing file, ...), 2 not spike-only compliant,
             3 verification mismatch
"""


def parser() -> argparse.ArgumentParser:
    p = Parser(prog="snn-export", description=__doc__.strip(), epilog=EPILOG,
                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", help="trained checkpoint (model.pt, written by snn-train), a "
                   "NIR graph (.nir) written by snn-export, norse, snnTorch or another NIR "
                   "tool, or a lava-dl netx file (.net) written by slayer (with --time-steps)")
    p.add_argument("--target", required=True, metavar="TARGET",
                   help="what to produce: lava (the deployed network for Lava: netx HDF5 or "
                        "the snn-export graph file), nir (the deployed network as a NIR "
                        "graph) or onnx (the float network, unrolled over its steps)")
    p.add_argument("-o", "--output", metavar="DIR",
                   help="output folder (default: <model stem>_<target> beside the model)")
    p.add_argument("--verify", type=int, metavar="N", default=0,
                   help="run N test samples in Lava's CPU simulator and the emulator and compare "
                        "spikes on every layer at every step (default: 0, no verification)")
    p.add_argument("--lava-timeout", type=float, metavar="SECONDS", default=None,
                   help="--verify: give a Lava run up (exit 1) when one of its steps takes "
                        "this long, or its start ten times as long (default: 300; 0: wait "
                        "for ever)")
    p.add_argument("--evaluate", type=int, metavar="N", default=0,
                   help="run N test samples through the deployed integer network in the "
                        "exact emulator (no Lava, fast) and report its accuracy next to the "
                        "float model's (default: 0)")
    p.add_argument("--check", action="store_true",
                   help="only run the spike-only compliance check (exit 2 if it fails)")
    p.add_argument("--allow", action="append", default=[], metavar="RULE",
                   help="accept violations of this rule id (repeatable), e.g. "
                        "spike-only/graded-join")
    p.add_argument("--system", default="chip", metavar="NAME|N",
                   help="the Loihi 2 system the network must fit (rule resources/cores): chip "
                        "(one chip, the default), kapoho-point (an 8-chip board), hala-point "
                        "(1,152 chips) or a number of chips")
    p.add_argument("--junit", metavar="FILE",
                   help="also write the compliance result as JUnit XML (for CI test reports)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    nir = p.add_argument_group(
        "NIR and netx input", "a .nir file that another tool wrote holds neither the time "
        "step, nor the\nstep count, nor the input encoding, nor samples: say them here (a netx "
        "file takes\n--time-steps, and --dataset, or --input-bits with --input [--labels])")
    nir.add_argument("--dialect", choices=list(DIALECTS),
                     help="the tool that wrote the graph, whose discretization is read: norse "
                          "(norse 1.1 to_nir), snntorch (export_to_nir), spikingjelly "
                          "(export_to_nir), sinabs (sinabs.to_nir) or nir (forward Euler of "
                          "NIR's equations)")
    nir.add_argument("--dt", type=float, metavar="SECONDS",
                     help="the time step the graph was written for (default: norse 1e-3, "
                          "snntorch and spikingjelly 1e-4, sinabs 1 (steps); required for "
                          "--dialect nir)")
    nir.add_argument("--time-steps", type=int, metavar="N", help="steps per sample (required)")
    nir.add_argument("--dataset", metavar="NAME",
                     help="the dataset the network reads, for the report's activity, --verify "
                          "and --evaluate; its input encoding is used (e.g. digits, mnist5k, "
                          "moving_bars)")
    nir.add_argument("--input-bits", type=int, metavar="B",
                     help="input levels of B bits (default 1: binary spikes); not with --dataset")
    nir.add_argument("--input-scale", type=float, metavar="S",
                     help="level x stands for the value x * S (default 1.0); not with --dataset")
    nir.add_argument("--input", metavar="FILE",
                     help="test samples instead of --dataset: a .npy array of integer input "
                          "levels 0..2**B-1 (B: --input-bits, or the bits a file snn-export "
                          "wrote stores), (samples, *input shape) or "
                          "(samples, input size) held at every step, or (samples, steps, "
                          "...) one frame per step")
    nir.add_argument("--labels", metavar="FILE",
                     help="the classes of --input's samples: a .npy array (samples,) of "
                          "integers; --evaluate needs them, --verify then reports accuracy")
    nir.add_argument("--readout", choices=("spikes", "voltage"),
                     help="what the readout neuron (the node before Output) gives: its spike "
                          "counts (default), or its voltage after the last step, its threshold "
                          "and reset ignored (a membrane readout, e.g. snnTorch's "
                          "Leaky(reset_mechanism='none')); LI and CubaLI readouts are voltages")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    return p


def _export(args) -> int:
    if args.target not in TARGETS:
        raise SnnExportError(f"unknown --target {args.target!r}; available: "
                             f"{', '.join(TARGETS)}")
    model_path = Path(args.model)
    for flag in ("verify", "evaluate"):  # before the model is read
        pipeline.check_count(getattr(args, flag), f"--{flag}")
    pipeline.loihi_system(args.system)  # a bad value fails before the model is read
    out_dir = _out_dir(args, model_path)
    if not args.check:  # outputs that cannot be written fail before any work
        check_writable_folder(out_dir)
    if args.junit:
        check_writable_file(args.junit, "JUnit report")
    source = pipeline.load(model_path, **{o: getattr(args, o) for o in pipeline.NIR_OPTIONS})
    if args.target == "onnx" and not args.check:
        return _export_onnx(args, source, out_dir)
    for flag in ("verify", "evaluate"):
        if getattr(args, flag):
            source.samples(getattr(args, flag), f"--{flag}", labelled=flag == "evaluate")
    if args.evaluate:
        source.evaluation_model()
    checked = pipeline.check(source, args.allow, args.system)
    if args.junit:
        from snn_export.deploy import compliance
        with atomic_path(Path(args.junit)) as tmp:
            Path(tmp).write_text(compliance.to_junit(checked.violations, str(model_path)))
    if args.check or not checked.compliant:
        _warn(source.warnings + checked.warnings)
        _print_violations(args, checked.violations, model_path)
        return 0 if checked.compliant else NotCompliant.exit_code
    with staged_folder(out_dir) as stage:  # all or nothing: moved into out_dir at the end
        summary, verification = _deploy(args, checked, source, stage)
    summary["files"] = [str(out_dir / Path(f).name) for f in summary["files"]]
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        from snn_export.sim.report import REPORT_NAME
        print((out_dir / REPORT_NAME).read_text())
        print("wrote " + ", ".join(summary["files"]))
    if verification is not None and not verification.bit_exact:
        raise VerificationMismatch(f"{out_dir / Path(summary['files'][0]).name}: Lava and the "
                                   f"emulator differ on {verification.mismatches} spikes and "
                                   "neuron states")
    return 0


def _deploy(args, checked, source, folder: Path) -> tuple[dict, object]:
    """Write the description into ``folder``, evaluate and verify as asked, and write the
    report (which also tells of a mismatch); returns the summary and the verification."""
    written = pipeline.write(checked.deployment(), folder, args.target)
    warnings = written.all_warnings
    _warn(warnings)
    summary = {"target": args.target, "files": [str(written.description)], "compliant": True}
    progress = not (args.quiet or args.json)
    evaluation = verification = None
    if args.evaluate:
        evaluation = pipeline.evaluate(written.deployment, args.evaluate, progress)
        summary["evaluation"] = evaluation.to_json()
    if args.verify:
        verification = pipeline.verify(written, args.verify, progress, args.lava_timeout)
        summary.update(verification.to_json())
    summary["files"] += [str(f) for f in pipeline.report(written, evaluation, verification)]
    if warnings:
        summary["warnings"] = warnings
    return summary, verification


def _warn(warnings: list[str]) -> None:
    for warning in warnings:
        print(f"snn-export: warning: {warning}", file=sys.stderr)


def _print_violations(args, violations: list, model_path: Path) -> None:
    from snn_export.deploy import compliance

    if args.json:
        print(json.dumps(compliance.to_json(violations, str(model_path)), indent=2))
    else:
        print(compliance.to_text(violations, str(model_path)),
              file=sys.stdout if args.check else sys.stderr)


def _out_dir(args, model_path: Path) -> Path:
    """``-o``, or ``<model stem>_<target>`` beside the model."""
    return Path(args.output) if args.output else \
        model_path.parent / f"{model_path.stem}_{args.target}"


def _shapes(tensors: dict) -> str:
    return ", ".join(f"{name} {tuple(shape)}" for name, shape in tensors.items())


def _export_onnx(args, source: pipeline.Source, out_dir: Path) -> int:
    """The float inference network as ONNX; no lowering, so no Lava to verify against."""
    if args.verify or args.evaluate:
        raise SnnExportError("--verify and --evaluate run the deployed integer network: use "
                             "--target lava or nir (ONNX holds the float network)")
    facts = pipeline.write_onnx(source, out_dir)
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
    return guarded("snn-export", lambda: _export(args))


if __name__ == "__main__":
    sys.exit(main())
