"""Training stage: surrogate-gradient spiking networks in PyTorch, quantization-aware for
the deployed fixed-point format, with the standard timing of PyTorch SNN libraries (the
deploy stage delays each group by its depth on the chip)."""
