"""The fused LIF scan: the same spikes as stepping, and the gradients of autograd through
the step functions (float and the deployed integer step), for every surrogate, to float32
rounding (the scan's backward runs in float32)."""
import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from snn_export import fixed_point as fp
from snn_export.train.graph_model import _float_lif, _quantized_lif
from snn_export.train.surrogate import SURROGATES, spike_fn


class _Model:
    def __init__(self, kind: str, alpha: float):
        self.surrogate = (kind, alpha)
        self.spike = spike_fn(kind, alpha)


def _stepped(a, step):
    """Spikes of ``step(a_t, state) -> (state, s)`` stepped under autograd."""
    state, out = None, []
    for t in range(a.shape[1]):
        state, s = step(a[:, t], state)
        out.append(s)
    return torch.stack(out, 1)


def _compare(fused, stepped, a, rng, rtol):
    w = torch.as_tensor(rng.normal(size=a.shape), dtype=a.dtype)
    grads = []
    for run in (fused, stepped):
        x = a.clone().requires_grad_()
        s = run(x)
        (s * w).sum().backward()
        grads.append((s.detach(), x.grad))
    torch.testing.assert_close(grads[0][0], grads[1][0], rtol=0, atol=0, check_dtype=False)
    torch.testing.assert_close(grads[0][1], grads[1][1], rtol=rtol, atol=rtol)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**16), kind=st.sampled_from(SURROGATES),
       keep_u=st.sampled_from([0.0, 0.5, 0.9]), tau_mem=st.sampled_from([1.0, 2.0, 8.0]),
       threshold=st.sampled_from([0.5, 1.0]))
def test_float_scan_has_autograds_gradients(seed, kind, keep_u, tau_mem, threshold):
    rng = np.random.default_rng(seed)
    a = torch.as_tensor(rng.normal(0.6, 1.0, (3, 7, 5)), dtype=torch.float64)
    model, keep_v = _Model(kind, 2.0), 1 - 1 / tau_mem

    def step(a_t, state):
        u, v = state or (torch.zeros_like(a_t), torch.zeros_like(a_t))
        u = u * keep_u + a_t
        v = v * keep_v + u
        s = model.spike(v - threshold, threshold)
        return (u, v * (1 - s)), s
    _compare(lambda x: _float_lif(model, None, x, keep_u, keep_v, threshold),
             lambda x: _stepped(x, step), a, rng, 1e-5)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**16), kind=st.sampled_from(SURROGATES),
       du=st.sampled_from([0, 1024, 4095]), dv=st.sampled_from([0, 2048, 4096]),
       vth=st.integers(1, 2000), scale=st.sampled_from([1, 2**12]))
def test_quantized_scan_has_autograds_gradients(seed, kind, du, dv, vth, scale):
    """(scale 2**12: currents beyond 24 bits, so the scan takes the wrapping step)"""
    rng = np.random.default_rng(seed)
    params = fp.LIFParams(vth, du, dv)
    a = torch.as_tensor(rng.integers(-vth, 4 * vth, (3, 7, 5)) * scale, dtype=torch.float64)
    model = _Model(kind, 2.0)

    def step(a_t, state):
        u, v = state or fp.initial_state(params, a_t).values()
        u, v, s = fp.lif_step(u, v, a_t, 0.0, params, model.spike)
        return (u, v), s
    _compare(lambda x: _quantized_lif(model, x, params), lambda x: _stepped(x, step), a, rng,
             1e-5)
