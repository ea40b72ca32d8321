"""Lower a float graph description to the integer :class:`~snn_export.graph.Network`."""
from __future__ import annotations

from snn_export import fixed_point as fp
from snn_export.graph import DenseLayer, FloatNetwork, Network


def lower(graph: FloatNetwork) -> Network:
    """Quantize every layer with :func:`snn_export.fixed_point.quantize_dense_lif`, the rule
    quantization-aware training uses, so the integers equal the trained model's."""
    layers = []
    for k, layer in enumerate(graph.layers):
        q = fp.quantize_dense_lif(layer.weight, layer.bias, layer.threshold, layer.tau_mem,
                                  layer.tau_syn)
        layers.append(DenseLayer(name=layer.name, weight=q.weight.numpy().astype("int64"),
                                 weight_exp=q.exp, bias=q.bias.numpy().astype("int64"),
                                 neuron=q.neuron, input_bits=graph.input_bits if k == 0 else 0))
    net = Network(layers=layers, input_size=graph.input_size, time_steps=graph.time_steps,
                  input_bits=graph.input_bits, metadata=dict(graph.metadata))
    net.validate()
    return net
