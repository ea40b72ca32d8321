"""The short deployment report: layers, shapes, fixed-point formats, neuron parameters."""
from __future__ import annotations

from snn_export import fixed_point as fp
from snn_export.graph import INPUT, Network

from .netx_hdf5 import chain


def text(net: Network, netx_name: str) -> str:
    """A Markdown report of a deployed chain (as written to netx)."""
    rows = [
        "| layer | in -> out | input | weights (int) | weight exp e | vth | du | dv | bias range |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    pairs = chain(net)
    for syn, group in pairs:
        w, b, p = syn.weight, group.bias, group.params
        source = f"graded {net.input_bits}-bit" if syn.source == INPUT else "spikes"
        rows.append(
            f"| {group.name} | {w.shape[1]} -> {w.shape[0]} | {source} "
            f"| 8-bit x{fp.WEIGHT_STEP}, {w.min()}..{w.max()} | {syn.float_exp} "
            f"| {p.vth} | {p.du} | {p.dv} | {b.min()}..{b.max()} |")
    return "\n".join([
        "# snn-export deployment report",
        "",
        f"- description: `{netx_name}` (lava-dl netx HDF5); load with "
        f"`netx.hdf5.Network(net_config='{netx_name}', input_message_bits={net.input_bits})`",
        f"- input: {net.input_size} channels, unsigned {net.input_bits}-bit levels, presented "
        f"every step; {net.time_steps} steps per sample",
        f"- timing: one step per synaptic hop; the output layer first sees the input at step "
        f"{len(pairs) + 1}; biases act from step 1",
        "- neurons: CUBA LIF, fixed point (24-bit u and v, 12-bit decays, strict threshold "
        "v > vth << 6, hard reset to 0); bias = mantissa << 6",
        "- weights: int8 mantissa m, applied as 2m; float weight = m * 2**e",
        "",
        *rows,
        "",
    ])


def graph_text(net: Network, file_name: str) -> str:
    """A Markdown report of a deployed graph: every neuron group, its inputs and its
    estimated Loihi 2 footprint (:func:`snn_export.deploy.compliance.resources`)."""
    from .compliance import resources

    rows = ["| group | neuron | shape | parameters | inputs | synapses | cores |",
            "|---|---|---|---|---|---|---|"]
    for group, res in zip(net.neurons, resources(net)):
        p = group.params
        params = (f"vth {p.vth}, du {p.du}, dv {p.dv}" if group.kind == "lif" else
                  f"theta_0 {p.theta_0}, step {p.theta_step}, d_i {p.d_i}, d_v {p.d_v}, "
                  f"d_theta {p.d_theta}, d_r {p.d_r}")
        inputs = ", ".join(f"{s.source} ({type(s).__name__})" for s in net.incoming(group.name))
        rows.append(f"| {group.name} | {group.kind.upper()} | {'x'.join(map(str, group.shape))} "
                    f"| {params} | {inputs} | {res.synapses} | {res.cores} |")
    return "\n".join([
        "# snn-export deployment report",
        "",
        f"- description: `{file_name}` (snn-export graph file); run it with "
        "`snn_export.sim.lava_runner.run(snn_export.deploy.graph_hdf5.read(path), x)`",
        f"- input: shape {tuple(net.input_shape)}, unsigned {net.input_bits}-bit levels, "
        f"presented every step; {net.time_steps} steps per sample; readout `{net.readout}`",
        "- timing: one step per synaptic hop; shallower branches delayed by relay groups "
        "(`<source>_delay<d>`) so every join sees inputs of the same step",
        "- joins, masks and max-pooling are gate groups: memoryless LIF (du 4095, dv 4096) "
        "fed by weight-2 synapses, spiking when the input exceeds vth",
        "",
        *rows,
        "",
    ])
