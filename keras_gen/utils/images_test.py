import os

import numpy as np
import pytest
from PIL import Image

from keras_gen.data import toy
from keras_gen.utils import images


def _changed(picture, background=255):
    """Pixels that differ from the white background."""
    return np.any(picture != background, axis=-1)


def test_scatter_picture_has_axes_beyond_the_points():
    picture = images.scatter_picture(np.zeros((1, 2)), size=300)
    assert picture.shape == (300, 300, 3) and picture.dtype == np.uint8
    # One point at the centre; the left and bottom margins hold the tick labels.
    changed = _changed(picture)
    assert changed[:, : 300 // 8].sum() > 50
    assert changed[-300 // 8 :, :].sum() > 50


def test_scatter_picture_draws_the_points():
    empty = images.scatter_picture(np.zeros((0, 2)))
    points = images.scatter_picture(toy.sample("ring8", 200))
    assert _changed(points).sum() > _changed(empty).sum() + 200


def test_mode_markers_and_circles_change_the_picture():
    points = toy.sample("grid25", 100)
    centres, std = toy.scaled_centers("grid25")
    plain = images.scatter_picture(points)
    crosses = images.scatter_picture(points, modes=centres)
    circles = images.scatter_picture(points, modes=centres, mode_std=std)
    assert not np.array_equal(plain, crosses)
    assert _changed(circles).sum() > _changed(crosses).sum()


def test_picture_of_2d_points_is_the_scatter_picture():
    points = toy.sample("ring8", 50)
    np.testing.assert_array_equal(images.picture(points), images.scatter_picture(points))
    with pytest.raises(ValueError, match=r"shape \(3, 4, 4, 1\)"):
        images.picture(np.zeros((3, 4, 4, 1)), modes=np.zeros((2, 2)))


def test_scatter_picture_checks_its_arguments():
    with pytest.raises(ValueError, match=r"points with shape \(3, 3\)"):
        images.scatter_picture(np.zeros((3, 3)))
    with pytest.raises(ValueError, match=r"modes with shape \(4,\)"):
        images.scatter_picture(np.zeros((3, 2)), modes=np.zeros(4))
    with pytest.raises(ValueError, match="mode_std=-1"):
        images.scatter_picture(np.zeros((3, 2)), modes=np.zeros((1, 2)), mode_std=-1)


def test_save_png_gets_the_usual_permissions(tmp_path):
    previous = os.umask(0o027)
    try:
        images.save_png(np.zeros((4, 4, 3), "uint8"), str(tmp_path / "a.png"))
    finally:
        os.umask(previous)
    assert os.stat(tmp_path / "a.png").st_mode & 0o777 == 0o666 & ~0o027
    # Written whole, and no temporary file left beside it.
    assert np.asarray(Image.open(tmp_path / "a.png")).shape == (4, 4, 3)
    assert [p.name for p in tmp_path.iterdir()] == ["a.png"]
