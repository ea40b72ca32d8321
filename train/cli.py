"""snn-train: train a spiking network (quantization-aware, standard timing) and save model.pt."""
from __future__ import annotations

import argparse
import json
import os
import sys

from snn_export import checkpoint
from snn_export.argparsing import Parser
from snn_export.atomic import check_writable_file
from snn_export.errors import SnnExportError
from snn_export.interrupts import Interrupted
from snn_export.launch import guarded

from . import datasets
from .surrogate import SURROGATES
from .architectures import ARCHITECTURES, HEADS
from .trainer import OPTIMIZERS, SCHEDULES, TrainConfig, config_from, train

EPILOG = """\
examples:
  snn-train -o model.pt                              digits, 64-128-10, T=16, 30 epochs
  snn-train --hidden 256 128 --time-steps 12 --epochs 50 --seed 3 -o big.pt
  snn-train --resume big.pt -o big.pt               go on after an interruption (the
                                                  checkpoint is saved after every epoch)
  snn-train --arch orrc_resnet --hidden 8 16 -o resnet.pt      OR-residual spiking ResNet
  snn-train --arch attention_net --hidden 8 -o attention.pt    binary attention masks
  snn-train --arch sew_resnet --hidden 8 16 -o sew.pt          SEW ResNet, ADD joins (export
                                                  it with --allow spike-only/graded-join)
  snn-train --dataset mnist5k --arch syna_resnet --hidden 8 16 --time-steps 16 \\
            --epochs 14 --float-epochs 12 -o syna.pt
                                                  MNIST-5k SynA-ResNet, 94.7% float / 94.5%
                                                  deployed (about 30 min on one CPU thread)
  snn-train --dataset mnist5k --arch syna_table9 --hidden 8 16 32 64 --time-steps 16 \\
            --epochs 13 --float-epochs 12 -o table9.pt
                                                  seed 004's Table IX network at an eighth of
                                                  its widths, 97.0% float / 96.9% deployed
                                                  (about 70 min on one CPU thread)
  snn-train --dataset moving_bars --arch orrc_resnet --hidden 4 8 --time-steps 12 -o bars.pt
                                                  synthetic event frames, one per step
  snn-train --dataset nmnist --data-dir data --arch orrc_resnet --time-steps 16 -o nmnist.pt
                                                  N-MNIST from data/NMNIST (tonic's layout),
                                                  each recording binned into 16 frames
  snn-train --dataset dvs_gesture --data-dir data --arch syna_table9 --time-steps 32 \\
            -o gesture.pt                         seed 004's Table IX DVS Gesture network
                                                  with SynA-C, at the paper's widths

data-parallel on several GPUs (or CPU processes), one process each:
  torchrun --nproc_per_node 4 -m snn_export.train.cli --device cuda --dataset mnist5k ...

then: snn-export model.pt --target lava --verify 200

exit status: 0 ok (the checkpoint is written after every epoch), 1 error (bad option, missing
             dataset folder, unreadable --resume checkpoint, ...: one line saying what to do,
             before any training), 130 Ctrl-C, 143 SIGTERM (stopped within seconds, one line;
             the checkpoint of the last finished epoch stays, --resume goes on from it)
"""


def parser() -> argparse.ArgumentParser:
    d = TrainConfig()
    p = Parser(prog="snn-train", description=__doc__.strip(), epilog=EPILOG,
               formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-o", "--output", metavar="FILE", default="model.pt",
                   help="checkpoint path (default: %(default)s)")
    p.add_argument("--dataset", default=d.dataset, choices=list(datasets.LOADERS),
                   metavar="NAME",
                   help=f"one of {', '.join(datasets.LOADERS)}. "
                        "digits, mnist5k and moving_bars are embedded; the others load "
                        "from --data-dir; nmnist, dvs_gesture and cifar10_dvs are event "
                        "recordings, binned into one frame per time step (default: "
                        "%(default)s)")
    p.add_argument("--data-dir", metavar="DIR", default=d.data_dir,
                   help="folder of the non-embedded datasets: torchvision's layout for "
                        "images, tonic's for events (needs the events extra); nothing is "
                        "downloaded (default: %(default)s)")
    p.add_argument("--arch", default=d.arch, choices=list(ARCHITECTURES), metavar="NAME",
                   help=f"one of {', '.join(ARCHITECTURES)}. dense: a Dense/LIF chain; the others: "
                        "convolutional graphs (default: %(default)s)")
    p.add_argument("--hidden", metavar="N", type=int, nargs="*", default=list(d.hidden),
                   help="dense: hidden layer sizes; resnets: channels per stage; "
                        "attention_net: channels (default: the architecture's: dense 128, "
                        "the *_table9 and *resnet18/19 networks the papers' widths)")
    p.add_argument("--blocks", metavar="N", type=int, default=d.blocks,
                   help="ResNets: residual blocks per stage, one stage per --hidden entry "
                        "(default: %(default)s)")
    p.add_argument("--head", default=d.head, choices=HEADS,
                   help="graph architectures: the readout reads the global average of each "
                        "channel (pool) or every spike of the last stage (flatten) "
                        "(default: %(default)s)")
    p.add_argument("--time-steps", metavar="N", type=int, default=d.time_steps,
                   help="steps per sample (default: %(default)s)")
    p.add_argument("--epochs", metavar="N", type=int, default=d.epochs, help="default: %(default)s")
    p.add_argument("--batch-size", metavar="N", type=int, default=d.batch_size,
                   help="default: %(default)s")
    p.add_argument("--lr", type=float, default=d.lr, help="learning rate (default: %(default)s)")
    p.add_argument("--optimizer", default=d.optimizer, choices=list(OPTIMIZERS),
                   help="sgd has momentum 0.9 (default: %(default)s)")
    p.add_argument("--schedule", default=d.schedule, choices=SCHEDULES,
                   help="learning rate over the epochs: cosine annealing, step (a tenth for "
                        "the last third) or constant (default: %(default)s)")
    p.add_argument("--tau-mem", metavar="STEPS", type=float, default=d.tau_mem,
                   help="membrane time constant in steps (default: %(default)s)")
    p.add_argument("--tau-syn", metavar="STEPS", type=float, default=d.tau_syn,
                   help="synaptic current time constant in steps (default: none, current "
                        "holds one step)")
    p.add_argument("--threshold", metavar="V", type=float, default=d.threshold,
                   help="default: %(default)s")
    p.add_argument("--surrogate", default=d.surrogate, choices=SURROGATES,
                   help="default: %(default)s")
    p.add_argument("--alpha", metavar="A", type=float, default=d.alpha,
                   help="surrogate sharpness (default: %(default)s)")
    p.add_argument("--float", dest="quantization_aware", action="store_false",
                   help="train in float (default: quantization-aware, the deployed integer "
                        "forward)")
    p.add_argument("--float-epochs", metavar="N", type=int, default=d.float_epochs,
                   help="train the first N epochs in float, then quantization-aware "
                        "(default: %(default)s)")
    p.add_argument("--shift", metavar="PIXELS", type=int, default=d.shift,
                   help="augmentation: move each training image by up to N pixels each way "
                        "(default: %(default)s, none)")
    p.add_argument("--seed", metavar="N", type=int, default=d.seed, help="default: %(default)s")
    p.add_argument("--device", metavar="DEVICE", default=d.device,
                   help="torch device: cpu, cuda, cuda:1, ... (default: %(default)s)")
    p.add_argument("--resume", metavar="CHECKPOINT",
                   help="go on with an interrupted run: the checkpoint snn-train saved after "
                        "its last finished epoch (its settings are used; the other options "
                        "are ignored)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.add_argument("--json", action="store_true",
                   help="print the result as JSON (the checkpoint path and its 'training' "
                        "field: accuracies, firing rates, energy, ...); no progress bar")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return guarded("snn-train", lambda: _train(args))


def _train(args) -> int:
    """The run, once options are parsed."""
    out = check_writable_file(args.output, "checkpoint")
    resume = None
    if args.resume:
        resume = checkpoint.load(args.resume)
        try:
            config = config_from(resume)
            if not isinstance(resume["training"].get("resume"), dict):
                raise SnnExportError("no resume state ('training.resume'): it is the final "
                                     "checkpoint of a finished run, or not snn-train's")
        except SnnExportError as exc:
            raise SnnExportError(f"--resume {args.resume}: {exc}") from None
    else:
        config = _config(args)
    saved = []

    def on_epoch(ckpt: dict) -> None:
        checkpoint.save(ckpt, out)  # (atomic: an interrupt leaves the previous one)
        saved.append(ckpt["training"]["resume"]["epoch"] + 1)
    try:
        ckpt = train(config, progress=not (args.quiet or args.json), resume=resume,
                     on_epoch=on_epoch)
        if int(os.environ.get("RANK", "0")) > 0:  # torchrun: the first process writes
            return 0
        checkpoint.save(ckpt, out)
    except ValueError as exc:
        raise SnnExportError(str(exc)) from None
    except Interrupted as stop:
        stop.kept = (f"{out} holds epoch {saved[-1]} of {config.epochs}: snn-train --resume "
                     f"{out} -o {out} goes on" if saved else
                     "no epoch had finished, nothing written")
        raise
    t = ckpt["training"]
    if args.json:
        print(json.dumps({"checkpoint": str(out), "training": t}, indent=2, default=str))
        return 0
    deployed = "not deployable" if t["quantized_test_accuracy"] is None else \
        f"{t['quantized_test_accuracy']:.4f}"
    print(f"float test accuracy {t['float_test_accuracy']:.4f}, quantized (deployed) "
          f"{deployed}, {t['seconds']} s -> {out}")
    return 0


def _config(args) -> TrainConfig:
    return TrainConfig(dataset=args.dataset, data_dir=args.data_dir, arch=args.arch,
                       hidden=tuple(args.hidden), blocks=args.blocks, head=args.head,
                       time_steps=args.time_steps, epochs=args.epochs,
                       batch_size=args.batch_size, lr=args.lr, tau_mem=args.tau_mem,
                       tau_syn=args.tau_syn, threshold=args.threshold,
                       surrogate=args.surrogate, alpha=args.alpha,
                       quantization_aware=args.quantization_aware,
                       float_epochs=args.float_epochs, shift=args.shift, seed=args.seed,
                       device=args.device, optimizer=args.optimizer, schedule=args.schedule)


if __name__ == "__main__":
    sys.exit(main())
