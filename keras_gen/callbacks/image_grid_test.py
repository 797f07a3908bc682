import keras
import numpy as np
from PIL import Image

from keras_gen import callbacks, models
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
    assert np.asarray(Image.open(tmp_path / pngs[-1])).shape == (256, 256)
    assert list((tmp_path / "images").glob("events.out.tfevents*"))
