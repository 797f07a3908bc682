"""Pictures of samples: image grids, 2D scatter plots and video clips as uint8 arrays, PNGs and GIFs."""

import math

import numpy as np

from keras_gen.utils import files


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


def scatter_picture(points, modes=None, mode_std=None, limit=1.0, size=480, title=None):
    """A scatter plot of 2-D points with axes, and the true modes marked, as a uint8 RGB picture.

    Drawn with matplotlib (Agg, no window, no pyplot state). The axes span
    `[-limit, limit]` (plus a 5% margin) whatever the points, so the pictures
    of one run compare epoch to epoch; points outside are counted in a note.
    Mode centres are red crosses, and with `mode_std` red circles of 3
    standard deviations: a sample inside a circle is what
    `keras_gen.data.toy_metrics` counts as high quality.

    Args:
        points: float array `(n, 2)`, in the coordinates of the axes.
        modes: the true mode centres `(k, 2)` in the same coordinates, or None.
        mode_std: the modes' standard deviation in those coordinates, or None.
        limit: half the width of the axes' range.
        size: width and height of the picture in pixels.
        title: text above the plot, or None.

    Returns:
        A uint8 array `(size, size, 3)`.

    Example:
    ```python
    from keras_gen.data import toy
    modes, mode_std = toy.scaled_centers("ring8")
    picture = scatter_picture(toy.sample("ring8", 512), modes=modes, mode_std=mode_std)
    ```
    """
    points = _points(points, "points")
    modes = check_modes(modes, mode_std)
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(size / 100, size / 100), dpi=100)
    canvas = FigureCanvasAgg(figure)
    axes = figure.add_axes([0.15, 0.2, 0.8, 0.72])
    axes.scatter(
        *points.T, s=5, c="tab:blue", alpha=0.7, linewidths=0, label=f"samples ({len(points)})"
    )
    if modes is not None:
        _draw_modes(axes, modes, mode_std)
    _frame(axes, points, limit, title)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()


def _points(array, name):
    array = np.asarray(array, dtype="float64")
    if array.ndim != 2 or array.shape[1] != 2:
        raise ValueError(
            f"`{name}` must have shape (n, 2). Received: {name} with shape {array.shape}"
        )
    return array


def check_modes(modes, mode_std):
    """Checks mode centres `(k, 2)` (or None) and their standard deviation (a number > 0, or None).

    Returns:
        `modes` as a float64 array, or None.

    Raises:
        ValueError: for another shape, or a `mode_std` that is not > 0 or comes without `modes`.
    """
    if modes is not None:
        modes = _points(modes, "modes")
    if mode_std is not None and (modes is None or not np.isscalar(mode_std) or not mode_std > 0):
        raise ValueError(
            "`mode_std` must be a number > 0, given with `modes`. "
            f"Received: mode_std={mode_std!r}, modes={'None' if modes is None else 'given'}"
        )
    return modes


def _draw_modes(axes, modes, mode_std):
    from matplotlib.collections import PatchCollection
    from matplotlib.patches import Circle

    label = "true modes"
    if mode_std is not None:
        circles = [Circle(centre, 3 * mode_std) for centre in modes]
        axes.add_collection(
            PatchCollection(circles, facecolor="none", edgecolor="tab:red", linewidth=0.8)
        )
        label = "true modes (circle: 3 std)"
    # Drawn after the samples, so that a collapsed generator does not hide them.
    axes.scatter(*modes.T, marker="+", c="tab:red", s=25, linewidths=0.8, label=label)


def _frame(axes, points, limit, title):
    """Fixed limits, labels, grid, legend below the axes and a count of points outside."""
    bound = 1.05 * limit
    axes.set(xlim=(-bound, bound), ylim=(-bound, bound), xlabel="x[0]", ylabel="x[1]")
    axes.set_aspect("equal")
    axes.grid(True, linewidth=0.3, alpha=0.5)
    outside = int(np.sum(np.any(np.abs(points) > bound, axis=1)))
    if outside:
        axes.text(0.01, 0.01, f"{outside} outside the axes", transform=axes.transAxes, fontsize=8)
    if title:
        axes.set_title(title, fontsize=10)
    # Below the axes, where it covers no point or mode.
    axes.legend(
        loc="upper center",
        bbox_to_anchor=(0.5, -0.12),
        ncol=2,
        frameon=False,
        fontsize=8,
        markerscale=2,
    )


def picture(samples, **scatter_options):
    """A picture of a batch of samples: a grid for images, a scatter plot for 2D points.

    Args:
        samples: images `(n, h, w, c)` in [-1, 1] or points `(n, 2)`.
        **scatter_options: arguments of `scatter_picture` (`modes`,
            `mode_std`, `limit`, `title`) for points.

    Returns:
        A uint8 picture, or None for other sample shapes.

    Raises:
        ValueError: if `scatter_options` are given for samples that are not points.
    """
    samples = np.asarray(samples)
    if samples.ndim == 2 and samples.shape[1] == 2:
        return scatter_picture(samples, **scatter_options)
    if scatter_options:
        raise ValueError(
            "Scatter options (modes, mode_std, limit, title) need 2-D points of shape (n, 2). "
            f"Received: samples with shape {samples.shape}, options {sorted(scatter_options)}"
        )
    if samples.ndim == 4:
        return image_grid(samples)
    return None


def save_png(picture_array, path):
    """Writes a uint8 `(H, W, c)` array as a PNG, atomically (temporary file, then rename).

    The file gets the process's usual permissions (`0o666` less the umask),
    like any file the process opens for writing.
    """
    from PIL import Image

    array = picture_array[..., 0] if picture_array.shape[-1] == 1 else picture_array
    files.write_atomically(path, lambda file: Image.fromarray(array).save(file, format="PNG"))


def check_unit_range(array, name):
    """`array` if it holds finite values in [-1, 1] (1e-3 of slack); ValueError naming `name` otherwise."""
    if array.size and (
        not np.all(np.isfinite(array)) or array.min() < -1.001 or array.max() > 1.001
    ):
        raise ValueError(
            f"`{name}` must hold finite values in [-1, 1]. "
            f"Received: {name} in [{np.nanmin(array):.4g}, {np.nanmax(array):.4g}]"
        )
    return array


def clip_frames(clip):
    """uint8 frames `(T, H, W, c)` of a clip: uint8 as given, floats in [-1, 1] scaled to 0..255."""
    clip = np.asarray(clip)
    if clip.ndim == 3:
        clip = clip[..., None]
    if clip.ndim != 4 or clip.shape[-1] not in (1, 3) or not clip.shape[0]:
        raise ValueError(
            "`clip` must be frames (T, H, W[, 1 or 3]) with a frame. "
            f"Received: clip with shape {clip.shape}"
        )
    return clip if clip.dtype == np.uint8 else to_uint8(clip)


def gif_bytes(clip, frame_ms=100):
    """An animated GIF (looping, `frame_ms` per frame) of a clip, as bytes.

    Pillow writes a frame equal to the one before once, shown for both
    frames' time, so the GIF plays the same.
    """
    import io

    from PIL import Image

    if isinstance(frame_ms, bool) or not isinstance(frame_ms, int) or frame_ms < 1:
        raise ValueError(f"`frame_ms` must be an int >= 1. Received: frame_ms={frame_ms!r}")
    frames = clip_frames(clip)
    pictures = [Image.fromarray(f[..., 0] if f.shape[-1] == 1 else f) for f in frames]
    buffer = io.BytesIO()
    pictures[0].save(
        buffer,
        format="GIF",
        save_all=True,
        append_images=pictures[1:],
        duration=int(frame_ms),
        loop=0,
        optimize=False,
    )
    return buffer.getvalue()


def save_gif(clip, path, frame_ms=100):
    """Writes a clip as an animated GIF, atomically."""
    data = gif_bytes(clip, frame_ms)
    files.write_atomically(path, lambda file: file.write(data))


def frame_strip(clips, padding=2):
    """uint8 picture of clips `(n, T, H, W, c)`: one row per clip, its frames left to right."""
    clips = np.asarray(clips)
    if clips.ndim == 4:
        clips = clips[..., None]
    if clips.ndim != 5 or not clips.shape[0] or not clips.shape[1]:
        raise ValueError(
            "`clips` must be (n, T, H, W[, c]) with a clip and a frame. "
            f"Received: clips with shape {clips.shape}"
        )
    if clips.dtype == np.uint8:
        clips = clips.astype("float32") / 127.5 - 1.0
    n, frames = clips.shape[:2]
    return image_grid(clips.reshape(n * frames, *clips.shape[2:]), columns=frames, padding=padding)
