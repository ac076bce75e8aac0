"""New drawings (the reader's, or any uploaded image) prepared exactly as Omniglot's are.

Omniglot's drawings are black ink on white on a 105×105 canvas; the models see
them as 28×28 images of the fraction of each pixel covered by ink
(:func:`app.meta.tasks.omniglot.downsample`). An image of any size, dark ink on a
light background, is brought to the same form:

1. transparency is flattened onto white and the image turned to grey;
2. it is padded with background to a square, centred, so its shape is kept;
3. it is resized to the 105×105 canvas (Lanczos) and thresholded: ink where the
   grey level is below 128, as the Omniglot PNGs are read;
4. it is downsampled to 28×28 exactly like the training data.
"""

from __future__ import annotations

import io

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from app.meta.tasks.omniglot import ORIGINAL_SIZE, downsample

MAX_SIDE = 2048


class BadImage(ValueError):
    """Not an image this module can read, or too large."""


def ink_mask(data: bytes) -> np.ndarray:
    """The 105×105 boolean ink mask of an encoded image (PNG, JPEG, …)."""
    try:
        image = Image.open(io.BytesIO(data))
        if max(image.size) > MAX_SIDE:
            raise BadImage(f"image is {image.size[0]}×{image.size[1]}; at most {MAX_SIDE} a side")
        image.load()
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as error:
        raise BadImage(f"not a readable image: {error}") from None
    rgba = image.convert("RGBA")
    white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    grey = Image.alpha_composite(white, rgba).convert("L")
    side = max(grey.size)
    square = Image.new("L", (side, side), 255)
    square.paste(grey, ((side - grey.size[0]) // 2, (side - grey.size[1]) // 2))
    canvas = square.resize((ORIGINAL_SIZE, ORIGINAL_SIZE), Image.Resampling.LANCZOS)
    return np.asarray(canvas) < 128


def model_input(data: bytes) -> torch.Tensor:
    """The (1, 28, 28) float tensor in [0, 1] (ink = 1) a model classifies."""
    return torch.from_numpy(downsample(ink_mask(data)).astype(np.float32) / 255.0)[None]
