"""Pictures of samples: image grids and 2D scatter plots as uint8 arrays and PNGs."""

import math
import os
import tempfile

import numpy as np


def to_uint8(images):
    """Maps samples in [-1, 1] to uint8 [0, 255]."""
    return np.clip(np.round((np.asarray(images) + 1.0) * 127.5), 0, 255).astype("uint8")


def image_grid(images, columns=None, padding=2):
    """Tiles `(n, h, w, c)` images in [-1, 1] into one uint8 `(H, W, c)` picture."""
    images = to_uint8(images)
    n, h, w, c = images.shape
    columns = columns or int(math.ceil(math.sqrt(n)))
    rows = int(math.ceil(n / columns))
    grid = np.zeros(
        (rows * (h + padding) + padding, columns * (w + padding) + padding, c), dtype="uint8"
    )
    for i, image in enumerate(images):
        r, col = divmod(i, columns)
        top, left = padding + r * (h + padding), padding + col * (w + padding)
        grid[top : top + h, left : left + w] = image
    return grid


def scatter_image(points, size=256, limit=1.0):
    """Rasterises 2D points in [-limit, limit]^2 into a white-on-black uint8 picture."""
    points = np.asarray(points, dtype="float64")
    canvas = np.zeros((size, size, 1), dtype="uint8")
    pixels = np.round((points / limit + 1.0) * 0.5 * (size - 1)).astype(int)
    inside = np.all((pixels >= 0) & (pixels < size), axis=1)
    pixels = pixels[inside]
    canvas[size - 1 - pixels[:, 1], pixels[:, 0]] = 255
    return canvas


def picture(samples):
    """A picture of a batch of samples: a grid for images, a scatter plot for 2D points.

    Returns None for other sample shapes.
    """
    samples = np.asarray(samples)
    if samples.ndim == 4:
        return image_grid(samples)
    if samples.ndim == 2 and samples.shape[1] == 2:
        return scatter_image(samples)
    return None


def save_png(picture_array, path):
    """Writes a uint8 `(H, W, c)` array as a PNG, atomically (temporary file, then rename)."""
    from PIL import Image

    array = picture_array[..., 0] if picture_array.shape[-1] == 1 else picture_array
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    handle, temporary = tempfile.mkstemp(suffix=".png", dir=directory)
    os.close(handle)
    try:
        Image.fromarray(array).save(temporary, format="PNG")
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)
