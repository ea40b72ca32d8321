"""Training stage: surrogate-gradient spiking networks in PyTorch, quantization-aware for
the deployed fixed-point format and run with Lava's timing (one step per synaptic hop)."""
