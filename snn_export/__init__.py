"""snn-export: train spiking networks in PyTorch and deploy them bit-exact to Loihi-style hardware.

Pipeline stages (one-way): ``snn_export.train`` -> ``snn_export.export`` ->
``snn_export.deploy`` -> ``snn_export.sim``. The core modules here (fixed-point semantics,
graph description, checkpoint format, errors, CLI) need neither Lava nor a GPU.
"""
__version__ = "0.1.0"
