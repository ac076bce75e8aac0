"""Uploaded drawings are normalised exactly as Omniglot's training images are."""

import io

import numpy as np
import pytest
import torch
from PIL import Image

from app.meta.tasks.drawings import BadImage, ink_mask, model_input
from app.meta.tasks.omniglot import load_omniglot
from app.settings import Settings

SETTINGS = Settings.from_env()
OMNIGLOT = SETTINGS.omniglot_dir


def png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


@pytest.fixture(scope="module")
def omniglot():
    if not (OMNIGLOT / "images_background.zip").is_file():
        pytest.skip(f"Omniglot is not at {OMNIGLOT} (set MAML_OMNIGLOT_DIR)")
    return load_omniglot(OMNIGLOT, SETTINGS.cache_dir, base_url=None)


def test_an_omniglot_drawing_becomes_its_training_image(omniglot):
    for character, drawing in [(0, 0), (17, 5), (900, 19)]:
        x = model_input(omniglot.original_png(character, drawing))
        assert torch.equal(x[0], omniglot.images[character, drawing].float() / 255)


def test_a_bigger_copy_gives_almost_the_same_image(omniglot):
    original = Image.open(io.BytesIO(omniglot.original_png(42, 1))).convert("L")
    bigger = original.resize((420, 420), Image.Resampling.NEAREST)
    difference = (model_input(png(bigger)) - model_input(png(original))).abs().mean()
    assert difference < 0.02


def test_transparent_background_and_non_square_images():
    image = Image.new("RGBA", (200, 100), (0, 0, 0, 0))
    for x in range(90, 110):
        for y in range(20, 80):
            image.putpixel((x, y), (10, 10, 10, 255))
    mask = ink_mask(png(image))
    assert mask.shape == (105, 105)
    rows = np.nonzero(mask.any(axis=1))[0]
    assert rows.min() > 30 and rows.max() < 75  # padded above and below, centred
    columns = np.nonzero(mask.any(axis=0))[0]
    assert abs((columns.min() + columns.max()) / 2 - 52) <= 2


@pytest.mark.parametrize("data", [b"not an image", b"", png(Image.new("L", (3000, 10), 255))])
def test_unreadable_or_huge_images_are_refused(data):
    with pytest.raises(BadImage):
        model_input(data)
