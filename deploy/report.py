"""The short deployment report: layers, shapes, fixed-point formats, neuron parameters."""
from __future__ import annotations

from snn_export import fixed_point as fp
from snn_export.graph import Network


def text(net: Network, netx_name: str) -> str:
    """A Markdown report of the deployed description."""
    rows = [
        "| layer | in -> out | input | weights (int) | weight exp e | vth | du | dv | bias range |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for layer in net.layers:
        w, b = layer.weight, layer.bias
        source = f"graded {layer.input_bits}-bit" if layer.input_bits else "spikes"
        rows.append(
            f"| {layer.name} | {layer.n_in} -> {layer.n_out} | {source} "
            f"| 8-bit x{fp.WEIGHT_STEP}, {w.min()}..{w.max()} | {layer.weight_exp} "
            f"| {layer.neuron.vth} | {layer.neuron.du} | {layer.neuron.dv} | {b.min()}..{b.max()} |")
    depth = len(net.layers)
    return "\n".join([
        "# snn-export deployment report",
        "",
        f"- description: `{netx_name}` (lava-dl netx HDF5); load with "
        f"`netx.hdf5.Network(net_config='{netx_name}', input_message_bits={net.input_bits})`",
        f"- input: {net.input_size} channels, unsigned {net.input_bits}-bit levels, presented "
        f"every step; {net.time_steps} steps per sample",
        f"- timing: one step per synaptic hop; the output layer first sees the input at step "
        f"{depth + 1}; biases act from step 1",
        "- neurons: CUBA LIF, fixed point (24-bit u and v, 12-bit decays, strict threshold "
        "v > vth << 6, hard reset to 0); bias = mantissa << 6",
        "- weights: int8 mantissa m, applied as 2m; float weight = m * 2**e",
        "",
        *rows,
        "",
    ])
