"""snn-export: train spiking networks in PyTorch and deploy them bit-exact to Loihi-style hardware.

Pipeline stages (one-way): ``snn_export.train`` -> ``snn_export.export`` ->
``snn_export.deploy`` -> ``snn_export.sim``. The core modules here (fixed-point semantics,
model and network descriptions, checkpoint format, errors) need neither Lava nor a GPU.
Above the stages: :mod:`snn_export.pipeline`, the Python API, and :mod:`snn_export.cli`,
the command line that calls it.
"""
__version__ = "0.1.0"
