"""The deployment pipeline as a Python API: what ``snn-export`` runs, one step per function.

::

    from snn_export import pipeline

    source = pipeline.load("model.pt")            # or a .nir file: load("net.nir", dialect=...)
    checked = pipeline.check(source)              # spike-only compliance, the lowered network
    deployment = checked.deployment()             # raises NotCompliant (exit status 2)
    written = pipeline.write(deployment, "out")   # out/network.net (a chain) or network.h5
    evaluation = pipeline.evaluate(deployment, 360)     # deployed accuracy, in the emulator
    verification = pipeline.verify(written, 10)   # Lava against the emulator, spike for spike
    pipeline.report(written, evaluation, verification)  # out/report.md, report.html, figures
    pipeline.write_onnx(source, "onnx")           # the float network for onnxruntime

Every step raises :class:`~snn_export.errors.SnnExportError` (one line naming the file,
node or option) on bad input and writes nothing then. This module sits above the stages
(train -> export -> deploy -> sim): it imports them, none of them imports it; the command
line (:mod:`snn_export.cli`) only parses arguments, calls these functions and prints.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .atomic import atomic_files
from .errors import NotCompliant, SnnExportError
from .graph import Network

NIR_OPTIONS = ("dialect", "dt", "time_steps", "dataset", "input_bits", "input_scale",
               "readout", "input", "labels")  # (netx files take time steps and samples)
NETX_SUFFIX = ".net"  # a netx HDF5 file (lava-dl's slayer writes network.net)
ONNX_NAME = "model.onnx"  # write_onnx: the float network unrolled over its steps
EVALUATE_NEEDS = "--evaluate compares it with the float model"
ONNX_NEEDS = "--target onnx writes the float model"


def check_count(n: int, what: str) -> None:
    """Refuse a negative sample count ``n`` (``what``: the option that asked for it)."""
    if n < 0:
        raise SnnExportError(f"{what} N needs N >= 0")


@dataclass
class Source:
    """What a ``model.pt``, ``.nir`` or netx (``.net``) file holds.

    model: the trainable model (``GraphSNN``), or None for a NIR file snn-export wrote or a
        netx file, which hold the deployed ``network`` itself.
    checkpoint: the checkpoint's fields (for a NIR graph from another tool: the ones its
        import implies: dataset, time steps).
    data: the test samples of the model's dataset, or of ``--input`` (None: ``no_data``
        says why).
    warnings: what reading the file found worth saying (approximations of a NIR import).
    """

    path: Path
    model: object = None
    checkpoint: dict | None = None
    network: Network | None = None
    data: object = None  # snn_export.train.datasets.Dataset
    no_data: str = ""
    warnings: list[str] = field(default_factory=list)
    lava_file: Path | None = None  # a netx file another tool wrote: --verify runs it

    def samples(self, n: int, what: str = "samples", labelled: bool = False):
        """The first ``n`` test samples and labels (None: samples without labels, refused
        where ``labelled``); ``what`` names the request in errors."""
        check_count(n, what)
        if self.data is None:
            raise SnnExportError(self.no_data)
        file = self.data.split.get("input")  # (samples from --input FILE)
        if n > len(self.data.x_test):
            held = f"--input {file} holds" if file else f"the {self.data.name} test split has"
            raise SnnExportError(f"{what} {n}: {held} only {len(self.data.x_test)} samples")
        y = self.data.y_test
        if y is None and labelled:
            raise SnnExportError(f"{what} {n} measures accuracy, but --input {file} comes "
                                 "without labels: give their classes with --labels FILE.npy")
        return self.data.x_test[:n], None if y is None else y[:n]

    def trained_model(self, needed_for: str):
        """The trainable model; an error saying what ``needed_for`` it if there is none."""
        if self.model is None:
            raise SnnExportError(f"{self.path}: holds the deployed integer network only: "
                                 f"{needed_for}; run it on the model.pt")
        return self.model

    def evaluation_model(self):
        """The float model ``--evaluate`` compares the deployed network with: None for a
        netx file another tool wrote (its deployed accuracy alone)."""
        return None if self.lava_file is not None else self.trained_model(EVALUATE_NEEDS)


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


def load(path: str | Path, *, dialect: str | None = None, dt: float | None = None,
         time_steps: int | None = None, dataset: str | None = None,
         input_bits: int | None = None, input_scale: float | None = None,
         readout: str | None = None, input: str | None = None,
         labels: str | None = None) -> Source:
    """Read a checkpoint (``model.pt``), a NIR graph (``.nir``) or a netx file another tool
    wrote (``.net``, :func:`_load_netx`) and its test samples.

    The keyword options are for NIR graphs, which hold neither the time step, nor the step
    count, nor the input encoding (see :mod:`snn_export.export.nir_dialects`): ``dialect``
    (a name in ``nir_dialects.DIALECTS``), ``dt`` (seconds), ``time_steps``, ``dataset``
    (its encoding and samples) or ``input_bits`` and ``input_scale``, and ``readout``
    (``"voltage"``: the readout neuron is read as a leaky integrator); netx files take
    ``time_steps``, ``dataset`` or ``input_bits``. Without a dataset, ``input`` and
    ``labels`` name ``.npy`` files of test samples and their classes
    (:mod:`snn_export.samples_file`). A checkpoint holds its own settings and refuses them."""
    path = Path(path)
    options = dict(dialect=dialect, dt=dt, time_steps=time_steps, dataset=dataset,
                   input_bits=input_bits, input_scale=input_scale, readout=readout,
                   input=input, labels=labels)
    if path.suffix == ".nir":
        return _load_nir(path, options)
    if path.suffix == NETX_SUFFIX:
        return _load_netx(path, options)
    given = [o for o in NIR_OPTIONS if options[o] is not None]
    if given:
        raise SnnExportError(f"--{given[0].replace('_', '-')} is for NIR input (.nir) "
                             f"and netx files (.net); {path} holds its own settings and "
                             "test split")
    from snn_export.export.from_checkpoint import load_model

    model, ckpt = load_model(path)
    source = Source(path, model, ckpt)
    meta = ckpt["dataset"]
    try:  # the test samples: for verify and evaluate, and the report's activity
        source.data = _dataset(meta.get("name"), None, f"{path}: field 'dataset.name'",
                               meta.get("split", {}).get("root", "data"), meta.get("frames"))
    except SnnExportError as exc:
        source.no_data = str(exc)
    return source


NO_SAMPLES = ("{path}: --verify and --evaluate run test samples: name the dataset the "
              "network reads with --dataset (e.g. digits, mnist5k), or give --input FILE.npy")
SAMPLE_OPTIONS = ("dataset", "input", "labels")  # where a NIR or netx file's samples come from


def _dataset_option(options: dict, encoding: tuple[str, ...]):
    """The ``--dataset`` named in ``options`` (None if none), which brings the input
    ``encoding`` options itself and excludes ``--input``; ``--labels`` needs ``--input``."""
    if options["labels"] is not None and options["input"] is None:
        raise SnnExportError(f"--labels {options['labels']}: the classes of --input FILE's "
                             "samples; give --input too" + (
                                 f" (--dataset {options['dataset']} has labels of its own)"
                                 if options["dataset"] else ""))
    if not options["dataset"]:
        return None
    if options["input"] is not None:
        raise SnnExportError(f"--input {options['input']} and --dataset {options['dataset']} "
                             "both give the test samples; give one")
    given = [o for o in encoding if options[o] is not None]
    if given:
        raise SnnExportError(f"--{given[0].replace('_', '-')} comes from --dataset; give one "
                             "or the other")
    return _dataset(options["dataset"], options["time_steps"],
                    f"--dataset {options['dataset']}", frames=options["time_steps"])


def _attach_samples(source: Source, options: dict, where: Path, input_shape: tuple,
                    time_steps: int, input_bits: int, classes: int,
                    input_scale: float = 1.0) -> None:
    """Check ``--dataset``'s samples against the network's ``input_shape``, or read
    ``--input`` (and ``--labels``, among the readout's ``classes``) into ``source.data``
    (:mod:`snn_export.samples_file`; frames for ``time_steps``, levels of ``input_bits``)."""
    from snn_export import samples_file
    from snn_export.train.datasets import Dataset

    data, named = source.data, f"--dataset {options['dataset']}"
    if data is not None and data.x_test.shape[-1] != math.prod(input_shape):
        raise SnnExportError(f"{named}: samples of {data.x_test.shape[-1]} values, but {where} "
                             f"reads {tuple(input_shape)}")
    if data is not None and data.input_bits > input_bits:
        raise SnnExportError(f"{named}: {data.input_bits}-bit levels, but {where} reads "
                             f"{input_bits}-bit input")
    if data is not None and data.frames not in (0, time_steps):
        raise SnnExportError(f"{named}: {data.frames} frames per sample, but {where} runs "
                             f"{time_steps} steps of input")
    if options["input"] is None:
        return
    x, y = samples_file.load(options["input"], options["labels"], input_shape, time_steps,
                             input_bits, classes)
    none = np.zeros((0, *x.shape[1:]), np.int64)
    source.data = Dataset(Path(options["input"]).name, none, np.zeros(0, np.int64), x, y,
                          input_bits, input_scale, classes,
                          {"input": options["input"], "labels": options["labels"]},
                          tuple(input_shape),
                          time_steps if x.ndim == 3 else 0)


def _load_netx(path: Path, options: dict) -> Source:
    """A netx HDF5 file another tool wrote (lava-dl's slayer): its network, run for
    ``--time-steps`` on ``--dataset``'s levels, or ``--input-bits`` levels (``--input``'s
    samples); one snn-export wrote is refused here (its model.pt or network holds more)."""
    from snn_export.deploy import netx_import

    if not path.is_file():
        raise SnnExportError(f"{path}: no such netx file")
    if not netx_import.is_foreign(path):
        raise SnnExportError(f"{path}: not a netx HDF5 file another tool wrote (no 'layer' "
                             "group, or snn-export's own: deploy its model.pt instead)")
    given = [o for o in ("dialect", "dt", "readout", "input_scale") if options[o] is not None]
    if given:
        raise SnnExportError(f"--{given[0].replace('_', '-')} is for NIR input; {path} is a "
                             "netx file (it takes --time-steps, and --dataset, or "
                             "--input-bits with --input [--labels])")
    if not options["time_steps"]:
        raise SnnExportError(f"{path}: a netx file holds no step count: give --time-steps N")
    source = Source(path, no_data=NO_SAMPLES.format(path=path))
    source.data = _dataset_option(options, ("input_bits",))
    bits = source.data.input_bits if source.data else options["input_bits"] or 1
    source.network, source.warnings = netx_import.read(path, options["time_steps"], bits)
    source.network.metadata["dataset"] = {"name": options["dataset"] or ""}
    source.lava_file = path
    net = source.network
    _attach_samples(source, options, path, tuple(net.input_shape), options["time_steps"],
                    bits, net.group(net.readout).size)
    return source


def _load_nir(path: Path, options: dict) -> Source:
    """A NIR graph another tool wrote (read with ``options``), or one snn-export wrote (the
    deployed network itself)."""
    from snn_export.deploy import from_nir
    from snn_export.export import nir_import

    graph = nir_import.read_graph(path)
    source = Source(path, no_data=NO_SAMPLES.format(path=path))
    source.data = _dataset_option(options, ("input_bits", "input_scale"))
    if from_nir.written_by_snn_export(graph):
        given = [o for o in NIR_OPTIONS if o not in SAMPLE_OPTIONS and options[o] is not None]
        if given:
            raise SnnExportError(f"{path}: written by snn-export, which stores the step, the "
                                 f"encoding and the registers: drop --{given[0].replace('_', '-')}")
        net = source.network = from_nir.network(graph, path)
        _attach_samples(source, options, path, tuple(net.input_shape), net.window,
                        net.input_bits, net.group(net.readout).size)
        return source
    data = source.data
    how = nir_import.NirInput(options["dialect"], options["time_steps"] or 0, options["dt"],
                              data.input_bits if data else options["input_bits"] or 1,
                              data.input_scale if data else options["input_scale"] or 1.0,
                              options["readout"] or "spikes")
    source.model, source.checkpoint, source.warnings = nir_import.load(graph, how, str(path))
    source.checkpoint["dataset"]["name"] = options["dataset"] or ""
    _attach_samples(source, options, path, tuple(source.model.graph.input_shape),
                    how.time_steps, how.input_bits,
                    source.checkpoint["dataset"]["num_classes"], how.input_scale)
    return source


@dataclass
class Deployment:
    """The lowered integer network of a source, with the compliance violations the user
    accepted (``allow``), the Loihi 2 system it was checked against (``system``) and what
    the lowered network is worth a warning for (groups that can never fire)."""

    source: Source
    network: Network
    allowed: list = field(default_factory=list)  # deploy.compliance.Violation
    system: object = "chip"  # deploy.compliance.LoihiSystem, or a --system value
    warnings: list[str] = field(default_factory=list)


@dataclass
class Checked:
    """The compliance check's result. violations: the rules broken and not allowed;
    allowed: those broken and allowed; network: the lowered network (None when the trained
    graph itself breaks a rule not allowed: it is not lowered); system: the Loihi 2 system
    the resources were checked against (``deploy.compliance.LoihiSystem``); warnings: LIF
    groups of the network that can never fire, and integrator readouts that may
    (``deploy.never_firing``)."""

    source: Source
    violations: list
    allowed: list
    network: Network | None
    system: object = "chip"
    warnings: list[str] = field(default_factory=list)

    @property
    def compliant(self) -> bool:
        return not self.violations

    def deployment(self) -> Deployment:
        """The deployable network; :class:`NotCompliant` if a rule not allowed is broken."""
        if self.violations:
            raise NotCompliant(self.violations)
        return Deployment(self.source, self.network, self.allowed, self.system, self.warnings)


def loihi_system(value):
    """The Loihi 2 system a ``--system`` value names (``deploy.compliance.loihi_system``); an
    error naming ``--system``, the value and the valid ones otherwise."""
    from snn_export.deploy import compliance

    try:
        return compliance.loihi_system(value)
    except SnnExportError as exc:
        raise SnnExportError(f"--system {value}: {exc}") from None


def check(source: Source, allow=(), system="chip") -> Checked:
    """The spike-only compliance check (:mod:`snn_export.deploy.compliance`): the trained
    graph's rules first (a graph that breaks one not in ``allow`` is not lowered), then the
    lowered network's registers and resources. ``allow``: rule ids to accept; ``system``:
    the Loihi 2 system the network must fit (a name in ``compliance.SYSTEMS``, e.g. ``chip``,
    ``kapoho-point``, ``hala-point``, or a chip count)."""
    from snn_export.deploy import compliance
    from snn_export.deploy.lower_graph import lower_graph
    from snn_export.deploy.never_firing import integrators_that_may_fire, never_firing

    allow = frozenset(allow)
    unknown = sorted(allow - set(compliance.RULES))
    if unknown:
        raise SnnExportError(f"--allow {unknown[0]}: unknown rule; known: "
                             f"{', '.join(compliance.RULES)}")
    system = loihi_system(system)
    net, found = source.network, []
    if net is None:
        found = compliance.check_graph(source.model.graph)
        if all(v.rule in allow for v in found):
            ckpt = source.checkpoint
            try:
                net = lower_graph(source.model.graph, source.model.tensors(),
                                  int(ckpt["time_steps"]),
                                  {"source": str(source.path), "dataset": ckpt["dataset"],
                                   "training": ckpt.get("training", {})})
            except SnnExportError as exc:  # (lowering names the node; this, the file)
                exc.args = (f"{source.path}: {exc}",)
                raise
    if net is not None:
        found = found + compliance.check_network(net, system=system)
    return Checked(source, [v for v in found if v.rule not in allow],
                   [v for v in found if v.rule in allow], net, system,
                   never_firing(net) + integrators_that_may_fire(net) if net is not None
                   else [])


def lower(source: Source, allow=(), system="chip") -> Deployment:
    """:func:`check`, then the deployable network; :class:`NotCompliant` if it breaks a
    rule not in ``allow``."""
    return check(source, allow, system).deployment()


@dataclass
class Written:
    """A deployed network's file: ``description`` (its path), the format's name, and the
    writer's warnings (what the format cannot express)."""

    deployment: Deployment
    description: Path
    format: str
    warnings: list[str] = field(default_factory=list)

    @property
    def folder(self) -> Path:
        return self.description.parent

    @property
    def all_warnings(self) -> list[str]:
        """The source's, the lowered network's and the writer's warnings."""
        return self.deployment.source.warnings + self.deployment.warnings + self.warnings


def write(deployment: Deployment, folder: str | Path, target: str = "lava") -> Written:
    """Write the deployed network into ``folder`` for ``target`` (``lava``: netx HDF5 for a
    chain, else the snn-export graph file; ``nir``: a NIR graph), atomically
    (:mod:`snn_export.deploy.formats`)."""
    from snn_export.deploy import formats

    fmt = formats.for_target(deployment.network, target)
    warnings: list[str] = []

    def put(tmp: Path) -> list[Path]:
        warnings.extend(fmt.write(deployment.network, tmp / fmt.filename))
        return [tmp / fmt.filename]

    (path,) = atomic_files(Path(folder), put)
    return Written(deployment, path, fmt.name, warnings)


def evaluate(deployment: Deployment, samples: int, progress: bool = False):
    """Deployed accuracy on the first ``samples`` test samples: the integer network in the
    exact emulator, next to the float model (:func:`snn_export.sim.evaluate.evaluate`)."""
    from snn_export.sim.evaluate import evaluate as run

    source = deployment.source
    model = source.evaluation_model()
    x, y = source.samples(samples, "--evaluate", labelled=True)
    return run(deployment.network, model, x, y, progress=progress)


def verify(written: Written, samples: int, progress: bool = False,
           stall_limit: float | None = None):
    """Run the written file in Lava's CPU simulator and the network in the emulator on the
    first ``samples`` test samples and compare every spike and final state
    (:func:`snn_export.sim.verify.verify`); the trained model's quantized spikes too.
    ``stall_limit``: seconds Lava may go without a step before the run is given up (None:
    :data:`snn_export.sim.lava_runner.STALL_LIMIT`; 0: no limit)."""
    from snn_export.sim.verify import verify as run

    source = written.deployment.source
    x, y = source.samples(samples, "--verify")
    limit = {} if stall_limit is None else {"stall_limit": stall_limit}
    if source.lava_file is not None:  # the user's own netx file, in stock netx
        return run(source.lava_file, None, x, y, progress=progress, network=source.network,
                   **limit)
    return run(written.description, source.model, x, y, progress=progress, **limit)


def report(written: Written, evaluation=None, verification=None,
           warnings: list[str] | None = None) -> list[Path]:
    """``report.md``, ``report.html`` and the figures beside the written file (atomically);
    returns the files. ``warnings``: shown in the report (default:
    :attr:`Written.all_warnings`)."""
    from snn_export.sim.report import SAMPLES, Report

    deployment = written.deployment
    source = deployment.source
    if warnings is None:
        warnings = written.all_warnings
    rep = Report(deployment.network, written.description.name, allowed=deployment.allowed,
                 system=deployment.system, warnings=warnings, evaluation=evaluation,
                 verification=verification,
                 netx_source=None if source.lava_file is None else str(source.lava_file))
    if source.data is not None:
        rep.x = source.data.x_test[:SAMPLES]
    else:
        rep.no_samples = "no --dataset or --input given (a NIR file holds no samples)" \
            if source.path.suffix == ".nir" else source.no_data
    return atomic_files(written.folder, rep.write)


def write_onnx(source: Source, folder: str | Path) -> dict:
    """The float inference network unrolled over its steps as ``folder/model.onnx``
    (:func:`snn_export.export.to_onnx.write_onnx`); returns its facts (path, opset, inputs,
    outputs)."""
    from snn_export.export.to_onnx import write_onnx as run

    model = source.trained_model(ONNX_NEEDS)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    return run(model, source.checkpoint, folder / ONNX_NAME)
