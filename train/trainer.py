"""Training loop: deterministic given a seed, progress bars, ``model.pt`` checkpoints."""
from __future__ import annotations

import copy
import inspect
import math
import os
import time
from dataclasses import asdict, dataclass

import numpy as np
import torch
from tqdm import tqdm

from snn_export import metrics
from snn_export.errors import SnnExportError
from snn_export.interrupts import check
from snn_export.model_graph import TAU_MIN, TIME_STEPS_MAX, check_time_steps, valid_tau
from snn_export.readout import predict, scores

from . import datasets
from .architectures import ARCHITECTURES, HEADS
from .graph_model import GraphSNN
from .surrogate import SURROGATES

OPTIMIZERS = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW,
              "sgd": lambda params, lr: torch.optim.SGD(params, lr, momentum=0.9)}
SCHEDULES = ("cosine", "step", "constant")


@dataclass
class TrainConfig:
    dataset: str = "digits"
    data_dir: str = "data"  # where the folder datasets live (see datasets.py)
    arch: str = "dense"  # a name in ARCHITECTURES ("dense": a Dense/LIF chain)
    # dense: hidden sizes; graph architectures: channels; empty: the architecture's default
    # (dense: 128 hidden units; the seed networks at their sizes: the papers' widths)
    hidden: tuple[int, ...] = ()
    head: str = "pool"  # graph architectures: a name in HEADS (what the readout reads)
    blocks: int = 1  # ResNets: residual blocks per stage (one stage per entry of hidden)
    time_steps: int = 16
    epochs: int = 30
    batch_size: int = 64
    lr: float = 5e-3
    tau_mem: float = 2.0
    tau_syn: float | None = None
    threshold: float = 1.0
    surrogate: str = "atan"
    alpha: float = 2.0
    quantization_aware: bool = True
    float_epochs: int = 0  # with quantization_aware: the first epochs train in float
    shift: int = 0  # augmentation: training images move by up to this many pixels each way
    seed: int = 0
    device: str = "cpu"  # "cpu", "cuda", "cuda:1", ...
    optimizer: str = "adam"  # a name in OPTIMIZERS
    schedule: str = "cosine"  # a name in SCHEDULES: the learning rate over the epochs

    def __post_init__(self):
        """Every field checked before any work: ``SnnExportError`` naming the option, the
        value and what would be valid."""
        for name, (valid, what) in _LIMITS.items():
            value = getattr(self, name)
            try:
                ok = valid(value, self)
            except TypeError:
                ok = False
            if not ok:
                option = "--" + name.replace("_", "-")
                raise SnnExportError(f"{option} {_shown(value)}: {what}")


def _shown(value) -> str:
    return " ".join(map(str, value)) if isinstance(value, (tuple, list)) else str(value)


def _whole(low: int, high: float = math.inf):
    """A test that a value is an int within ``low..high``."""
    return lambda v, cfg: isinstance(v, int) and not isinstance(v, bool) and low <= v <= high


def _number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _positive(v, cfg) -> bool:
    return _number(v) and v > 0


# field -> (test(value, config), what is valid)
_LIMITS = {
    "dataset": (lambda v, cfg: v in datasets.LOADERS, f"one of {', '.join(datasets.LOADERS)}"),
    "arch": (lambda v, cfg: v in ARCHITECTURES, f"one of {', '.join(ARCHITECTURES)}"),
    "hidden": (lambda v, cfg: isinstance(v, (tuple, list)) and all(_whole(1)(n, cfg) for n in v),
               "sizes of 1 or more"),
    "head": (lambda v, cfg: v in HEADS, f"one of {', '.join(HEADS)}"),
    "blocks": (_whole(1), "1 or more residual blocks per stage"),
    "time_steps": (_whole(1, TIME_STEPS_MAX), f"1 to {TIME_STEPS_MAX} steps per sample"),
    "epochs": (_whole(1), "1 or more"),
    "batch_size": (_whole(1), "1 or more samples"),
    "lr": (_positive, "a learning rate above 0"),
    "tau_mem": (lambda v, cfg: valid_tau(v), f"a time constant of {TAU_MIN:g} step or more"),
    "tau_syn": (lambda v, cfg: v is None or valid_tau(v),
                f"a time constant of {TAU_MIN:g} step or more (or none)"),
    "threshold": (_positive, "a threshold above 0"),
    "surrogate": (lambda v, cfg: v in SURROGATES, f"one of {', '.join(SURROGATES)}"),
    "alpha": (_positive, "a surrogate sharpness above 0"),
    "float_epochs": (lambda v, cfg: _whole(0, cfg.epochs)(v, cfg),
                     "0 up to --epochs (the first epochs train in float)"),
    "shift": (_whole(0), "0 (no augmentation) or more pixels"),
    "seed": (_whole(0, 2**32 - 1), "an integer from 0 to 2**32 - 1"),
    "optimizer": (lambda v, cfg: v in OPTIMIZERS, f"one of {', '.join(OPTIMIZERS)}"),
    "schedule": (lambda v, cfg: v in SCHEDULES, f"one of {', '.join(SCHEDULES)}"),
}


def _device(model: torch.nn.Module) -> torch.device:
    return next(model.parameters()).device


def evaluate(model: GraphSNN, x: np.ndarray, y: np.ndarray, time_steps: int,
             quantized: bool, batch_size: int = 256) -> tuple[float, dict[str, float]]:
    """Accuracy (the readout's score, :func:`snn_export.readout.scores`, is largest for
    the true class; ties go to the lowest class index) and the firing rate of every spiking
    layer (spikes per neuron per step)."""
    mode = model.quantized_mode
    model.quantized_mode = quantized
    correct, totals = 0, {}
    with torch.no_grad():
        for i in range(0, len(x), batch_size):
            xb = torch.from_numpy(x[i:i + batch_size]).to(_device(model))
            trains = model(model.shaped(xb), time_steps)
            out = trains[model.graph.readout]
            trains = {n: s for n, s in trains.items() if model.graph.kind(n) == "spikes"}
            for name, s in trains.items():
                totals[name] = totals.get(name, 0.0) + float(s.double().sum())
            correct += int((predict(out.flatten(2).cpu(), model.voltage_readout)
                            == y[i:i + batch_size]).sum())
    model.quantized_mode = mode
    sizes = {name: s[0, 0].numel() for name, s in trains.items()}
    return correct / len(x), {n: t / (len(x) * time_steps * sizes[n]) for n, t in totals.items()}


def _shifted(data: datasets.Dataset, idx: np.ndarray, shift: int,
             rng: np.random.Generator) -> np.ndarray:
    """Training samples ``idx``, each image moved by a random whole number of pixels in
    -shift..shift along each axis (zeros fill in): translation augmentation."""
    x = data.x_train[idx]
    if not shift:
        return x
    if data.frames or len(data.image_shape) != 3:
        raise ValueError(f"--shift augments static images; {data.name} is not one")
    images = x.reshape(len(x), *data.image_shape)
    out = np.zeros_like(images)
    h, w = data.image_shape[1:]
    for k, (dy, dx) in enumerate(rng.integers(-shift, shift + 1, (len(x), 2))):
        out[k, :, max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = \
            images[k, :, max(-dy, 0):h + min(-dy, 0), max(-dx, 0):w + min(-dx, 0)]
    return out.reshape(x.shape)


def _optimizer(config: TrainConfig, params) -> tuple[torch.optim.Optimizer, object]:
    if config.optimizer not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {config.optimizer!r}; choose one of "
                         f"{', '.join(OPTIMIZERS)}")
    if config.schedule not in SCHEDULES:
        raise ValueError(f"unknown schedule {config.schedule!r}; choose one of "
                         f"{', '.join(SCHEDULES)}")
    opt = OPTIMIZERS[config.optimizer](params, config.lr)
    if config.schedule == "cosine":
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=config.epochs)
    elif config.schedule == "step":  # a tenth of the rate for the last third
        sched = torch.optim.lr_scheduler.StepLR(opt, max(1, 2 * config.epochs // 3), 0.1)
    else:
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda epoch: 1.0)
    return opt, sched


def _data_parallel(device: str) -> tuple[int, int, str]:
    """(rank, processes, this process's device). Under ``torchrun`` (``WORLD_SIZE`` > 1)
    joins the process group (NCCL on CUDA, else gloo); each process takes its share of
    every batch and gradients are averaged, so the update is the whole batch's."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 0, 1, device
    import torch.distributed as dist

    cuda = device.startswith("cuda")
    if not dist.is_initialized():
        dist.init_process_group("nccl" if cuda else "gloo")
    if cuda:
        device = f"cuda:{int(os.environ.get('LOCAL_RANK', '0'))}"
    return dist.get_rank(), world, device


def _average_gradients(model: torch.nn.Module, world: int) -> None:
    import torch.distributed as dist

    for p in model.parameters():
        if p.grad is None:
            p.grad = torch.zeros_like(p)
        dist.all_reduce(p.grad)
        p.grad /= world


def config_from(checkpoint: dict) -> TrainConfig:
    """The :class:`TrainConfig` a checkpoint was trained with (``SnnExportError`` if it
    holds none, or one with fields this version does not know)."""
    cfg = checkpoint.get("training", {}).get("config") if isinstance(
        checkpoint.get("training"), dict) else None
    if not isinstance(cfg, dict):
        raise SnnExportError("no training record ('training.config'): only checkpoints that "
                             "snn-train wrote can be resumed")
    unknown = sorted(set(cfg) - set(TrainConfig.__dataclass_fields__))
    if unknown:
        raise SnnExportError(f"training.config has fields this version does not know: "
                             f"{', '.join(unknown)}")
    cfg = dict(cfg)
    if isinstance(cfg.get("hidden"), list):
        cfg["hidden"] = tuple(cfg["hidden"])
    return TrainConfig(**cfg)


def train(config: TrainConfig, progress: bool = True, resume: dict | None = None,
          on_epoch=None) -> dict:
    """Train and return a checkpoint dict (see :mod:`snn_export.checkpoint`).

    resume: a checkpoint this function wrote (``training.resume``: epoch, optimizer,
        schedule and random state): training goes on from the next epoch with ``config``
        (use :func:`config_from`), exactly as if it had not stopped.
    on_epoch: called with the checkpoint after every epoch (``snn-train`` saves it, so an
        interrupted run can be resumed).
    """
    rank, world, device = _data_parallel(config.device)
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    data = datasets.load(config.dataset, config.data_dir, frames=config.time_steps)
    model, architecture = build(config, data)
    model.to(device)
    if resume is None and any(n.op == "batchnorm" for n in model.graph.nodes):
        calibrate_batchnorm(model, data.x_train[:512], config.time_steps)
    opt, sched = _optimizer(config, model.parameters())
    first, seconds = 0, 0.0
    if resume is not None:
        state = resume["training"].get("resume")
        if state is None:
            raise ValueError("the checkpoint holds no resume state (it was not written by "
                             "snn-train during training)")
        model.load_state_dict(resume["state_dict"])
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["schedule"])
        rng.bit_generator.state = state["numpy_rng"]
        torch.set_rng_state(state["torch_rng"])
        first, seconds = state["epoch"] + 1, state["seconds"]
    n = len(data.x_train)
    start = time.time() - seconds
    bar = tqdm(range(first, config.epochs), desc="training", unit="epoch",
               initial=first, total=config.epochs, disable=not progress or rank > 0)
    for epoch in bar:
        model.quantized_mode = config.quantization_aware and epoch >= config.float_epochs
        order = rng.permutation(n)
        total = seen = 0.0
        for i in range(0, n, config.batch_size):
            check()  # (a Ctrl-C whose first raise was dropped)
            idx = order[i:i + config.batch_size][rank::world]  # this process's share
            model.train()
            x = torch.from_numpy(_shifted(data, idx, config.shift, rng)).to(device)
            logits = scores(model.output(x, config.time_steps), model.voltage_readout)
            loss = torch.nn.functional.cross_entropy(
                logits.float(), torch.from_numpy(data.y_train[idx]).to(device))
            opt.zero_grad()
            loss.backward()
            if world > 1:
                _average_gradients(model, world)
            opt.step()
            total, seen = total + loss.item() * len(idx), seen + len(idx)
        sched.step()
        bar.set_postfix(loss=f"{total / seen:.3f}")
        if on_epoch is not None and epoch + 1 < config.epochs and rank == 0:
            state = {"epoch": epoch, "optimizer": _on_cpu(opt.state_dict()),
                     "schedule": _on_cpu(sched.state_dict()), "numpy_rng": rng.bit_generator.state,
                     "torch_rng": torch.get_rng_state(),
                     "seconds": round(time.time() - start, 1)}
            on_epoch(_checkpoint(config, model, architecture, data, {"resume": state}))
    results = {"seconds": round(time.time() - start, 1), "processes": world}
    model.eval()
    float_acc, rates = evaluate(model, data.x_test, data.y_test, config.time_steps, False)
    quant_acc = None  # a published, non-deployable form has no deployed forward
    if not getattr(model, "graded_nodes", None):
        quant_acc, rates = evaluate(model, data.x_test, data.y_test, config.time_steps, True)
    results.update(float_test_accuracy=float_acc, quantized_test_accuracy=quant_acc)
    # on the test set, with the deployed forward if any
    results["test_metrics"] = metrics.summary(model.graph, rates, config.time_steps)
    return _checkpoint(config, model, architecture, data, results)


def _on_cpu(state):
    """A detached copy of an optimizer or schedule state with every tensor on the CPU: the
    state dicts hold live references, and a checkpoint must load on any machine."""
    if isinstance(state, torch.Tensor):
        return state.detach().cpu().clone()
    if isinstance(state, dict):
        return {k: _on_cpu(v) for k, v in state.items()}
    if isinstance(state, (list, tuple)):
        return type(state)(_on_cpu(v) for v in state)
    return copy.deepcopy(state)


def _checkpoint(config: TrainConfig, model, architecture: dict, data: datasets.Dataset,
                training: dict) -> dict:
    cfg = asdict(config)
    cfg["hidden"] = list(config.hidden)
    return {
        "architecture": architecture,
        "state_dict": {k: v.detach().cpu().clone() for k, v in model.state_dict().items()},
        "quantization": {"weight_bits": 8, "decay_bits": 12,
                         "aware": config.quantization_aware},
        "dataset": data.metadata(),
        "time_steps": config.time_steps,
        "training": {"config": cfg, **training},
    }


def calibrate_batchnorm(model: GraphSNN, x: np.ndarray, time_steps: int) -> None:
    """Set batch norm running statistics from float forward passes over ``x``, so that
    quantization-aware training starts from activity like float training's."""
    mode = model.quantized_mode
    model.quantized_mode = False
    model.train()
    with torch.no_grad():
        for _ in range(10):  # momentum 0.1: ten passes bring the statistics most of the way
            model.output(torch.from_numpy(x).to(_device(model)), time_steps)
    model.quantized_mode = mode


def build(config: TrainConfig, data: datasets.Dataset) -> tuple[GraphSNN, dict]:
    """The untrained model and its checkpoint ``architecture`` field."""
    neuron = {"tau_mem": config.tau_mem, "tau_syn": config.tau_syn, "threshold": config.threshold}
    if config.arch not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {config.arch!r}; available: "
                         f"{', '.join(ARCHITECTURES)}")
    if data.frames and config.time_steps != data.frames:
        raise ValueError(f"{data.name} has {data.frames} event frames per sample, one per "
                         f"step: use --time-steps {data.frames}")
    if data.frames and config.arch == "dense":
        raise ValueError(f"{data.name} is event data (a frame per step): train a graph "
                         "architecture (--arch orrc_resnet, ...); the dense chain reads "
                         "static samples")
    make = ARCHITECTURES[config.arch]
    params = inspect.signature(make).parameters
    extra = {}
    if config.hidden:  # else the builder's default widths
        extra["channels"] = config.hidden[0] if config.arch == "attention_net" else \
            tuple(config.hidden)
    if config.blocks != 1:
        if "blocks" not in params:
            raise ValueError(f"{config.arch} has no residual stages (or a fixed number of "
                             "blocks per stage): --blocks applies to the other ResNets")
        extra["blocks"] = config.blocks
    if "time_steps" in params:  # SynA-T maps the time axis
        extra["time_steps"] = config.time_steps
    if "dataset" in params:  # Table IX: the layout for this dataset
        extra["dataset"] = config.dataset
    graph = make(data.image_shape, data.num_classes, data.input_bits, data.input_scale,
                 neuron=neuron, head=config.head, **extra)
    check_time_steps(graph, config.time_steps)
    model = GraphSNN(graph, config.surrogate, config.alpha)
    if config.quantization_aware and model.graded_nodes:
        raise ValueError(f"{config.arch} is a published, non-deployable form (graded nodes "
                         f"{', '.join(sorted(model.graded_nodes))}): train it with --float")
    return model, {**graph.to_dict(), "surrogate": config.surrogate, "alpha": config.alpha}
