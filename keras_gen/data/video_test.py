import numpy as np
import pytest
from PIL import Image

from keras_gen.data import video


def test_digits_bounce_inside_the_frame():
    rng = np.random.RandomState(0)
    free = 64 - video.DIGIT_SIZE
    for _ in range(20):
        positions, velocities = video.trajectories(rng, 60, 2, free)
        assert positions.min() >= 0 and positions.max() <= free  # the digit stays inside
        steps = np.diff(positions, axis=0)
        # Away from the walls a digit moves by STEP_LENGTH of the free range (3.6 px,
        # rounded to pixels) in a straight line; its velocity reverses only at a wall.
        speed = np.abs(velocities).max()
        assert speed <= 1.0 + 1e-12
        flips = np.sign(velocities[1:]) != np.sign(velocities[:-1])
        at_wall = (positions[1:] == 0) | (positions[1:] == free)
        assert np.all(~flips | at_wall)
        assert np.abs(steps).max() <= int(np.ceil(video.STEP_LENGTH * free)) + 1


def test_a_wall_reverses_the_velocity():
    class Fixed(np.random.RandomState):
        def random_sample(self, size=None):
            # Start at the right wall's edge, moving right (theta = 0: velocity (0, 1)).
            return np.full(size, 0.99) if size == (1, 2) else np.zeros(size)

    positions, velocities = video.trajectories(Fixed(0), 3, 1, 36)
    np.testing.assert_array_equal(positions[:, 0, 1], [36, 32, 28])  # clamped at 1, then back
    assert velocities[0, 0, 1] == -1.0 and velocities[2, 0, 1] == -1.0


def test_sequences_are_a_function_of_the_seed_and_use_their_splits_digits():
    digits, labels = video._digits("test")
    a = video.moving_mnist_sequence(digits, labels, (7, 3))
    b = video.moving_mnist_sequence(digits, labels, (7, 3))
    c = video.moving_mnist_sequence(digits, labels, (7, 4))
    np.testing.assert_array_equal(a.frames, b.frames)
    assert not np.array_equal(a.frames, c.frames)
    assert a.frames.shape == (20, 64, 64) and a.frames.dtype == np.uint8
    # Every frame is the maximum of the chosen test digits at their positions.
    for t in range(20):
        canvas = np.zeros((64, 64), "uint8")
        for (top, left), index in zip(a.positions[t], a.digits):
            window = canvas[top : top + 28, left : left + 28]
            np.maximum(window, digits[index], out=window)
        np.testing.assert_array_equal(a.frames[t], canvas)
    np.testing.assert_array_equal(a.labels, labels[a.digits])
    train, _ = video._digits("train")
    train_set = {d.tobytes() for d in train}
    assert not any(digits[i].tobytes() in train_set for i in a.digits)  # no training digit


def test_load_video_gives_the_fixed_test_set_in_range():
    dataset, info = video.load_video("moving_mnist", split="test", batch_size=4, shuffle=False)
    assert info.num_sequences == video.TEST_SEQUENCES and info.shape == (20, 64, 64, 1)
    first = next(iter(dataset)).numpy()
    assert first.shape == (4, 20, 64, 64, 1) and first.min() >= -1 and first.max() <= 1
    arrays, _ = video.moving_mnist_arrays("test", num_sequences=4)
    np.testing.assert_allclose(first[..., 0], arrays / 127.5 - 1.0, atol=1e-6)
    load = dict(batch_size=2, num_sequences=6, shuffle=False)
    one, _ = video.load_video("moving_mnist", seed=1, **load)
    again, _ = video.load_video("moving_mnist", seed=1, **load)
    other, _ = video.load_video("moving_mnist", seed=2, **load)
    np.testing.assert_array_equal(next(iter(one)), next(iter(again)))
    assert not np.array_equal(next(iter(one)), next(iter(other)))
    with pytest.raises(ValueError, match="`split` must be 'train' or 'test'"):
        video.load_video(split="validation")
    with pytest.raises(ValueError, match="num_frames"):
        video.load_video(num_frames=0)
    with pytest.raises(ValueError, match="num_sequences"):
        video.load_video(num_sequences=0)
    with pytest.raises(ValueError, match="`frame_size` must exceed the digits' 28 pixels"):
        video.load_video(frame_size=20)
    with pytest.raises(ValueError, match="needs shuffle=True"):
        video.load_video(steps_per_epoch=2, shuffle=False)


def test_user_clips_load_from_gifs_and_frame_folders(tmp_path):
    rng = np.random.RandomState(0)
    clip = (rng.rand(8, 16, 16) * 255).astype("uint8")
    images = [Image.fromarray(frame) for frame in clip]
    images[0].save(tmp_path / "a.gif", save_all=True, append_images=images[1:], duration=50)
    folder = tmp_path / "b"
    folder.mkdir()
    for i, image in enumerate(images):
        image.save(folder / f"{i:03d}.png")
    np.testing.assert_array_equal(video.read_clip(str(folder))[..., 0], clip)
    assert video.read_clip(str(tmp_path / "a.gif")).shape == (8, 16, 16, 1)
    dataset, info = video.load_video(str(tmp_path), num_frames=4, batch_size=4, shuffle=False)
    assert info.num_sequences == 4 and info.shape == (4, 16, 16, 1)
    batch = next(iter(dataset)).numpy()
    np.testing.assert_allclose(batch[2, ..., 0], clip[:4] / 127.5 - 1.0, atol=1e-6)  # b's first
    (tmp_path / "c.gif").write_bytes(b"GIF89a broken")
    with pytest.raises(ValueError, match="c.gif is not a readable clip"):
        video.load_video(str(tmp_path), num_frames=4)
    with pytest.raises(ValueError, match="`name` must be 'moving_mnist' or a folder"):
        video.load_video("no_such_folder")
    with pytest.raises(ValueError, match="no `test` subfolder"):
        video.load_video(str(tmp_path), split="test", num_frames=4)
