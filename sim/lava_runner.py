"""Run a netx HDF5 description in Lava's CPU simulator (``Loihi2SimCfg(select_tag="fixed_pt")``).

All samples go through one Lava run: a ``RingBuffer`` source holds every sample's input
(repeated for its ``T`` steps) and one ``RingBuffer`` sink per layer records spikes. After
each sample the runner pauses and zeroes every neuron's ``u`` and ``v`` and every Dense
buffer ``a_buff``, so each sample starts from the same state as a fresh run. (netx's own
``reset_interval`` resets neurons but not Dense buffers: spikes of one sample would leak
into the next.)
"""
from __future__ import annotations

import multiprocessing
import sys
from pathlib import Path

import numpy as np
from tqdm import tqdm

from snn_export.errors import SnnExportError


def _import_lava():
    # Lava's import calls multiprocessing.set_start_method("fork") without force, which
    # raises if anything (tqdm's lock, for one) already fixed the default context. Clearing
    # the choice first lets Lava make it; Lava needs fork anyway.
    if "lava.magma.runtime.message_infrastructure.multiprocessing" not in sys.modules \
            and multiprocessing.get_start_method(allow_none=True) is not None:
        multiprocessing.set_start_method(None, force=True)
    try:
        import lava.proc.conv.utils as conv_utils
        from lava.lib.dl import netx
        from lava.magma.core.run_conditions import RunSteps
        from lava.magma.core.run_configs import Loihi2SimCfg
        from lava.proc.io.sink import RingBuffer as Sink
        from lava.proc.io.source import RingBuffer as Source
    except ImportError as exc:
        raise SnnExportError(
            f"Lava is not available ({exc}). Install the extra on Python 3.10: "
            "pip install 'snn-export[lava]' (or run `make test` / `make demo`, which set up "
            ".venv)") from None
    # lava-dl's own tests do this: torch inside Lava's forked processes is unreliable.
    conv_utils.TORCH_IS_AVAILABLE = False
    return netx, RunSteps, Loihi2SimCfg, Source, Sink


def run(netx_path: str | Path, x: np.ndarray, time_steps: int, input_bits: int,
        progress: bool = True) -> list[np.ndarray]:
    """Spikes per layer, (samples, steps, neurons) uint8, for integer input levels ``x``
    of shape (samples, inputs)."""
    netx, RunSteps, Loihi2SimCfg, Source, Sink = _import_lava()
    x = np.asarray(x, dtype=np.int64)
    samples = len(x)
    net = netx.hdf5.Network(net_config=str(netx_path), input_message_bits=input_bits)
    data = np.repeat(x.T, time_steps, axis=1)  # (inputs, samples * T)
    source = Source(data=data)
    source.s_out.connect(net.inp)
    sinks = []
    for layer in net.layers:
        sink = Sink(shape=layer.out.shape, buffer=samples * time_steps)
        layer.out.connect(sink.a_in)
        sinks.append(sink)
    cfg = Loihi2SimCfg(select_tag="fixed_pt")
    try:
        for k in tqdm(range(samples), desc="lava", unit="sample", disable=not progress):
            net.run(condition=RunSteps(num_steps=time_steps), run_cfg=cfg)
            if k + 1 < samples:
                for layer in net.layers:
                    for var in (layer.neuron.u, layer.neuron.v, layer.synapse.a_buff):
                        var.set(np.zeros(var.shape))
        recorded = [sink.data.get() for sink in sinks]
    finally:
        net.stop()
    return [r.reshape(r.shape[0], samples, time_steps).transpose(1, 2, 0).astype(np.uint8)
            for r in recorded]
