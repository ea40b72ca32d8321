"""Every seed architecture trained on MNIST-5k with one short recipe, side by side.

Same recipe for all (by default every architecture but the seed networks at their published
sizes, ``AT_SIZE``): channels 8 and 16 (``attention_net``: 8), the flatten readout, T steps,
a few float epochs, Adam with cosine annealing, seed 0. Prints one Markdown row per
architecture: float test accuracy, the deployed (quantized, integer) forward's accuracy for
the deployable ones, seconds, and the readout latency in steps; writes them as JSON too.
Run: ``.venv/bin/python benchmarks/architectures.py [--epochs N] [--time-steps T]
[--arch NAME ...] [--json results.json]``.
"""
from __future__ import annotations

import argparse
import json

from snn_export.model_graph import ModelGraph, latencies
from snn_export.train.architectures import ARCHITECTURES, AT_SIZE
from snn_export.train.trainer import TrainConfig, train


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--time-steps", type=int, default=20)
    p.add_argument("--arch", nargs="*", choices=list(ARCHITECTURES),
                   default=[a for a in ARCHITECTURES if a not in AT_SIZE])  # 2-stage recipe
    p.add_argument("--json", help="also write the rows here")
    args = p.parse_args()
    rows = []
    print(f"MNIST-5k, {args.epochs} float epochs, T = {args.time_steps}, flatten readout")
    print("| `--arch` | float | deployed | seconds | readout latency (steps) |")
    print("|---|---|---|---|---|")
    for arch in args.arch:
        hidden = (8,) if arch == "attention_net" else (8, 16)
        ckpt = train(TrainConfig(dataset="mnist5k", arch=arch, hidden=hidden, head="flatten",
                                 time_steps=args.time_steps, epochs=args.epochs,
                                 quantization_aware=False), progress=False)
        t = ckpt["training"]
        depth = latencies(ModelGraph.from_dict(ckpt["architecture"]))[ckpt["architecture"]
                                                                        ["readout"]]
        row = {"arch": arch, "float": t["float_test_accuracy"],
               "deployed": t["quantized_test_accuracy"], "seconds": t["seconds"],
               "latency": depth}
        rows.append(row)
        deployed = "-" if row["deployed"] is None else f"{100 * row['deployed']:.1f}%"
        print(f"| `{arch}` | {100 * row['float']:.1f}% | {deployed} | {row['seconds']:.0f} "
              f"| {depth} |", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"epochs": args.epochs, "time_steps": args.time_steps, "rows": rows}, f,
                      indent=1)


if __name__ == "__main__":
    main()
