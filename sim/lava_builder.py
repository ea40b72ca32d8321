"""Build a :class:`~snn_export.graph.Network` from stock Lava processes.

Neuron groups become ``LIF``, ``LIFReset`` or ``ATRLIF``; synapse groups ``Dense``,
``DelayDense``, ``Sparse``, ``DelaySparse`` or ``Conv``, connected as the graph says. Lava
lays out (C, H, W) groups as (W, H, C) and its ``Conv`` is a true convolution with (out,
kernel x, kernel y, in) weights; the builder converts, so the Lava network computes exactly
the graph's (PyTorch-convention) function.
"""
from __future__ import annotations

import multiprocessing
import sys
from dataclasses import dataclass, field

import numpy as np

from snn_export import fixed_point as fp
from snn_export.errors import SnnExportError
from snn_export.graph import INPUT, Conv, Network
from snn_export.graph import Sparse as SparseSynapses


def import_lava() -> None:
    """Import Lava (with the start-method fix below), or raise a clear SnnExportError."""
    # Lava's import calls multiprocessing.set_start_method("fork") without force, which
    # raises if anything (tqdm's lock, for one) already fixed the default context. Clearing
    # the choice first lets Lava make it; Lava needs fork anyway.
    if "lava.magma.runtime.message_infrastructure.multiprocessing" not in sys.modules \
            and multiprocessing.get_start_method(allow_none=True) is not None:
        multiprocessing.set_start_method(None, force=True)
    try:
        import lava.proc.conv.utils as conv_utils
        import lava.proc.lif.process  # noqa: F401  (imports Lava, or fails clearly)
    except ImportError as exc:
        raise SnnExportError(
            f"Lava is not available ({exc}). Install the extra on Python 3.10: "
            "pip install 'snn-export[lava]' (or run `make test` / `make demo`, which set up "
            ".venv)") from None
    # lava-dl's own tests do this: torch inside Lava's forked processes is unreliable.
    conv_utils.TORCH_IS_AVAILABLE = False


def _lava_shape(shape: tuple) -> tuple:
    return tuple(shape[::-1])  # (C, H, W) -> (W, H, C); (n,) unchanged


@dataclass
class Group:
    name: str
    shape: tuple  # ours
    kind: str
    neuron: object  # the Lava process
    params: object = None  # ours (fp.LIFParams or fp.ATRLIFParams); None: netx's LIF


@dataclass
class Built:
    """Lava processes of one network, and what the run loop needs to know about them."""

    inputs: list  # (Lava InPort, reads flat (C, H, W) order?) fed by the input source
    groups: list[Group]
    buffers: list = field(default_factory=list)  # synapse buffer Vars, zeroed per sample


def build(net: Network) -> Built:
    """Instantiate ``net`` from stock Lava processes, connected."""
    import_lava()
    from lava.proc.atrlif.process import ATRLIF
    from lava.proc.conv.process import Conv as LavaConv
    from lava.proc.dense.process import DelayDense, Dense
    from lava.proc.lif.process import LIF, LIFReset
    from lava.proc.sparse.process import DelaySparse
    from lava.proc.sparse.process import Sparse as LavaSparse
    from scipy.sparse import csr_matrix
    from lava.utils.weightutils import SignMode

    groups, procs = [], {}
    for g in net.neurons:
        shape = _lava_shape(g.shape)
        bias = _to_lava(g.bias, g.shape)
        p = g.params
        if g.kind == "lif":
            kwargs = dict(shape=shape, du=p.du, dv=p.dv, vth=p.vth, bias_mant=bias,
                          bias_exp=fp.BIAS_EXP, name=g.name)
            proc = LIFReset(reset_interval=g.reset_interval, reset_offset=g.reset_offset,
                            **kwargs) if g.reset_interval else LIF(**kwargs)
            groups.append(Group(g.name, tuple(g.shape), "lif", proc, p))
        else:
            scale = float(fp.DECAY_UNITY)
            proc = ATRLIF(shape=shape, delta_i=p.d_i / scale, delta_v=p.d_v / scale,
                          delta_theta=p.d_theta / scale, delta_r=p.d_r / scale,
                          theta_0=p.theta_0, theta_step=p.theta_step, theta=p.theta_0,
                          bias_mant=bias, bias_exp=fp.BIAS_EXP, name=g.name)
            groups.append(Group(g.name, tuple(g.shape), "atrlif", proc, p))
        procs[g.name] = proc
    inputs, buffers = [], []
    for s in net.synapses:
        graded = net.input_bits if s.source == INPUT else 0
        src_shape, dst_shape = net.shape_of(s.source), net.shape_of(s.target)
        if isinstance(s, Conv):
            # Lava's Conv: (out, kernel x, kernel y, in) and a true convolution: flip
            weight = s.weight.transpose(0, 3, 2, 1)[:, ::-1, ::-1, :].astype(np.int32)
            syn = LavaConv(weight=np.ascontiguousarray(weight), input_shape=_lava_shape(src_shape),
                           padding=s.padding[::-1], stride=s.stride[::-1],
                           dilation=s.dilation[::-1], groups=s.groups, num_message_bits=graded,
                           name=s.name)
            buffers.append(syn.a_buf)
        else:
            kwargs = dict(weight_exp=s.weight_exp, num_weight_bits=s.num_weight_bits,
                          num_message_bits=graded, name=s.name)
            if s.sign_mode:
                kwargs["sign_mode"] = SignMode[s.sign_mode.upper()]
            if isinstance(s, SparseSynapses):
                weights = csr_matrix((s.weight.astype(np.int32), (s.rows, s.cols)), s.shape)
                if s.delays is None:
                    syn = LavaSparse(weights=weights, **kwargs)
                else:
                    # DelaySparse gives delay 0 to every synapse without a nonzero entry in
                    # `delays`. Lava drops the weights it truncates to 0; delays stored for
                    # them would only warn (scipy inserting them), so they are left out.
                    live = s.effective_weight() != 0
                    delays = csr_matrix((s.delays[live].astype(int),
                                         (s.rows[live], s.cols[live])), s.shape)
                    syn = DelaySparse(weights=weights, delays=delays, **kwargs)
            elif s.delays is None:
                syn = Dense(weights=s.weight.astype(np.int32), **kwargs)
            else:
                syn = DelayDense(weights=s.weight.astype(np.int32),
                                 delays=s.delays.astype(int), **kwargs)
            buffers.append(syn.a_buff)
        to_dense = not isinstance(s, Conv)
        if s.source == INPUT:
            inputs.append((syn.s_in, to_dense))
        else:
            connect(procs[s.source].s_out, syn.s_in, src_shape, to_dense)
        out = syn.a_out
        if to_dense and len(dst_shape) == 3:  # flat (C, H, W) order -> Lava's (W, H, C)
            out = out.reshape(tuple(dst_shape)).transpose([2, 1, 0])
        out.connect(procs[s.target].a_in)
    return Built(inputs, groups, buffers)


def _to_lava(values: np.ndarray, shape: tuple) -> np.ndarray:
    """(size,) in (C, H, W) row-major order -> an array of Lava's shape."""
    return np.asarray(values).reshape(shape).transpose(*range(len(shape))[::-1])


def connect(out_port, in_port, src_shape: tuple, to_dense: bool) -> None:
    """Connect, flattening a (W, H, C) Lava output in (C, H, W) order for a Dense."""
    if to_dense and len(src_shape) == 3:
        out_port = out_port.transpose([2, 1, 0]).flatten()
    out_port.connect(in_port)


