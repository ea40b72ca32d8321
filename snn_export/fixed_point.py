"""Loihi fixed-point arithmetic: the project's single definition of it.

Training (quantization-aware forward), lowering (float -> integer parameters) and the
emulator all call these functions, so the trained network, the deployed description and
the emulator compute the same integers.

Everything operates on torch tensors that hold integers in ``float64``: exact for
magnitudes below 2**53, and usable on CPU and CUDA alike (torch has no integer matmul on
CUDA). The semantics are those of Lava's ``fixed_pt`` CUBA LIF and Dense process models
(lava-nc 0.10.0, ``lava/proc/lif/models.py``, ``lava/proc/dense/models.py``), including
their quirks: the 24-bit current wraps only once per step, ``u`` and ``v`` are int32
registers, and the voltage saturates.

Units ("internal units"): ``u`` and ``v`` are 24-bit signed states. Synaptic input ``a``
(the Dense output, integer weights times spikes) and the threshold mantissa ``vth`` are
MSB-aligned by :data:`ACT_SHIFT` bits before they meet ``u`` and ``v``; the bias is
``bias_mant << BIAS_EXP``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

DECAY_BITS = 12
DECAY_UNITY = 1 << DECAY_BITS  # 4096: a decay of 4096 forgets everything each step
STATE_BITS = 24
STATE_MAX = 1 << (STATE_BITS - 1)  # 2**23
INT32_SAFE = 2.0**31 - 2.0**24  # |u| below it: |decay(v) + u + bias| < 2**31 too
ACT_SHIFT = 6  # synaptic input and threshold are left-shifted by 6 bits
BIAS_EXP = 6  # netx fixes bias_exp = 6, so bias_mant is in the units of ``a``
VTH_BITS = 17
VTH_MAX = (1 << VTH_BITS) - 1  # 131071
BIAS_MANT_MIN, BIAS_MANT_MAX = -(1 << 12), (1 << 12) - 1  # 13-bit signed
WEIGHT_BITS = 8
MANT_MIN, MANT_MAX = -(1 << (WEIGHT_BITS - 1)), (1 << (WEIGHT_BITS - 1)) - 1  # int8
# Lava stores a mixed-sign 8-bit weight as 2 * mantissa (9-bit register, LSB dropped),
# so the integer weight a Dense applies is ``WEIGHT_STEP * mantissa``.
WEIGHT_STEP = 2
INPUT_BITS_MAX = 8  # graded input messages to the encoding layer
BIAS_SYNAPSE_EXP_MAX = 7  # the largest weight_exp of a Dense (Lava: -8..7)


FLOAT32_EXACT = 2.0**24  # integers below this, and sums that stay below it, are exact in float32


def exact_dtype(bound: float) -> torch.dtype:
    """The narrower float type in which integers whose partial sums stay below ``bound`` in
    magnitude add up exactly: float32 below 2**24, else float64 (exact below 2**53)."""
    return torch.float32 if bound < FLOAT32_EXACT else torch.float64


def ste(x: torch.Tensor, fx: torch.Tensor) -> torch.Tensor:
    """Forward ``fx``, backward identity (straight-through) when ``x`` needs a gradient."""
    if x.requires_grad:
        return x + (fx - x).detach()
    return fx


def round_toward_zero_shift(x: torch.Tensor, bits: int) -> torch.Tensor:
    """``sign(x) * (|x| >> bits)`` for integer-valued ``x``."""
    fx = torch.div(x, float(1 << bits), rounding_mode="trunc")
    return ste(x / (1 << bits), fx) if x.requires_grad else fx


def to_int32(x: torch.Tensor) -> torch.Tensor:
    """Two's-complement wrap to int32, as numpy does when it stores into an int32 array."""
    wrapped = x - 2.0**32 * torch.floor((x + 2.0**31) / 2.0**32)  # exact: powers of two
    return ste(x, wrapped)


def decay(x: torch.Tensor, d: int) -> torch.Tensor:
    """``x * (4096 - d) / 4096`` rounded toward zero (``d``: 12-bit decay, 4096 = unity)."""
    return round_toward_zero_shift(x * (DECAY_UNITY - d), DECAY_BITS)


def wrap_current(d: torch.Tensor) -> torch.Tensor:
    """Lava's one-shot 24-bit current wrap: ``d > 2**23`` loses 2**24, ``d <= -2**23`` gains it.

    It is applied once, so a current far beyond 24 bits is not brought back into range.
    """
    wrapped = d - 2.0 * STATE_MAX * ((d > STATE_MAX).to(d.dtype) - (d <= -STATE_MAX).to(d.dtype))
    return ste(d, wrapped)


def saturate_voltage(v: torch.Tensor) -> torch.Tensor:
    """Clip to the symmetric 24-bit range ``[-(2**23 - 1), 2**23 - 1]``."""
    return ste(v, v.clamp(-(STATE_MAX - 1), STATE_MAX - 1))


@dataclass(frozen=True)
class LIFParams:
    """Fixed-point CUBA LIF parameters of one neuron group (Lava's names and widths).

    vth: threshold mantissa, 17-bit unsigned; a neuron spikes when ``v > vth << 6``.
    du: 12-bit current decay; the current keeps ``1 - (du + 1)/4096`` of itself per step,
        so ``du = 4095`` holds only this step's input.
    dv: 12-bit voltage decay; the voltage keeps ``1 - dv/4096`` of itself per step.
    Biases (13-bit mantissas, exponent :data:`BIAS_EXP`) are per neuron and live with the
    layer.
    """

    vth: int
    du: int
    dv: int

    def __post_init__(self):
        if not 0 <= self.vth <= VTH_MAX:
            raise ValueError(f"vth={self.vth} is outside the 17-bit range 0..{VTH_MAX}")
        for name in ("du", "dv"):
            value = getattr(self, name)
            if not 0 <= value < DECAY_UNITY + (name == "dv"):
                raise ValueError(f"{name}={value} is outside the 12-bit decay range")


def lif_step(u: torch.Tensor, v: torch.Tensor, a: torch.Tensor, bias_mant: torch.Tensor,
             p: LIFParams, spike_fn=None, current_bound: float = math.inf,
             over: torch.Tensor | None = None, inplace: bool = False,
             spikes: torch.Tensor | None = None, voltage_bound: float = math.inf):
    """One Lava ``fixed_pt`` LIF step. Returns ``(u, v, spikes)``.

    u, v: int32 states (internal units). a: this step's synaptic input (Dense output units).
    bias_mant: 13-bit bias mantissas, applied every step from the first.
    spike_fn: maps ``v - (vth << 6)`` to spikes; default strict Heaviside (``v > vth<<6``).
    Training passes a surrogate-gradient function with the same forward.
    current_bound: a bound the caller has shown on ``|u|`` (:func:`lif_current_bound`); the
    wraps it makes identities are skipped (the 24-bit current wrap below 2**23, the int32
    wraps below :data:`INT32_SAFE`, as ``|v|`` then stays below 2**31).
    voltage_bound: a bound shown on ``|v|`` before saturation (:func:`lif_voltage_bound`);
    below 2**23 the saturation, an identity, is skipped (``inplace`` form).
    over: a tensor to write ``v - (vth << 6)`` into, before the reset.
    inplace: update the caller's ``u`` and ``v`` (float64, no gradients) in place: the same
    integers with fewer passes over memory. ``spikes``, if given (float64, like ``v``), is
    written and returned as the spikes; it is also the step's scratch space.
    """
    if inplace:
        return _lif_step_(u, v, a, bias_mant, p, current_bound, over, spikes, voltage_bound)
    a = a * float(1 << ACT_SHIFT)
    u = a if p.du == DECAY_UNITY - 1 else decay(u, p.du + 1) + a  # (decay by 4096: zero)
    int32 = current_bound >= INT32_SAFE
    if current_bound >= STATE_MAX:
        u = wrap_current(to_int32(u) if int32 else u)
    v = decay(v, p.dv) + u
    if not (isinstance(bias_mant, float) and bias_mant == 0.0):
        v = v + bias_mant * float(1 << BIAS_EXP)
    v = saturate_voltage(to_int32(v) if int32 else v)
    vth = float(p.vth << ACT_SHIFT)
    if spike_fn is not None:
        s = spike_fn(v - vth, vth)
        return u, v * (1 - s), s
    fired = torch.sub(v, vth, out=over) > 0 if over is not None else v > vth
    return u, v.masked_fill(fired, 0.0), fired.to(v.dtype)


def _lif_step_(u, v, a, bias_mant, p: LIFParams, current_bound: float, over, spikes,
               voltage_bound: float):
    """:func:`lif_step` in place (its ``inplace`` form). A decay is one multiplication by
    ``keep / 4096`` and a truncation: exact, as a state (below 2**31) times ``keep`` (below
    2**12) over 4096 is a multiple of 2**-12 below 2**31, which float64 holds. The reset
    multiplies by the spikes (masking is slower)."""
    scratch = torch.empty_like(v) if spikes is None else spikes
    if a.dtype != u.dtype:  # (converting first is faster than a mixed-type add)
        a = scratch.copy_(a)
    if p.du == DECAY_UNITY - 1:
        torch.mul(a, float(1 << ACT_SHIFT), out=u)
    else:
        u.mul_((DECAY_UNITY - p.du - 1) / DECAY_UNITY).trunc_()
        u.add_(a, alpha=1 << ACT_SHIFT)
    int32 = current_bound >= INT32_SAFE
    if int32:
        u.copy_(to_int32(u))
    if current_bound >= STATE_MAX:  # wrap_current: the second test sees the first's result,
        u.add_(u > STATE_MAX, alpha=-2 * STATE_MAX)  # which never falls to -2**23 or below
        u.add_(u <= -STATE_MAX, alpha=2 * STATE_MAX)
    v.mul_((DECAY_UNITY - p.dv) / DECAY_UNITY).trunc_().add_(u)
    if not (isinstance(bias_mant, float) and bias_mant == 0.0):
        v.add_(bias_mant, alpha=1 << BIAS_EXP)
    if int32:
        v.copy_(to_int32(v))
    if voltage_bound >= STATE_MAX:
        v.clamp_(-(STATE_MAX - 1), STATE_MAX - 1)
    vth = float(p.vth << ACT_SHIFT)
    if over is not None:
        torch.sub(v, vth, out=over)
    fired = torch.gt(v, vth, out=scratch)
    return u, v.addcmul_(v, fired, value=-1), fired


def lif_current_bound(p: LIFParams, a_max: float, steps: int) -> float:
    """A bound on ``|u|`` (internal units) of a LIF group over ``steps`` steps from rest on
    inputs ``|a| <= a_max`` (Dense output units): the decay keeps at most ``1 - (du +
    1)/4096`` of it per step, and the wraps only ever reduce it."""
    return float(a_max) * float(1 << ACT_SHIFT) * min(steps, DECAY_UNITY / (p.du + 1))


def lif_voltage_bound(p: LIFParams, u_max, bias_max, steps: int):
    """A bound on ``v`` (internal units, before saturation) of a LIF group over ``steps``
    steps from rest, where ``|u| <= u_max`` (or its positive part) and the bias mantissa
    ``|b| <= bias_max`` (likewise; floats or arrays): the decay keeps at most ``1 - dv/4096``
    of it per step (rounding toward zero only shrinks it)."""
    keeps = min(steps, DECAY_UNITY / p.dv) if p.dv else steps
    return (u_max + bias_max * float(1 << BIAS_EXP)) * keeps


def lif_gradient_factors(p: LIFParams) -> tuple[float, float, float, float]:
    """:func:`lif_step` as its straight-through gradients see it, a linear step and a spike:
    ``(keep_u, keep_v, gain, threshold)``: ``u`` keeps ``keep_u`` of itself plus ``gain *
    a``, ``v`` keeps ``keep_v`` of itself plus ``u``, and spikes above ``threshold``
    (internal units)."""
    return ((DECAY_UNITY - p.du - 1) / DECAY_UNITY, (DECAY_UNITY - p.dv) / DECAY_UNITY,
            float(1 << ACT_SHIFT), float(p.vth << ACT_SHIFT))


@dataclass(frozen=True)
class ATRLIFParams:
    """Fixed-point parameters of Lava's ATRLIF (adaptive threshold and refractoriness).

    Decays are 12-bit integers ``d`` (Lava's ``delta = d / 4096``, exact in float):
    d_i: current, keeps ``1 - (d_i + 1)/4096`` per step (like LIF ``du``);
    d_v, d_theta, d_r: voltage, threshold excess and refractory state, keep ``1 - d/4096``.
    theta_0: resting threshold, theta_step: threshold increase per spike; both 12-bit
    unsigned, MSB-aligned by 6 bits like LIF's ``vth``. A neuron spikes when
    ``v - r >= theta`` (not strict); it is not reset: ``r += 2 * theta`` instead.
    """

    theta_0: int
    theta_step: int
    d_i: int
    d_v: int
    d_theta: int
    d_r: int

    def __post_init__(self):
        for name in ("theta_0", "theta_step", "d_i", "d_v", "d_theta", "d_r"):
            value = getattr(self, name)
            if not 0 <= value < DECAY_UNITY:
                raise ValueError(f"{name}={value} is outside the 12-bit range 0..4095")


def atrlif_step(i: torch.Tensor, v: torch.Tensor, theta: torch.Tensor, r: torch.Tensor,
                a: torch.Tensor, bias_mant: torch.Tensor, p: ATRLIFParams, spike_fn=None):
    """One step of Lava's ``PyATRLIFModelFixed``. Returns ``(i, v, theta, r, spikes)``.

    All states are int32 registers in internal units, starting from :func:`initial_state`
    (``theta`` at ``theta_0 << 6``, as Lava sets it on the first step). spike_fn: as for
    :func:`lif_step`, applied to ``v - r - theta + 1`` (so that ``> 0`` means ``v - r >= theta``).
    """
    i = wrap_current(to_int32(decay(i, p.d_i + 1) + a * (1 << ACT_SHIFT)))
    v = saturate_voltage(to_int32(decay(v, p.d_v) + i + bias_mant * (1 << BIAS_EXP)))
    theta_0 = float(p.theta_0 << ACT_SHIFT)
    theta = to_int32(decay(theta - theta_0, p.d_theta) + theta_0)
    r = to_int32(decay(r, p.d_r))
    over = to_int32(v - r) - theta + 1
    scale = float(max(p.theta_0, 1) << ACT_SHIFT)
    s = (over > 0).to(v.dtype) if spike_fn is None else spike_fn(over, scale)
    r = to_int32(r + s * 2 * theta)
    theta = to_int32(theta + s * float(p.theta_step << ACT_SHIFT))
    return i, v, theta, r, s


def initial_state(p: LIFParams | ATRLIFParams, like: torch.Tensor) -> dict[str, torch.Tensor]:
    """A neuron group's states before its first step, in Lava's names and order, each
    shaped and typed like ``like``: LIF ``u, v`` zero; ATRLIF ``i, v, r`` zero and ``theta``
    at ``theta_0 << 6``."""
    zeros = lambda: torch.zeros_like(like)  # (a tensor each: steps may update in place)
    if isinstance(p, LIFParams):
        return {"u": zeros(), "v": zeros()}
    return {"i": zeros(), "v": zeros(), "theta": zeros() + float(p.theta_0 << ACT_SHIFT),
            "r": zeros()}


# --- Synapses (Lava's Dense and Conv process models) ---

SIGN_MODES = ("mixed", "excitatory", "inhibitory")


def sign_mode_of(weight: np.ndarray) -> str:
    """Lava's ``determine_sign_mode``: excitatory if no weight is negative, inhibitory if
    none is positive, else mixed."""
    if weight.min(initial=0) >= 0:
        return "excitatory"
    if weight.max(initial=0) <= 0:
        return "inhibitory"
    return "mixed"


def synapse_weights(weight: np.ndarray, num_weight_bits: int = WEIGHT_BITS,
                    sign_mode: str | None = None) -> np.ndarray:
    """The weights a Lava Dense actually applies (``clip_weights`` then
    ``truncate_weights``): clipped to 8 bits (mixed: [-256, 255], excitatory [0, 255],
    inhibitory [-255, 0]) and their low bits cleared, ``8 - num_weight_bits (+1 if mixed)``
    of them, rounding toward minus infinity (of the magnitude, for inhibitory)."""
    mode = sign_mode or sign_mode_of(weight)
    sign = -1 if mode == "inhibitory" else 1
    w = sign * np.asarray(weight, dtype=np.int64)
    mixed = mode == "mixed"
    w = np.clip(w, -(1 << WEIGHT_BITS) * mixed, (1 << WEIGHT_BITS) - 1)
    drop = WEIGHT_BITS - num_weight_bits + mixed
    return sign * ((w >> drop) << drop)


def shift_exp(a: torch.Tensor, exp: int) -> torch.Tensor:
    """``a << exp`` for ``exp >= 0``, else the arithmetic ``a >> -exp`` (floors negatives)."""
    if exp == 0:
        return a
    if exp > 0:
        return a * float(1 << exp)
    return torch.floor(a / float(1 << -exp))


def wrap24(x: torch.Tensor) -> torch.Tensor:
    """Modular 24-bit two's-complement wrap (Lava's Conv ``signed_clamp``)."""
    return x - 2.0 * STATE_MAX * torch.floor((x + STATE_MAX) / (2.0 * STATE_MAX))


# --- Float -> fixed point (lowering and quantization-aware training share these) ---

def decays_from_taus(tau_mem: float, tau_syn: float | None) -> tuple[int, int]:
    """12-bit ``(du, dv)`` for time constants in steps. ``tau_syn=None``: no synaptic current
    memory (``du = 4095``). The voltage keeps ``1 - 1/tau_mem`` per step."""
    dv = int(round(DECAY_UNITY / tau_mem))
    du = DECAY_UNITY - 1 if tau_syn is None else int(round(DECAY_UNITY / tau_syn)) - 1
    return min(max(du, 0), DECAY_UNITY - 1), min(max(dv, 0), DECAY_UNITY)


def weight_exponent(absmax: float, threshold: float, threshold_max: int = VTH_MAX) -> int:
    """Per-group exponent ``e``: float weights are ``mantissa * 2**e`` with int8 mantissas.

    The smallest ``e`` for which ``absmax / 2**e`` fits in 127, raised if needed so that the
    integer threshold ``threshold * 2**(1 - e)`` stays within ``threshold_max`` (17 bits for
    LIF's ``vth``, 12 bits for ATRLIF's ``theta_0``).
    """
    e_fit = math.ceil(math.log2(absmax / MANT_MAX)) if absmax > 0 else -VTH_BITS
    e_vth = math.ceil(1 + math.log2(threshold / threshold_max)) if threshold > 0 else -VTH_BITS
    return max(e_fit, e_vth)


def integer_scale(exp: int) -> float:
    """Integer units per float unit of a layer with weight exponent ``exp``."""
    return float(WEIGHT_STEP) * 2.0 ** (-exp)


def quantize_weight(w: torch.Tensor, exp: int) -> torch.Tensor:
    """Integer weights ``2 * clip(round(w / 2**exp), -128, 127)``, computed in float64
    (straight-through gradient)."""
    w = w.double()
    q = WEIGHT_STEP * torch.clamp(torch.round(w / 2.0**exp), MANT_MIN, MANT_MAX)
    return ste(w * integer_scale(exp), q)


def bias_exponent(absmax: float) -> int:
    """The bias synapse's ``weight_exp`` (0..7) for a largest bias ``absmax`` (units of ``a``):
    the smallest that fits it in ``2 * 127 << exp``."""
    need = math.ceil(math.log2(absmax / (WEIGHT_STEP * MANT_MAX))) if absmax > 0 else 0
    return min(max(need, 0), BIAS_SYNAPSE_EXP_MAX)


def quantize_bias(b: torch.Tensor, exp: int) -> tuple[torch.Tensor, int]:
    """A group's float bias as the synaptic input one spike of an always-on source delivers
    every step (straight-through gradient). Returns ``(bias, bias_exp)``: ``bias`` in the units
    of ``a`` (like the weights, :func:`integer_scale` of the group's ``exp``), a multiple
    ``2 * m << bias_exp`` with ``m`` an int8 mantissa; ``bias_exp`` is the bias synapse's own
    ``weight_exp``, chosen from the largest bias (:func:`bias_exponent`), so the bias's
    range costs the weights no precision."""
    scaled = b * integer_scale(exp)
    bias_exp = bias_exponent(float(scaled.detach().abs().max()) if scaled.numel() else 0.0)
    step = float(WEIGHT_STEP << bias_exp)
    return ste(scaled, step * torch.clamp(torch.round(scaled / step), MANT_MIN, MANT_MAX)), \
        bias_exp


def quantize_threshold(threshold: float, exp: int) -> int:
    """Integer threshold mantissa ``round(threshold * 2**(1 - exp))``, at least 1."""
    return min(max(int(round(threshold * integer_scale(exp))), 1), VTH_MAX)


def decay_from_tau(tau: float) -> int:
    """12-bit decay ``d`` for which a state keeps ``1 - d/4096`` (about ``1 - 1/tau``) per step."""
    return min(max(int(round(DECAY_UNITY / tau)), 0), DECAY_UNITY - 1)


@dataclass(frozen=True)
class QuantizedGroup:
    """Integer parameters of one neuron group and its incoming synapse groups (tensors hold
    integers in float64; the weights are whatever :func:`quantize_group`'s ``quantize``
    returns, by default such tensors)."""

    weights: list  # per incoming synapse group: 2 * int8 mantissas, the float weights' shape
    bias: torch.Tensor  # units of a: 2 * int8 mantissa << bias_exp, the float bias's shape
    exp: int  # the group's weight exponent: float = integer / 2 * 2**exp
    neuron: LIFParams | ATRLIFParams
    bias_exp: int = 0  # the bias synapse's weight_exp (:func:`quantize_bias`)


def _absmax(x: torch.Tensor) -> float:
    """The largest magnitude in ``x`` (one pass, no copy)."""
    lo, hi = torch.aminmax(x.detach())
    return max(float(hi), -float(lo))


def quantize_group(weights: list[torch.Tensor], bias: torch.Tensor, neuron: dict,
                   quantize=quantize_weight) -> QuantizedGroup:
    """Lower one neuron group: float weights of all its incoming synapse groups (input
    scaling, batch norm and pooling folded in), its float bias and its neuron settings
    ``{"op": "lif" | "alif" | "li", "tau_mem", "tau_syn", "threshold", and for alif
    "theta_step", "tau_theta", "tau_r"}`` (times in steps, thresholds in float units). A
    leaky integrator (``li``, no threshold) is a LIF whose weights fill the 8-bit mantissas
    and whose threshold is the largest, :data:`VTH_MAX`: a readout whose voltage is read.

    The one lowering rule, used by quantization-aware training (gradients pass straight
    through) and by the deploy stage (on the same float tensors, so the integers agree).
    All synapse groups share the exponent, chosen from their largest weight. quantize:
    ``(float weights, exp) -> integer weights``, :func:`quantize_weight` or the same values
    in another form (the deploy stage's int64 arrays).
    """
    absmax = max(_absmax(w) for w in weights)
    du, dv = decays_from_taus(float(neuron["tau_mem"]), neuron.get("tau_syn"))
    if neuron["op"] == "li":  # no threshold: the weights alone set the scale
        exp = weight_exponent(absmax, 0.0)
        params = LIFParams(vth=VTH_MAX, du=du, dv=dv)
    elif neuron["op"] == "lif":
        threshold = float(neuron["threshold"])
        exp = weight_exponent(absmax, threshold)
        params = LIFParams(vth=quantize_threshold(threshold, exp), du=du, dv=dv)
    else:
        threshold, step = float(neuron["threshold"]), float(neuron["theta_step"])
        exp = weight_exponent(absmax, max(threshold, step), DECAY_UNITY - 1)
        params = ATRLIFParams(
            theta_0=min(quantize_threshold(threshold, exp), DECAY_UNITY - 1),
            theta_step=min(int(round(step * integer_scale(exp))), DECAY_UNITY - 1),
            d_i=du, d_v=min(dv, DECAY_UNITY - 1), d_theta=decay_from_tau(neuron["tau_theta"]),
            d_r=decay_from_tau(neuron["tau_r"]))
    q_bias, bias_exp = quantize_bias(bias.double(), exp)
    return QuantizedGroup([quantize(w, exp) for w in weights], q_bias, exp, params, bias_exp)
