"""The core arithmetic against a literal transcription of Lava's fixed_pt LIF model."""

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from snn_export import fixed_point as fp


def lava_lif_step(u, v, a, bias_mant, vth, du, dv):
    """lava/proc/lif/models.py AbstractPyLifModelFixed.subthr_dynamics + PyLifModelBitAcc,
    transcribed line by line in numpy with Lava's dtypes (int32 registers)."""
    u = u.astype(np.int32).copy()
    v = v.astype(np.int32).copy()
    max_uv = 2**23
    decayed_curr = np.int64(u) * (4096 - (du + 1))
    decayed_curr = np.sign(decayed_curr) * np.right_shift(np.abs(decayed_curr), 12)
    decayed_curr = np.int32(decayed_curr)
    decayed_curr += np.left_shift(a.astype(np.int64), 6)  # in-place: wraps to int32
    wrapped = np.where(decayed_curr > max_uv, decayed_curr - 2 * max_uv, decayed_curr)
    wrapped = np.where(wrapped <= -max_uv, decayed_curr + 2 * max_uv, wrapped)
    u[:] = wrapped
    decayed_volt = np.int64(v) * (4096 - dv)
    decayed_volt = np.int32(np.sign(decayed_volt) * np.right_shift(np.abs(decayed_volt), 12))
    eff_bias = np.left_shift(bias_mant.astype(np.int32), 6)
    v[:] = np.clip(decayed_volt + u + eff_bias, -max_uv + 1, max_uv - 1)
    s = v > (vth << 6)
    v[s] = 0
    return u.astype(np.int64), v.astype(np.int64), s


def test_decay_rounds_toward_zero():
    x = torch.tensor([-7.0, -1.0, 0.0, 1.0, 7.0], dtype=torch.float64)
    # keep 1/2: -3.5 -> -3, 3.5 -> 3 (floor would give -4 for the negative one)
    assert fp.decay(x, 2048).tolist() == [-3.0, 0.0, 0.0, 0.0, 3.0]


def test_current_wraps_once_and_voltage_saturates():
    big = torch.tensor([2.0**23 + 5, -(2.0**23)], dtype=torch.float64)
    assert fp.wrap_current(big).tolist() == [-(2.0**23) + 5, 2.0**23]
    assert fp.wrap_current(torch.tensor([3 * 2.0**23])).item() == 2.0**23  # only once
    v = torch.tensor([2.0**24, -(2.0**24)], dtype=torch.float64)
    assert fp.saturate_voltage(v).tolist() == [2**23 - 1, -(2**23 - 1)]


def test_int32_wrap():
    x = torch.tensor([2.0**31, -(2.0**31) - 1, 5.0], dtype=torch.float64)
    assert fp.to_int32(x).tolist() == [-(2.0**31), 2.0**31 - 1, 5.0]


def test_strict_threshold_and_hard_reset():
    p = fp.LIFParams(vth=10, du=4095, dv=4096)
    zero = torch.zeros(2, dtype=torch.float64)
    # v = a << 6: 640 == vth << 6 does not spike (strict), 704 does and resets to 0
    u, v, s = fp.lif_step(zero, zero, torch.tensor([10.0, 11.0], dtype=torch.float64), zero, p)
    assert s.tolist() == [0.0, 1.0] and v.tolist() == [640.0, 0.0] and u.tolist() == [640.0, 704.0]


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_lif_step_matches_lava_transcription(data):
    n = 8
    ints = lambda lo, hi: np.array(data.draw(st.lists(st.integers(lo, hi), min_size=n, max_size=n)))
    u, v = ints(-(2**31), 2**31 - 1), ints(-(2**23) + 1, 2**23 - 1)
    a = ints(-(2**20), 2**20)
    bias = ints(fp.BIAS_MANT_MIN, fp.BIAS_MANT_MAX)
    vth = data.draw(st.integers(0, fp.VTH_MAX))
    du = data.draw(st.integers(0, 4095))
    dv = data.draw(st.integers(0, 4096))
    ref = lava_lif_step(u, v, a, bias, vth, du, dv)
    t = lambda x: torch.tensor(x, dtype=torch.float64)
    p = fp.LIFParams(vth, du, dv)
    runs = [fp.lif_step(t(u), t(v), t(a), t(bias), p),
            fp.lif_step(t(u), t(v), t(a), t(bias), p, inplace=True),  # a float32 (exact):
            fp.lif_step(t(u), t(v), t(a).float(), t(bias), p, inplace=True,  # converted in
                        spikes=torch.empty(n, dtype=torch.float64))]  # the spikes' buffer
    for got in runs:
        for r, g in zip(ref, got):
            np.testing.assert_array_equal(np.asarray(r, dtype=np.int64),
                                          g.numpy().astype(np.int64))


def test_quantization_ranges_and_straight_through_gradient():
    w = torch.tensor([[0.5, -0.25, 0.001]], requires_grad=True)
    exp = fp.weight_exponent(float(w.detach().abs().max()), 1.0)
    q = fp.quantize_weight(w.double(), exp)
    mant = q.detach() / fp.WEIGHT_STEP
    assert mant.abs().max() <= 127 and torch.all(mant == mant.round())
    assert torch.allclose(q.detach() / fp.integer_scale(exp), w.double().detach(), atol=2.0**exp)
    q.sum().backward()
    assert torch.allclose(w.grad, torch.full_like(w, fp.integer_scale(exp)))
    assert fp.quantize_threshold(1.0, exp) == round(fp.integer_scale(exp))


def test_exponent_keeps_threshold_in_17_bits():
    exp = fp.weight_exponent(1e-9, 1.0)
    assert fp.quantize_threshold(1.0, exp) <= fp.VTH_MAX


def test_decays_from_taus():
    assert fp.decays_from_taus(2.0, None) == (4095, 2048)
    assert fp.decays_from_taus(1.0, 4.0) == (1023, 4096)


@settings(max_examples=200, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), du=st.integers(0, 4095), dv=st.integers(0, 4096),
       vth=st.integers(0, fp.VTH_MAX), steps=st.integers(1, 40), margin=st.integers(0, 3),
       limit=st.sampled_from(["current", "int32", "voltage"]))
def test_steps_within_the_bounds_skip_only_identities(seed, du, dv, vth, steps, margin, limit):
    """lif_step given lif_current_bound and lif_voltage_bound gives lif_step's integers, on
    inputs at the largest magnitude whose bound stays below where a wrap or the saturation
    may act (2**23 for the 24-bit current, INT32_SAFE for int32, 2**23 for the voltage's
    saturation), and a few below it."""
    p = fp.LIFParams(vth, du, dv)
    keeps = fp.lif_voltage_bound(p, 1.0, 0.0, steps)
    bias_lim = fp.BIAS_MANT_MAX if limit != "voltage" else \
        min(fp.BIAS_MANT_MAX, int(fp.STATE_MAX / keeps / 64 / 2))
    reach = {"current": lambda a_max: fp.lif_current_bound(p, a_max, steps),
             "int32": lambda a_max: fp.lif_current_bound(p, a_max, steps),
             "voltage": lambda a_max: fp.lif_voltage_bound(
                 p, fp.lif_current_bound(p, a_max, steps), bias_lim, steps)}[limit]
    top = {"current": fp.STATE_MAX, "int32": fp.INT32_SAFE, "voltage": fp.STATE_MAX}[limit]
    a_max = float(top // reach(1.0))
    while a_max > 0 and reach(a_max) >= top:
        a_max -= 1
    while reach(a_max + 1) < top:
        a_max += 1
    a_max = max(a_max - margin, 0.0)
    bound = fp.lif_current_bound(p, a_max, steps)
    v_bound = fp.lif_voltage_bound(p, bound, bias_lim, steps)
    assert reach(a_max) < top
    rng = np.random.default_rng(seed)
    a = torch.as_tensor(rng.choice([-a_max, a_max, 0.0, a_max // 3], (steps, 16)),
                        dtype=torch.float64)
    a[:, :2] = torch.tensor([a_max, -a_max], dtype=torch.float64)  # held at the extremes
    bias = torch.as_tensor(rng.integers(-bias_lim, bias_lim + 1, 16), dtype=torch.float64)
    bias[:2] = torch.tensor([bias_lim, -bias_lim], dtype=torch.float64)
    states = [fp.initial_state(p, a[0]).values() for _ in range(2)]
    for a_t in a:
        (u, v, s), (u2, v2, s2) = [
            fp.lif_step(*state, a_t, bias, p, inplace=inplace, **bounds)
            for state, bounds, inplace in zip(states, ({}, {"current_bound": bound,
                                                            "voltage_bound": v_bound}),
                                              (False, True))]
        assert torch.equal(u, u2) and torch.equal(v, v2) and torch.equal(s, s2)
        assert u.abs().max() <= bound and v.abs().max() <= v_bound
        states = [(u, v), (u2, v2)]
