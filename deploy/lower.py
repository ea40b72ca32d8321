"""Lower a float graph description to the integer :class:`~snn_export.graph.Network`."""
from __future__ import annotations

from snn_export import fixed_point as fp
from snn_export.graph import INPUT, Dense, FloatNetwork, Network, Neurons


def lower(graph: FloatNetwork) -> Network:
    """Quantize every layer with :func:`snn_export.fixed_point.quantize_dense_lif`, the rule
    quantization-aware training uses, so the integers equal the trained model's. Layer
    ``name`` becomes the neuron group ``name`` fed by the Dense ``name.dense``."""
    neurons, synapses, source = [], [], INPUT
    for layer in graph.layers:
        q = fp.quantize_dense_lif(layer.weight, layer.bias, layer.threshold, layer.tau_mem,
                                  layer.tau_syn)
        neurons.append(Neurons(layer.name, (int(q.weight.shape[0]),), q.neuron,
                               q.bias.numpy().astype("int64")))
        synapses.append(Dense(f"{layer.name}.dense", source, layer.name,
                              q.weight.numpy().astype("int64"), float_exp=q.exp))
        source = layer.name
    net = Network(input_shape=(graph.input_size,), input_bits=graph.input_bits,
                  time_steps=graph.time_steps, neurons=neurons, synapses=synapses,
                  metadata=dict(graph.metadata))
    net.validate()
    return net
