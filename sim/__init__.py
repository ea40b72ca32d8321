"""Simulation stage: the exact integer emulator (CPU/GPU) and the Lava runner."""
