"""File formats and cameras: the bottom layer of pcc (no torch models, no plotting)."""
