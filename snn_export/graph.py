"""The deployed network description.

:class:`Network`: what the deploy stage lowers a trained
:class:`~snn_export.model_graph.ModelGraph` to: a graph of neuron groups (:class:`Neurons`)
joined by synapse groups (:class:`Dense`, :class:`Sparse`, :class:`Conv`), with integer
parameters in Loihi's fixed-point formats (integer numpy arrays). The sim stage runs it in
the emulator and, built from real Lava processes, in Lava.

Roles: every neuron group says what it is (:class:`Role`): a trained ``layer`` (the
default, so groups built by hand or read from netx files are layers), an ``integrator``
(a non-spiking readout whose voltage is read), a ``gate`` (a join or
a max-pool, with its ``logic``), a ``relay`` (its ``source`` group delayed by ``delay``
steps) or an ``always_on`` group (a ``const`` node's); ``mask`` marks a group that gates
others as a binary attention mask (the second input of an AND or AND NOT gate, directly or
through relays). The deploy stage sets them while lowering; the sim stage's report reads
them.

Timing (Lava's): every synapse group delivers at step ``t + 1`` what its source emitted at
step ``t`` (plus its per-synapse delay, if any); a neuron group adds the inputs of all its
synapse groups; every neuron integrates its bias from step 1. The network input (graded
unsigned levels) is the source named ``"input"``. A group's depth (:meth:`Network.depths`)
is the step after which its first input can arrive; a lowered network runs ``time_steps``
= the trained step count (its :attr:`~Network.window`) plus the readout's depth, and each
group emits the trained node's spikes delayed by its depth.

Shapes: a neuron group is ``(n,)`` or ``(channels, height, width)``; Dense weights act on
the row-major (C, H, W) flattening, as in PyTorch.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union

import numpy as np

from . import fixed_point as fp
from .errors import SnnExportError

INPUT = "input"  # the source name of the network input
MAX_DELAY = 62  # netx's DelayDense limit (Loihi 2: 6-bit delays)

NeuronParams = Union[fp.LIFParams, fp.ATRLIFParams]

ROLE_KINDS = ("layer", "integrator", "gate", "relay", "always_on")
GATE_LOGIC = ("or", "and", "andnot", "maxpool")


@dataclass(frozen=True)
class Role:
    """What a neuron group is in the lowered graph.

    kind: ``"layer"`` (a trained lif / alif layer), ``"integrator"`` (a trained leaky
        integrator readout, ``li``: a LIF group at the largest threshold,
        :data:`~snn_export.fixed_point.VTH_MAX`, whose voltage ``v`` after the last step is
        the output; no synapse reads it), ``"gate"`` (a join or max-pool gate),
        ``"relay"`` (a delay step), ``"always_on"`` (a ``const`` node: spikes at every step).
    logic: a gate's ``"or"``, ``"and"``, ``"andnot"`` or ``"maxpool"``; None otherwise.
    source, delay: a relay's: the group it delays and by how many steps (>= 1); None and 0
        otherwise.
    mask: the group gates others as a binary attention mask (the second input of an AND or
        AND NOT gate, directly or through relays).
    """

    kind: str = "layer"
    logic: str | None = None
    source: str | None = None
    delay: int = 0
    mask: bool = False

    def validate(self, group: str) -> None:
        if self.kind not in ROLE_KINDS:
            raise ValueError(f"neurons {group}: unknown role {self.kind!r}, expected one of "
                             f"{ROLE_KINDS}")
        if (self.logic is not None) != (self.kind == "gate") or \
                (self.kind == "gate" and self.logic not in GATE_LOGIC):
            raise ValueError(f"neurons {group}: role {self.kind} with logic {self.logic!r} "
                             f"(a gate's is one of {GATE_LOGIC}, other roles have none)")
        relay = self.kind == "relay"
        if (relay and (not self.source or self.delay < 1)) or \
                (not relay and (self.source is not None or self.delay)):
            raise ValueError(f"neurons {group}: role {self.kind} with source {self.source!r} "
                             f"and delay {self.delay} (a relay has a source group and a delay "
                             ">= 1, other roles neither)")
        if not isinstance(self.mask, bool):
            raise ValueError(f"neurons {group}: role mask {self.mask!r} is not a bool")


def conv_output_size(size, kernel, stride, padding=(0, 0), dilation=(1, 1)) -> tuple:
    """Output (height, width) of a convolution or pooling window over an input of
    (height, width) ``size`` (PyTorch's formula; every argument a (height, width) pair)."""
    return tuple((n + 2 * p - d * (k - 1) - 1) // s + 1
                 for n, k, s, p, d in zip(size, kernel, stride, padding, dilation))


@dataclass
class Neurons:
    """A group of neurons with shared parameters.

    shape: ``(n,)`` or ``(C, H, W)``.
    params: CUBA LIF (:class:`~snn_export.fixed_point.LIFParams`) or ATRLIF
        (:class:`~snn_export.fixed_point.ATRLIFParams`).
    bias: (size,) 13-bit mantissas, exponent :data:`~snn_export.fixed_point.BIAS_EXP`.
    reset_interval: LIF only; > 0 makes it Lava's ``LIFReset``: ``u`` and ``v`` are zeroed
        before integrating at every step ``t`` (1-based) with
        ``t % reset_interval == reset_offset % reset_interval``.
    role: what the group is (:class:`Role`); a plain layer unless lowering says otherwise.
    """

    name: str
    shape: tuple
    params: NeuronParams
    bias: np.ndarray
    reset_interval: int = 0
    reset_offset: int = 0
    role: Role = field(default_factory=Role)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))

    @property
    def kind(self) -> str:
        return "lif" if isinstance(self.params, fp.LIFParams) else "atrlif"

    def validate(self) -> None:
        if not self.shape or len(self.shape) not in (1, 3) or min(self.shape) < 1:
            raise ValueError(f"neurons {self.name}: shape {self.shape} is not (n,) or (C, H, W)")
        if not isinstance(self.params, (fp.LIFParams, fp.ATRLIFParams)):
            raise ValueError(f"neurons {self.name}: unknown neuron parameters {self.params!r}")
        b = self.bias
        if b.shape != (self.size,):
            raise ValueError(f"neurons {self.name}: bias shape {b.shape}, expected ({self.size},)")
        if b.min(initial=0) < fp.BIAS_MANT_MIN or b.max(initial=0) > fp.BIAS_MANT_MAX:
            raise ValueError(f"neurons {self.name}: bias outside the 13-bit range")
        if self.reset_interval < 0 or (self.reset_interval and self.kind != "lif"):
            raise ValueError(f"neurons {self.name}: reset_interval needs a LIF group and a "
                             "value >= 0")
        if not isinstance(self.role, Role):
            raise ValueError(f"neurons {self.name}: role {self.role!r} is not a Role")
        self.role.validate(self.name)


def _check_weight_fields(syn) -> None:
    """Lava's Dense / Sparse registers: 9-bit weights, weight bits, sign mode, exponent."""
    if syn.weight.min(initial=0) < -256 or syn.weight.max(initial=0) > 255:
        raise ValueError(f"synapses {syn.name}: weights outside Lava's 9-bit range")
    if not 1 <= syn.num_weight_bits <= fp.WEIGHT_BITS:
        raise ValueError(f"synapses {syn.name}: num_weight_bits={syn.num_weight_bits} "
                         "outside 1..8")
    if syn.sign_mode not in (None, *fp.SIGN_MODES):
        raise ValueError(f"synapses {syn.name}: sign_mode {syn.sign_mode!r} is not one "
                         f"of {fp.SIGN_MODES}")
    if not -8 <= syn.weight_exp <= 7:
        raise ValueError(f"synapses {syn.name}: weight_exp={syn.weight_exp} outside -8..7")


@dataclass
class Dense:
    """All-to-all synapses (Lava ``Dense``, or ``DelayDense`` when ``delays`` is set).

    weight: (target size, source size) integers as Lava's ``weights`` register: 9-bit
        signed; Lava clips and truncates them (:func:`~snn_export.fixed_point.synapse_weights`).
    weight_exp: Lava's ``weight_exp``: the accumulated input is shifted left by it (right,
        flooring, when negative).
    num_weight_bits, sign_mode: Lava's; ``sign_mode=None`` lets Lava infer it.
    delays: None, or (target size, source size) integers 0..62: a spike at step ``t``
        arrives at ``t + 1 + delay``.
    float_exp: the exponent ``e`` of the float weights this was lowered from
        (float weight = weight / 2 * 2**e); reported only.
    A synapse from :data:`INPUT` reads graded input levels; all others read binary spikes.
    """

    name: str
    source: str
    target: str
    weight: np.ndarray
    weight_exp: int = 0
    num_weight_bits: int = fp.WEIGHT_BITS
    sign_mode: str | None = None
    delays: np.ndarray | None = None
    float_exp: int | None = None

    def effective_weight(self) -> np.ndarray:
        """The integer weights Lava applies (before ``weight_exp``)."""
        return fp.synapse_weights(self.weight, self.num_weight_bits, self.sign_mode)

    def fan_in(self) -> int:
        """Synapses into one target neuron: every source neuron."""
        return int(self.weight.shape[1])

    def validate(self, n_source: int, n_target: int) -> None:
        w = self.weight
        if w.shape != (n_target, n_source):
            raise ValueError(f"synapses {self.name}: weight shape {w.shape}, expected "
                             f"({n_target}, {n_source}) from {self.source} to {self.target}")
        _check_weight_fields(self)
        if self.delays is not None and (self.delays.shape != w.shape or self.delays.min() < 0
                                        or self.delays.max() > MAX_DELAY):
            raise ValueError(f"synapses {self.name}: delays must match the weights' shape and "
                             f"lie in 0..{MAX_DELAY}")


@dataclass
class Conv:
    """2-D convolution (Lava ``Conv``), PyTorch conventions: cross-correlation, weight
    (out channels, in channels / groups, kernel height, kernel width), integers in
    [-256, 255] applied as they are (Lava's Conv ignores ``weight_exp`` and
    ``num_weight_bits``). stride, padding, dilation: (height, width). The sum wraps to
    24 bits (two's complement). Source and target are (C, H, W) groups.
    """

    name: str
    source: str
    target: str
    weight: np.ndarray
    stride: tuple = (1, 1)
    padding: tuple = (0, 0)
    dilation: tuple = (1, 1)
    groups: int = 1
    float_exp: int | None = None

    def output_shape(self, in_shape: tuple) -> tuple:
        out = conv_output_size(in_shape[1:], self.weight.shape[2:], self.stride, self.padding,
                               self.dilation)
        return (int(self.weight.shape[0]), *out)

    def fan_in(self) -> int:
        """Synapses into one target neuron: its kernel window over the input channels of its
        group (padding included)."""
        return int(np.prod(self.weight.shape[1:]))

    def validate(self, in_shape: tuple, out_shape: tuple) -> None:
        w = self.weight
        if len(in_shape) != 3 or w.ndim != 4:
            raise ValueError(f"synapses {self.name}: a Conv needs a (C, H, W) source and a "
                             "4-D weight")
        if self.groups < 1 or in_shape[0] != w.shape[1] * self.groups \
                or w.shape[0] % self.groups:
            raise ValueError(f"synapses {self.name}: weight {w.shape} with groups="
                             f"{self.groups} does not fit {in_shape[0]} input channels")
        if min(self.stride) < 1 or min(self.dilation) < 1 or min(self.padding) < 0:
            raise ValueError(f"synapses {self.name}: stride and dilation must be >= 1, "
                             "padding >= 0")
        if w.min(initial=0) < -256 or w.max(initial=0) > 255:
            raise ValueError(f"synapses {self.name}: weights outside Lava's 9-bit range")
        if tuple(out_shape) != self.output_shape(in_shape):
            raise ValueError(f"synapses {self.name}: output shape {self.output_shape(in_shape)} "
                             f"but the target {self.target} has shape {tuple(out_shape)}")


@dataclass
class Sparse:
    """Dense semantics with only the listed synapses stored (Lava ``Sparse``, CSR): weight
    ``weight[k]`` from source neuron ``cols[k]`` to target neuron ``rows[k]`` (flat indices,
    each pair at most once); every other pair is absent. ``shape``: (target size, source
    size). weight_exp, num_weight_bits, sign_mode, float_exp: as :class:`Dense` (Lava
    infers the sign mode from the whole matrix, absent synapses counting as zeros).
    delays: None, or one integer 0..62 per listed synapse (aligned with ``rows``), Lava's
    ``DelaySparse``: a spike at step ``t`` arrives at ``t + 1 + delay``.
    """

    name: str
    source: str
    target: str
    rows: np.ndarray
    cols: np.ndarray
    weight: np.ndarray
    shape: tuple
    weight_exp: int = 0
    num_weight_bits: int = fp.WEIGHT_BITS
    sign_mode: str | None = None
    float_exp: int | None = None
    delays: np.ndarray | None = None

    def effective_weight(self) -> np.ndarray:
        """The integer weights Lava applies to the listed synapses (before ``weight_exp``)."""
        return fp.synapse_weights(self.weight, self.num_weight_bits, self.sign_mode)

    def fan_in(self) -> int:
        """The most synapses into one target neuron."""
        return int(np.bincount(self.rows, minlength=1).max())

    def validate(self, n_source: int, n_target: int) -> None:
        if tuple(self.shape) != (n_target, n_source):
            raise ValueError(f"synapses {self.name}: shape {tuple(self.shape)}, expected "
                             f"({n_target}, {n_source}) from {self.source} to {self.target}")
        if not (self.rows.shape == self.cols.shape == self.weight.shape) or self.rows.ndim != 1:
            raise ValueError(f"synapses {self.name}: rows, cols and weight must be 1-D arrays "
                             "of one length")
        if self.rows.size and (self.rows.min() < 0 or self.rows.max() >= n_target
                               or self.cols.min() < 0 or self.cols.max() >= n_source):
            raise ValueError(f"synapses {self.name}: an index lies outside the "
                             f"({n_target}, {n_source}) matrix")
        if np.unique(self.rows * n_source + self.cols).size != self.rows.size:
            raise ValueError(f"synapses {self.name}: a (row, col) pair is listed twice")
        _check_weight_fields(self)
        d = self.delays
        if d is None:
            return
        if d.shape != self.rows.shape or not np.issubdtype(d.dtype, np.integer):
            raise ValueError(f"synapses {self.name}: delays of shape {d.shape} and dtype "
                             f"{d.dtype}, expected {self.rows.size} integers (one per listed "
                             "synapse)")
        if d.size and (d.min() < 0 or d.max() > MAX_DELAY):
            raise ValueError(f"synapses {self.name}: delays {d.min()}..{d.max()} outside "
                             f"0..{MAX_DELAY}")


Synapses = Union[Dense, Sparse, Conv]


def _largest_delay(syn: Synapses) -> int:
    delays = getattr(syn, "delays", None)
    return 0 if delays is None or not delays.size else int(delays.max())


@dataclass
class Network:
    """A deployable spiking network: neuron groups and the synapse groups between them.

    input_shape: shape of one input frame, ``(n,)`` or ``(C, H, W)``.
    input_bits: bit width of the unsigned integer input levels.
    time_steps: steps per sample that the chip runs: the input's :attr:`window` plus the
        readout's depth.
    neurons: in a deterministic order; the last one is the readout unless
        ``metadata["readout"]`` names another.
    metadata: plain data (dataset, source checkpoint, ...), copied into reports.
    """

    input_shape: tuple
    input_bits: int
    time_steps: int
    neurons: list[Neurons]
    synapses: list[Synapses]
    metadata: dict = field(default_factory=dict)

    @property
    def input_size(self) -> int:
        return int(np.prod(self.input_shape))

    def group(self, name: str) -> Neurons:
        for n in self.neurons:
            if n.name == name:
                return n
        raise KeyError(name)

    def shape_of(self, name: str) -> tuple:
        return tuple(self.input_shape) if name == INPUT else tuple(self.group(name).shape)

    @property
    def readout(self) -> str:
        return self.metadata.get("readout", self.neurons[-1].name)

    def depths(self) -> dict[str, int]:
        """Each group's depth in steps: over its synapse groups, the largest ``1 + source depth
        + largest delay``; 0 for the input and for groups without synapses in (always-on).
        Synapses that close a cycle (recurrence) do not count. Where a trained node's input
        chain has a delay of its own (NIR's ``Delay``), its synapses arrive later than its
        depth (the lag of its spikes behind the trained node's): lowering records the
        depths of such networks' trained nodes in ``metadata["depths"]``, which take
        precedence."""
        depth, open_ = {INPUT: 0, **self.metadata.get("depths", {})}, set()

        def of(name: str) -> int:
            if name not in depth:
                open_.add(name)
                depth[name] = max((1 + of(s.source) + _largest_delay(s) for s in
                                   self.incoming(name) if s.source not in open_), default=0)
                open_.discard(name)
            return depth[name]

        for n in self.neurons:
            of(n.name)
        return depth

    @property
    def window(self) -> int:
        """The steps a sample's input lasts (the trained step count): ``time_steps`` less the
        readout's depth, at least 1."""
        return max(self.time_steps - self.depths()[self.readout], 1)

    def incoming(self, name: str) -> list[Synapses]:
        return [s for s in self.synapses if s.target == name]

    def masks(self) -> list[str]:
        """The neuron groups that gate others as binary attention masks (SynA's and
        BIASNN's), in network order."""
        return [n.name for n in self.neurons if n.role.mask]

    def validated(self, source) -> "Network":
        """This network if it is valid, else :class:`SnnExportError` naming ``source`` (the
        file it was read from) and the group or synapse at fault."""
        try:
            self.validate()
        except ValueError as exc:
            raise SnnExportError(f"{source}: {exc}") from None
        return self

    def validate(self) -> None:
        """Raise ``ValueError`` naming the group or synapse whose value is out of range."""
        if self.time_steps < 1:
            raise ValueError(f"time_steps must be >= 1, got {self.time_steps}")
        if not 1 <= self.input_bits <= fp.INPUT_BITS_MAX:
            raise ValueError(f"input_bits={self.input_bits} outside 1..{fp.INPUT_BITS_MAX}")
        if len(self.input_shape) not in (1, 3):
            raise ValueError(f"input shape {self.input_shape} is not (n,) or (C, H, W)")
        names = [n.name for n in self.neurons] + [s.name for s in self.synapses]
        dup = {n for n in names if names.count(n) > 1} | ({INPUT} & set(names))
        if dup:
            raise ValueError(f"names used twice or reserved: {sorted(dup)}")
        if not self.neurons:
            raise ValueError("the network has no neurons")
        for n in self.neurons:
            n.validate()
        known = {n.name for n in self.neurons} | {INPUT}  # (binary input can be relayed)
        for n in self.neurons:
            if n.role.kind == "relay" and n.role.source not in known:
                raise ValueError(f"neurons {n.name}: relay of unknown group {n.role.source!r}")
        integrators = {n.name for n in self.neurons if n.role.kind == "integrator"}
        for n in self.neurons:
            if n.name in integrators and (n.kind != "lif" or n.name != self.readout):
                raise ValueError(f"neurons {n.name}: an integrator is a LIF group and the "
                                 f"readout ({n.kind}; the readout is {self.readout!r})")
        for s in self.synapses:
            if s.source not in known | {INPUT} or s.target not in known:
                raise ValueError(f"synapses {s.name}: unknown source {s.source!r} or target "
                                 f"{s.target!r}")
            if s.source in integrators:
                raise ValueError(f"synapses {s.name}: read {s.source}, an integrator (its "
                                 "voltage is the output; it sends no spikes)")
            src, dst = self.shape_of(s.source), self.shape_of(s.target)
            if isinstance(s, Conv):
                s.validate(src, dst)
            else:
                s.validate(int(np.prod(src)), int(np.prod(dst)))
        if self.readout not in known:
            raise ValueError(f"readout {self.readout!r} is not a neuron group")
        for name, d in self.metadata.get("depths", {}).items():
            if name not in known - {INPUT} or not isinstance(d, int) or d < 0:
                raise ValueError(f"metadata depths: {name!r}: {d!r} is not a neuron group's "
                                 "depth (a whole number of steps, 0 or more)")
