import numpy as np
import pytest
import tensorflow as tf

from keras_gen import networks


@pytest.mark.parametrize("shape", [(28, 28, 1), (32, 32, 3), (64, 64, 3)])
def test_dcgan_pair_fits_common_image_shapes(shape):
    g = networks.dcgan_generator(16, shape, base_filters=8)
    d = networks.dcgan_discriminator(shape, base_filters=8)
    x = g(np.random.normal(size=(2, 16)).astype("float32"))
    assert tuple(x.shape) == (2, *shape)
    assert np.abs(x.numpy()).max() <= 1.0
    assert tuple(d(x).shape) == (2, 1)


def test_mlp_pair_for_points_and_flat_images():
    for shape in [(2,), (784,)]:
        g = networks.mlp_generator(100, shape)
        d = networks.mlp_discriminator(shape)
        assert [w.shape for w in g.weights[::2]] == [(100, 256), (256, 256), (256, shape[0])]
        x = g(np.zeros((3, 100), "float32"))
        assert tuple(x.shape) == (3, *shape)
        assert tuple(d(x).shape) == (3, 1)


def test_mlp_options_for_toy_data():
    g = networks.mlp_generator(
        2,
        (2,),
        hidden_units=(8, 8),
        activation="relu",
        normalization="batch",
        output_activation=None,
    )
    names = [layer.__class__.__name__ for layer in g.layers]
    assert names.count("BatchNormalization") == 2 and names.count("ReLU") == 2
    assert g.layers[-1].name == "linear"
    tanh = networks.mlp_generator(2, (2,), hidden_units=(8,))
    assert tanh.layers[-1].name == "tanh"
    d = networks.mlp_discriminator((2,), hidden_units=(8,), activation="relu")
    assert any(layer.__class__.__name__ == "ReLU" for layer in d.layers)


@pytest.mark.parametrize("shape", [(28, 28, 1), (32, 32, 3)])
def test_variational_and_diffusion_networks_fit_image_shapes(shape):
    encoder = networks.conv_encoder(shape, 8, num_classes=10)
    decoder = networks.conv_decoder(8, shape, num_classes=10)
    labels = np.array([1, 2], "int32")
    posterior = encoder([np.zeros((2, *shape), "float32"), labels])
    assert tuple(posterior.shape) == (2, 16)
    assert tuple(decoder([posterior[:, :8], tf.constant(labels)]).shape) == (2, *shape)
    codes = networks.vq_encoder(shape, 4)(np.zeros((2, *shape), "float32"))
    assert tuple(codes.shape) == (2, shape[0] // 4, shape[1] // 4, 4)
    assert networks.vq_decoder(codes.shape[1:], shape).output_shape == (None, *shape)
    unet = networks.unet(
        shape,
        base_channels=8,
        channel_multipliers=(1, 2),
        groups=4,
        attention_resolutions=(shape[0] // 2,),
        num_classes=3,
    )
    out = unet([np.zeros((2, *shape), "float32"), np.array([0.0, 999.0], "float32"), labels])
    assert tuple(out.shape) == (2, *shape)


def test_projection_discriminator_depends_on_labels():
    d = networks.dcgan_discriminator((28, 28, 1), num_classes=10, base_filters=8)
    x = np.random.normal(size=(2, 28, 28, 1)).astype("float32")
    d.get_layer("class_projection").set_weights(
        [np.random.normal(size=d.get_layer("class_projection").weights[0].shape)]
    )
    a = d([x, np.array([0, 0])]).numpy()
    b = d([x, np.array([3, 3])]).numpy()
    assert not np.allclose(a, b)


def test_auxiliary_discriminator_returns_class_logits():
    d = networks.dcgan_discriminator(
        (28, 28, 1), num_classes=10, conditioning="auxiliary", base_filters=8
    )
    logits, classes = d(np.zeros((2, 28, 28, 1), "float32"))
    assert tuple(logits.shape) == (2, 1) and tuple(classes.shape) == (2, 10)


def test_spectral_norm_wraps_every_weight_layer():
    d = networks.dcgan_discriminator((32, 32, 3), base_filters=8, spectral_norm=True)
    wrapped = [layer for layer in d.layers if layer.__class__.__name__ == "SpectralNormalization"]
    assert len(wrapped) == 4  # three convolutions and the logit


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: networks.dcgan_generator(16, (30, 30, 1)), r"data_shape=\(30, 30, 1\)"),
        (lambda: networks.dcgan_generator(16, (28, 32, 1)), r"data_shape=\(28, 32, 1\)"),
        (lambda: networks.dcgan_discriminator((28, 28)), r"data_shape=\(28, 28\)"),
        (lambda: networks.mlp_generator(0, (2,)), "latent_dim=0"),
        (
            lambda: networks.dcgan_discriminator((28, 28, 1), normalization="group"),
            "normalization='group'",
        ),
        (lambda: networks.mlp_discriminator((2,), num_classes=1), "num_classes=1"),
        (lambda: networks.mlp_generator(2, (2,), activation="elu"), "activation='elu'"),
        (lambda: networks.mlp_generator(2, (2,), normalization="layer"), "normalization='layer'"),
        (
            lambda: networks.mlp_generator(2, (2,), output_activation="sigmoid"),
            "output_activation='sigmoid'",
        ),
        (lambda: networks.conv_encoder((30, 30, 1), 4), r"data_shape=\(30, 30, 1\)"),
        (
            lambda: networks.unet((28, 28, 1), channel_multipliers=(1, 2, 2, 2)),
            r"image_shape=\(28, 28, 1\)",
        ),
        (lambda: networks.unet((28, 28, 1), base_channels=12, groups=8), "groups=8"),
        (lambda: networks.vq_decoder((7, 7, 4), (32, 32, 1)), "grid_shape"),
        (lambda: networks.code_transformer(1, 4), "num_embeddings=1"),
    ],
)
def test_bad_arguments_are_named(call, match):
    with pytest.raises(ValueError, match=match):
        call()
