"""Export stage: trained checkpoints to the project's graph description."""
