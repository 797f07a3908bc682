import keras
import numpy as np
import pytest
from PIL import Image
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from keras_gen import callbacks, models
from keras_gen.data import toy
from keras_gen.utils import images


def test_grid_and_scatter_pictures():
    grid = images.image_grid(np.full((5, 4, 6, 1), 1.0), columns=3, padding=1)
    assert grid.shape == (2 * 5 + 1, 3 * 7 + 1, 1)
    assert grid.max() == 255 and grid[0, 0, 0] == 0
    scatter = images.scatter_image(np.array([[0.0, 0.0], [1.0, 1.0], [5.0, 5.0]]), size=11)
    assert scatter[5, 5, 0] == 255 and scatter[0, 10, 0] == 255 and scatter.sum() == 2 * 255
    assert images.picture(np.zeros((3, 5))) is None


def test_callback_writes_png_and_tensorboard_image(tmp_path):
    model = models.GAN(data_shape=(2,), latent_dim=4, seed=0)
    model.compile(
        generator_optimizer=keras.optimizers.Adam(1e-3),
        discriminator_optimizer=keras.optimizers.Adam(1e-3),
    )
    callback = callbacks.ImageGridCallback(
        log_dir=str(tmp_path), png_dir=str(tmp_path), num_samples=100, every=2
    )
    x = np.random.RandomState(0).uniform(-1, 1, (32, 2)).astype("float32")
    model.fit(x, batch_size=16, epochs=5, verbose=0, callbacks=[callback])
    pngs = sorted(p.name for p in tmp_path.glob("*.png"))
    # Every second epoch, and the last.
    assert pngs == ["samples_epoch_0002.png", "samples_epoch_0004.png", "samples_epoch_0005.png"]
    # 2-D points: the RGB scatter plot (it was a 256 x 256 grey raster before issue 14).
    assert np.asarray(Image.open(tmp_path / pngs[-1])).shape == (480, 480, 3)
    assert list((tmp_path / "train").glob("events.out.tfevents*"))


def _fit_2d_gan(callback_list, epochs=3):
    model = models.GAN(data_shape=(2,), latent_dim=4, seed=0)
    model.compile(
        generator_optimizer=keras.optimizers.Adam(1e-3),
        discriminator_optimizer=keras.optimizers.Adam(1e-3),
    )
    x = np.random.RandomState(0).uniform(-1, 1, (32, 2)).astype("float32")
    model.fit(x, batch_size=16, epochs=epochs, verbose=0, callbacks=callback_list)
    return model


def _png_numbers(directory):
    return [int(p.stem.rsplit("_", 1)[1]) for p in sorted(directory.glob("samples_epoch_*.png"))]


@pytest.fixture(scope="module")
def run_with_tensorboard(tmp_path_factory):
    """Three epochs with Keras' TensorBoard and the grid callback into one log directory."""
    log_dir = tmp_path_factory.mktemp("run")
    _fit_2d_gan(
        [
            keras.callbacks.TensorBoard(str(log_dir), write_graph=False),
            callbacks.ImageGridCallback(log_dir=str(log_dir), png_dir=str(log_dir), num_samples=50),
        ]
    )
    events = EventAccumulator(str(log_dir / "train"))
    events.Reload()
    return log_dir, events


def test_image_steps_equal_png_numbers_counted_from_one(run_with_tensorboard):
    log_dir, events = run_with_tensorboard
    steps = [event.step for event in events.Tensors("samples")]
    assert steps == _png_numbers(log_dir) == [1, 2, 3]


def test_keras_scalars_keep_the_zero_based_epoch_index(run_with_tensorboard):
    # The rule the docstrings and the README state: Keras' epoch N + 1 scalar is step N.
    _, events = run_with_tensorboard
    assert [event.step for event in events.Tensors("epoch_g_loss")] == [0, 1, 2]


def test_pictures_and_scalars_are_one_tensorboard_run(run_with_tensorboard):
    log_dir, events = run_with_tensorboard
    runs = {str(p.parent.relative_to(log_dir)) for p in log_dir.rglob("events.out.tfevents*")}
    assert runs == {"train"}
    # Two writers, two event files, one run holding both tag sets.
    assert len(list((log_dir / "train").glob("events.out.tfevents*"))) == 2
    assert {"samples", "epoch_g_loss"} <= set(events.Tags()["tensors"])


def test_modes_are_drawn_in_the_png(tmp_path):
    model = models.GAN(data_shape=(2,), latent_dim=4, seed=0)
    centres, std = toy.scaled_centers("ring8")
    plain = callbacks.ImageGridCallback(png_dir=str(tmp_path / "plain"), num_samples=50)
    marked = callbacks.ImageGridCallback(
        png_dir=str(tmp_path / "marked"), num_samples=50, modes=centres, mode_std=std
    )
    for callback in (plain, marked):
        callback.set_model(model)
        callback.on_epoch_end(0)
    plain_png = np.asarray(Image.open(plain.last_png))
    marked_png = np.asarray(Image.open(marked.last_png))
    assert _red_pixels(plain_png) == 0 and _red_pixels(marked_png) > 0


def _red_pixels(picture):
    red, green, blue = (picture[..., i].astype(int) for i in range(3))
    return int(np.sum((red > 150) & (green < 100) & (blue < 100)))


def test_modes_need_2d_samples_and_the_right_shape(tmp_path):
    with pytest.raises(ValueError, match=r"shape \(8,\)"):
        callbacks.ImageGridCallback(png_dir=str(tmp_path), modes=np.zeros(8))
    with pytest.raises(ValueError, match="mode_std=0.1"):
        callbacks.ImageGridCallback(png_dir=str(tmp_path), mode_std=0.1)
    callback = callbacks.ImageGridCallback(png_dir=str(tmp_path), modes=np.zeros((2, 2)))
    with pytest.raises(ValueError, match=r"shape \(4, 8, 8, 1\)"):
        callback.sample_picture(np.zeros((4, 8, 8, 1)), epoch=0)
