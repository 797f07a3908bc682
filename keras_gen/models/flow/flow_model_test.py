import math

import keras
import numpy as np
import pytest
import tensorflow as tf
from sklearn.datasets import make_moons

from keras_gen import testing
from keras_gen.models.flow import Glow, RealNVP
from keras_gen.models.flow import layers as flow_layers


def _moons(n=256):
    return make_moons(n, noise=0.05, random_state=0)[0].astype("float32")


def _pixels(n=16, shape=(4, 4, 1), seed=0):
    levels = np.random.default_rng(seed).integers(0, 256, (n, *shape))
    return (levels / 127.5 - 1.0).astype("float32")


def _jacobian_log_det(function, x):
    """log |det df/dx| per example by automatic differentiation, float64."""
    x = tf.constant(x, "float64")
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.reshape(function(tf.cast(x, "float32")), [x.shape[0], -1])
        y = tf.cast(y, "float64")
    jacobian = tape.batch_jacobian(y, x)
    jacobian = tf.reshape(jacobian, [x.shape[0], y.shape[1], -1])
    return np.linalg.slogdet(jacobian.numpy())[1]


def _random_step_weights(step, seed=0):
    """Non-zero weights everywhere, so no part of a log-determinant is trivially 0."""
    rng = np.random.default_rng(seed)
    for weight in step.trainable_weights:
        weight.assign(0.3 * rng.normal(size=weight.shape).astype("float32"))


def _flow_models():
    return [
        RealNVP(data_shape=(4,), num_coupling_layers=3, hidden_dim=8, seed=0),
        RealNVP(data_shape=(4, 4, 1), num_coupling_layers=1, hidden_dim=4, levels=1, seed=0),
        Glow(data_shape=(4,), levels=1, steps_per_level=2, hidden_channels=8, seed=0),
        Glow(data_shape=(4, 4, 1), levels=2, steps_per_level=1, hidden_channels=4, seed=0),
        RealNVP(data_shape=(4,), num_coupling_layers=3, hidden_dim=8, coupling="spline", seed=0),
        Glow(
            data_shape=(4, 4, 1),
            levels=1,
            steps_per_level=2,
            hidden_channels=4,
            coupling="spline",
            num_bins=4,
            seed=0,
        ),
    ]


@pytest.mark.parametrize(
    "step, shape",
    [
        (flow_layers.ActNorm(), (3, 2, 2, 3)),
        (flow_layers.InvertibleLinear(seed=1), (3, 2, 2, 3)),
        (flow_layers.InvertibleLinear(seed=1), (3, 4)),
        (flow_layers.AffineCoupling((4,), "halves", parity=1, hidden=8), (3, 4)),
        (flow_layers.AffineCoupling((2, 2, 2), "checkerboard", hidden=4), (3, 2, 2, 2)),
        (flow_layers.AffineCoupling((2, 2, 4), "channel", parity=1, hidden=4), (3, 2, 2, 4)),
        # Normal inputs with tail_bound 1 fall inside the splines and in their identity tails.
        (
            flow_layers.SplineCoupling((4,), "halves", 1, num_bins=5, tail_bound=1.0, hidden=8),
            (6, 4),
        ),
        (flow_layers.SplineCoupling((2, 2, 4), "channel", num_bins=3, hidden=4), (3, 2, 2, 4)),
    ],
)
def test_each_step_log_det_equals_the_jacobian_and_inverse_undoes_it(step, shape):
    x = np.random.default_rng(0).normal(size=shape).astype("float32")
    step.build((None, *shape[1:]))
    _random_step_weights(step)
    y, log_det = step.forward(tf.constant(x))
    np.testing.assert_allclose(
        log_det.numpy(), _jacobian_log_det(lambda v: step.forward(v)[0], x), atol=1e-4
    )
    np.testing.assert_allclose(step.inverse(y).numpy(), x, atol=1e-5)


@pytest.mark.parametrize("index", range(6))
def test_model_log_density_is_the_prior_plus_the_jacobian_log_det(index):
    model = _flow_models()[index]
    # Seeded by position, not by layer name: names depend on what the process built before.
    for i, step in enumerate(model.flow_steps):
        _random_step_weights(step, seed=i)
    shape = model.data_shape
    y = 0.3 * np.random.default_rng(1).normal(size=(2, *shape)).astype("float32")
    z, _ = model.forward(tf.constant(y))
    z = z.numpy().astype("float64")
    prior = -0.5 * (z**2).sum(axis=1) - 0.5 * z.shape[1] * math.log(2 * math.pi)
    expected = prior + _jacobian_log_det(lambda v: model.forward(v)[0], y)
    np.testing.assert_allclose(model.log_density(tf.constant(y)).numpy(), expected, atol=1e-3)


def test_a_spline_starts_as_the_identity_and_matches_its_closed_form_on_one_bin():
    step = flow_layers.SplineCoupling((2,), "halves", num_bins=4, hidden=4)
    step.build((None, 2))
    x = np.array([[0.3, -2.0], [0.1, 5.0]], "float32")
    y, log_det = step.forward(tf.constant(x))
    np.testing.assert_allclose(y.numpy(), x, atol=1e-6)
    np.testing.assert_allclose(log_det.numpy(), 0.0, atol=1e-6)
    # Two bins on [-1, 1]: knots at x = -1, 0, 1 and y = -1, about -0.5, 1, inner slope 2;
    # eq. 4 of Durkan et al. at x = 0.5 (xi = 1/2, s = about 3/2, d = 2 and 1).
    raw_w = np.zeros((1, 2), "float32")
    raw_h = np.log(np.array([[1.0, 3.0]], "float32"))  # softmax -> 0.25, 0.75
    d_raw = np.array([[math.log(math.expm1(2.0 - 1e-3)) - flow_layers.DERIVATIVE_OFFSET]])
    y, log_det = flow_layers.rational_quadratic_spline(
        tf.constant([0.5]), raw_w, raw_h, d_raw.astype("float32"), tail_bound=1.0
    )
    heights = (1e-3 + (1 - 2e-3) * np.array([0.25, 0.75])) * 2.0
    s, d0, d1, xi = heights[1] / 1.0, 2.0, 1.0, 0.5
    expected = (
        -1.0
        + heights[0]
        + heights[1] * (s * xi**2 + d0 * xi * (1 - xi)) / (s + (d1 + d0 - 2 * s) * xi * (1 - xi))
    )
    np.testing.assert_allclose(y.numpy(), [expected], rtol=1e-5)
    # Eq. 5, the derivative, against automatic differentiation of eq. 4.
    point = tf.constant([0.5])
    with tf.GradientTape() as tape:
        tape.watch(point)
        value, log_det = flow_layers.rational_quadratic_spline(
            point, raw_w, raw_h, d_raw.astype("float32"), tail_bound=1.0
        )
    np.testing.assert_allclose(log_det.numpy(), np.log(tape.gradient(value, point)), atol=1e-6)
    x_back = flow_layers.rational_quadratic_spline(
        y, raw_w, raw_h, d_raw.astype("float32"), tail_bound=1.0, inverse=True
    )
    np.testing.assert_allclose(x_back.numpy(), [0.5], atol=1e-6)


def test_a_spline_coupling_round_trips_its_config():
    step = flow_layers.SplineCoupling((4,), "halves", 1, num_bins=5, tail_bound=2.0, hidden=8)
    again = flow_layers.SplineCoupling.from_config(step.get_config())
    assert (again.num_bins, again.tail_bound, again.parity, again.hidden) == (5, 2.0, 1, 8)


def test_dequantization_maps_the_pixel_bins_onto_minus_half_half():
    model = Glow(data_shape=(4, 4, 1), levels=1, steps_per_level=1, hidden_channels=4, seed=0)
    black, white = np.full((1, 4, 4, 1), -1.0, "float32"), np.ones((1, 4, 4, 1), "float32")
    zeros, almost_one = np.zeros(black.shape, "float32"), np.full(black.shape, 0.999, "float32")
    # Pixel 0 with u = 0 is the bottom of [0, 256); pixel 255 with u -> 1 its top.
    np.testing.assert_allclose(model.to_flow_space(black, zeros).numpy(), -0.5, atol=1e-6)
    np.testing.assert_allclose(
        model.to_flow_space(white, almost_one).numpy(), 0.5 - 0.001 / 256, atol=1e-6
    )
    # Bin centres come back to the pixels.
    centres = model.to_flow_space(_pixels(2))
    np.testing.assert_allclose(model.from_flow_space(centres).numpy(), _pixels(2), atol=1e-6)


def test_image_likelihood_counts_pixels_in_0_256_and_bits_per_dim_follow():
    model = Glow(data_shape=(4, 4, 1), levels=1, steps_per_level=1, hidden_channels=4, seed=0)
    x = _pixels(4)
    noise = np.full(x.shape, 0.25, "float32")
    y = ((x + 1.0) * 127.5 + 0.25) / 256 - 0.5
    expected = model.log_density(tf.constant(y)).numpy() - 16 * math.log(256)
    np.testing.assert_allclose(model.data_log_likelihood(x, noise).numpy(), expected, rtol=1e-6)
    log_p = model.log_prob(x, seed=3)
    assert model.bits_per_dim(x, seed=3) == pytest.approx(-log_p.mean() / (16 * math.log(2)))


@pytest.mark.parametrize("index", range(6))
def test_decode_inverts_encode(index):
    model = _flow_models()[index]
    # Seeded by position, not by layer name: names depend on what the process built before.
    for i, step in enumerate(model.flow_steps):
        _random_step_weights(step, seed=i)
    x = _pixels(5, model.data_shape) if model.images else _moons(5)[:, [0, 1, 0, 1]]
    z = model.encode(x)
    assert z.shape == (5, model.latent_dim)
    np.testing.assert_allclose(model.decode(z), x, atol=1e-4)


@pytest.mark.parametrize(
    "cls, kwargs",
    [
        (RealNVP, dict(num_coupling_layers=4, hidden_dim=16)),
        (RealNVP, dict(num_coupling_layers=2, hidden_dim=16, coupling="spline")),
        (Glow, dict(steps_per_level=3, hidden_channels=16)),
    ],
)
def test_a_trained_2d_density_integrates_to_one(cls, kwargs):
    x = _moons(512) * 0.5
    model = cls(data_shape=(2,), seed=0, **kwargs)
    model.compile(optimizer=keras.optimizers.Adam(3e-3))
    model.fit(x, batch_size=128, epochs=5, verbose=0)
    # A 600 x 600 midpoint grid over [-4, 4]^2 holds all but a negligible tail of the mass.
    edges = np.linspace(-4.0, 4.0, 601)
    centres = (edges[:-1] + edges[1:]) / 2
    grid = np.stack(np.meshgrid(centres, centres), axis=-1).reshape(-1, 2).astype("float32")
    mass = np.exp(model.log_prob(grid, batch_size=40_000).astype("float64")).sum()
    mass *= (edges[1] - edges[0]) ** 2
    assert mass == pytest.approx(1.0, abs=0.01)


def test_fit_initialises_actnorm_from_the_first_batch_once():
    x = _moons(64) * 3.0 + 5.0
    model = RealNVP(data_shape=(2,), num_coupling_layers=2, hidden_dim=8, seed=0)
    model.compile(optimizer=keras.optimizers.Adam(0.0))
    model.fit(x, batch_size=32, epochs=1, verbose=0)
    first = model.flow_steps[0]
    out, _ = first.forward(tf.constant(x[:32]))
    np.testing.assert_allclose(out.numpy().mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(out.numpy().std(axis=0), 1.0, atol=1e-4)
    bias = first.bias.numpy().copy()
    model.fit(x[32:] + 10.0, batch_size=32, epochs=1, verbose=0)
    np.testing.assert_array_equal(first.bias.numpy(), bias)


def test_every_actnorm_of_a_multiscale_flow_normalises_its_input_on_the_first_batch():
    model = Glow(data_shape=(8, 8, 1), levels=2, steps_per_level=2, hidden_channels=4, seed=0)
    model.compile(optimizer=keras.optimizers.Adam(0.0))
    x = _pixels(32, (8, 8, 1))
    model.fit(x, batch_size=32, epochs=1, verbose=0)
    y, checked = model.to_flow_space(x), 0
    for squeeze, steps, factor_out in model.levels:
        y = flow_layers.squeeze(y) if squeeze else y
        for step in steps:
            y, _ = step.forward(y)
            if isinstance(step, flow_layers.ActNorm):
                values = y.numpy().reshape(-1, y.shape[-1])
                np.testing.assert_allclose(values.mean(axis=0), 0.0, atol=1e-4)
                np.testing.assert_allclose(values.std(axis=0), 1.0, atol=1e-3)
                checked += 1
        y = y[..., y.shape[-1] // 2 :] if factor_out else y
    assert checked == 4


def test_a_bad_first_batch_initialises_nothing():
    model = Glow(data_shape=(4, 4, 1), levels=1, steps_per_level=1, hidden_channels=4, seed=0)
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    before = [w.copy() for w in model.get_weights()]
    bad = tf.data.Dataset.from_tensor_slices(_pixels(8) * 3.0).batch(8)
    testing.expect_value_error(lambda: model.fit(bad, epochs=1, verbose=0), "x in [-3")
    testing.expect_value_error(
        lambda: model.fit(np.full((8, 4, 4, 1), np.nan, "float32"), verbose=0), "finite"
    )
    testing.expect_value_error(
        lambda: model.fit(iter([_pixels(8)]), verbose=0), "tf.data.Dataset", "list_iterator"
    )
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert float(model.flow_steps[0].initialized.numpy()) == 0.0


def test_mixed_float16_scales_the_loss():
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        model = RealNVP(data_shape=(2,), num_coupling_layers=1, hidden_dim=4, seed=0)
        model.compile(optimizer=keras.optimizers.Adam(1e-3))
        assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
        history = model.fit(_moons(64), batch_size=32, epochs=1, verbose=0)
        assert np.isfinite(history.history["loss"][0])
    finally:
        keras.mixed_precision.set_global_policy("float32")


def test_training_raises_the_held_out_likelihood_of_moons():
    train, test = _moons(1024), make_moons(256, noise=0.05, random_state=1)[0].astype("float32")
    model = RealNVP(data_shape=(2,), num_coupling_layers=4, hidden_dim=32, seed=0)
    model.compile(optimizer=keras.optimizers.Adam(3e-3))
    before = model.log_prob(test).mean()
    model.fit(train, batch_size=128, epochs=15, verbose=0)
    after = model.log_prob(test).mean()
    # A 2-D standard normal fit of moons gives about -2.2 nats; the flow does much better.
    assert after > before + 0.5 and after > -1.5, (before, after)


def test_generate_is_seeded_traced_once_and_scaled_by_temperature():
    model = RealNVP(data_shape=(4,), num_coupling_layers=2, hidden_dim=8, seed=0)
    np.testing.assert_array_equal(model.generate(6, seed=2), model.generate(6, seed=2))
    cold = model.generate(400, seed=1, temperature=0.1)
    hot = model.generate(400, seed=1, temperature=1.0)
    assert cold.std() < 0.3 * hot.std()
    testing.assert_traced_once(
        model, lambda: model.generate(3, seed=0), lambda: model.generate(7, seed=1, batch_size=4)
    )


def test_image_samples_lie_in_minus_one_one():
    model = Glow(data_shape=(4, 4, 1), levels=2, steps_per_level=1, hidden_channels=4, seed=0)
    samples = model.generate(8, seed=0, temperature=3.0)
    assert samples.shape == (8, 4, 4, 1)
    assert samples.min() >= -1.0 and samples.max() <= 1.0


@pytest.mark.parametrize(
    "cls, kwargs",
    [
        (RealNVP, dict(num_coupling_layers=1, hidden_dim=4, levels=1)),
        (Glow, dict(levels=1, steps_per_level=1, hidden_channels=4)),
        (Glow, dict(levels=1, steps_per_level=1, hidden_channels=4, coupling="spline", num_bins=3)),
    ],
)
def test_save_load_continues_training(cls, kwargs, tmp_path):
    model = cls(data_shape=(4, 4, 1), seed=0, **kwargs)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    x = _pixels(16)
    model.fit(x, batch_size=8, epochs=1, shuffle=False, verbose=0)
    # Bit-identical: the same weights, optimizer state and noise stream after the load.
    loaded = testing.assert_save_load_continues_training(
        model,
        lambda m: m.fit(x, batch_size=8, epochs=1, shuffle=False, verbose=0),
        tmp_path,
        atol=0.0,
    )
    np.testing.assert_allclose(loaded.encode(x), model.encode(x), atol=1e-6)


@pytest.mark.parametrize("images", [False, True])
def test_two_replicas_make_the_update_of_one_device(images):
    x = _pixels(8) if images else _moons(8)

    def build():
        if images:
            model = Glow(
                data_shape=(4, 4, 1), levels=1, steps_per_level=1, hidden_channels=4, seed=0
            )
        else:
            model = RealNVP(data_shape=(2,), num_coupling_layers=2, hidden_dim=8, seed=0)
        model.compile(optimizer=keras.optimizers.SGD(0.1))
        return model

    testing.assert_replicas_match_one_device(
        build, lambda m: m.fit(x, batch_size=8, epochs=1, shuffle=False, verbose=0)
    )


def test_xla_and_no_xla_take_the_same_step_on_vectors():
    # Vectors draw no noise. Images do, and TensorFlow's stateless draws differ
    # between XLA and no XLA for the same seed (docs/models/flow.md), so their
    # steps are equal in distribution only.
    x = _moons(64)
    results = []
    for jit_compile in (False, True):
        model = Glow(data_shape=(2,), levels=1, steps_per_level=2, hidden_channels=8, seed=0)
        model.compile(optimizer=keras.optimizers.SGD(0.01), jit_compile=jit_compile)
        history = model.fit(x, batch_size=32, epochs=1, shuffle=False, verbose=0)
        results.append((history.history["loss"][0], model.get_weights()))
    (loss_a, weights_a), (loss_b, weights_b) = results
    assert loss_a == pytest.approx(loss_b, rel=1e-5)
    for a, b in zip(weights_a, weights_b):
        np.testing.assert_allclose(a, b, atol=1e-5)


def test_log_dets_stay_float32_under_mixed_precision():
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        model = Glow(data_shape=(4, 4, 1), levels=1, steps_per_level=1, hidden_channels=4, seed=0)
        model.compile(optimizer=keras.optimizers.Adam(1e-3))
        history = model.fit(_pixels(8), batch_size=8, epochs=1, verbose=0)
        coupling = model.flow_steps[2]
        assert coupling.network.compute_dtype == "bfloat16"
        _, log_det = model.forward(tf.constant(_pixels(2)))
        assert log_det.dtype == tf.float32
        assert np.isfinite(history.history["loss"][0])
    finally:
        keras.mixed_precision.set_global_policy("float32")


def test_a_bad_batch_changes_no_weight():
    model = Glow(data_shape=(4, 4, 1), levels=1, steps_per_level=1, hidden_channels=4, seed=0)
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    good = _pixels(8)
    model.fit(good, batch_size=8, epochs=1, verbose=0)
    before = [w.copy() for w in model.get_weights()]
    bad = tf.data.Dataset.from_tensor_slices(good * 3.0).batch(8)
    testing.expect_value_error(
        lambda: model.fit(bad, epochs=1, verbose=0), "[-1, 1]", "x in [-3, 3]"
    )
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    "build, names",
    [
        (lambda: RealNVP(data_shape=(6, 6, 1), levels=2), ("levels=2", "(6, 6, 1)")),
        (lambda: RealNVP(data_shape=(4, 4, 1), levels=2), (">= 8", "levels=2")),
        (lambda: RealNVP(data_shape=(1,)), ("data_shape=(1,)",)),
        (lambda: Glow(data_shape=(1,)), ("data_shape=(1,)",)),
        (lambda: Glow(data_shape=(4, 4, 1), steps_per_level=0), ("steps_per_level",)),
        (lambda: RealNVP(data_shape=(2,), hidden_dim=-1), ("hidden_dim",)),
        (lambda: flow_layers.AffineCoupling((2,), "diagonal"), ("mask='diagonal'",)),
        (lambda: RealNVP(data_shape=(2,), coupling="cubic"), ("coupling='cubic'",)),
        (lambda: Glow(data_shape=(2,), coupling="spline", num_bins=1), ("num_bins=1",)),
        (lambda: flow_layers.SplineCoupling((2,), "halves", tail_bound=0), ("tail_bound=0",)),
        (lambda: flow_layers.SplineCoupling((2,), "halves", num_bins=1000), ("num_bins=1000",)),
    ],
)
def test_bad_constructor_arguments_raise_value_errors_naming_them(build, names):
    testing.expect_value_error(build, *names)


def test_bad_call_arguments_raise_value_errors_naming_them():
    model = RealNVP(data_shape=(2,), num_coupling_layers=1, hidden_dim=4, seed=0)
    testing.expect_value_error(lambda: model.generate(2, temperature=0), "temperature=0")
    testing.expect_value_error(lambda: model.decode(np.zeros((2, 3))), "z with shape (2, 3)")
    testing.expect_value_error(lambda: model.log_prob(np.zeros((2, 3))), "x with shape (2, 3)")
    testing.expect_value_error(lambda: model.generate(2, steps=3), "steps")
