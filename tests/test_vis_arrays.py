"""visualisation.arrays: the one tensor/array -> NumPy conversion used by every plot module."""

import numpy as np
import pytest
import torch

from visualisation.arrays import as_image, as_numpy


def test_as_numpy_detaches_tensors_and_casts():
    t = torch.ones(3, requires_grad=True) * 2
    a = as_numpy(t)
    assert a.dtype == np.float64 and np.all(a == 2.0)
    assert as_numpy(np.arange(3, dtype=np.int16), None).dtype == np.int16


def test_as_image_layouts_and_errors():
    chw = torch.full((3, 4, 5), 2.0)
    img = as_image(chw)
    assert img.shape == (4, 5, 3) and img.max() == 1.0  # transposed and clipped
    assert as_image(np.zeros((4, 5, 1))).shape == (4, 5, 3)
    with pytest.raises(ValueError, match=r"\[H, W, 3\]"):
        as_image(np.zeros((4, 5)))
