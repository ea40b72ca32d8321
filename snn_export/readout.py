"""The classification readout shared by training, the emulator and the Lava runner."""
from __future__ import annotations

import numpy as np
import torch


def predict(output_spikes) -> np.ndarray:
    """Class per sample from the last layer's spikes ``(samples, steps, classes)``: the class
    with the most spikes over all steps; ties go to the lowest class index."""
    counts = torch.as_tensor(np.asarray(output_spikes) if not torch.is_tensor(output_spikes)
                             else output_spikes).sum(1)
    return counts.argmax(1).cpu().numpy()
