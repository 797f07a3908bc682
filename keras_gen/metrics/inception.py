"""The Inception network FID and IS are defined on, built in Keras.

This is the 2015-12-05 Inception graph of the original TTUR code, TF-GAN,
pytorch-fid and torch-fidelity (`FIDInceptionA/C/E_1/E_2` of pytorch-fid), not
`keras.applications.InceptionV3`: 1008 classes, batch norm with eps 1e-3,
average pools that do not count padding, max pooling in the last block, 2048-d
pool3 features and 1008 logits without bias. Layer names follow the PyTorch
module names, so pytorch-fid's weight file maps onto it one to one; the
original `inception-2015-12-05.tgz` is read through `inception_graph`.
"""

import hashlib
import os
import tarfile
import urllib.request

import keras
import numpy as np
import tensorflow as tf

from keras_gen.metrics import extractor_base, inception_graph, torch_checkpoint

WEIGHTS_FILE = "pt_inception-2015-12-05-6726825d.pth"
WEIGHTS_URL = (
    "https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/" + WEIGHTS_FILE
)
#: torch.hub's convention: the file name carries the first hex digits of its SHA-256.
WEIGHTS_SHA256_PREFIX = "6726825d"
GRAPH_FILE = "inception-2015-12-05.tgz"
GRAPH_URL = "http://download.tensorflow.org/models/image/imagenet/" + GRAPH_FILE
#: `fetch_weights(source=...)` -> (file name, URL).
WEIGHT_SOURCES = {"pytorch_fid": (WEIGHTS_FILE, WEIGHTS_URL), "tf_graph": (GRAPH_FILE, GRAPH_URL)}
FEATURE_DIM = 2048
NUM_CLASSES = 1008


def cache_dir():
    """Where weight files are looked for and fetched to: `$KERAS_GEN_CACHE` or ~/.keras/keras_gen."""
    return os.environ.get(
        "KERAS_GEN_CACHE", os.path.join(os.path.expanduser("~"), ".keras", "keras_gen")
    )


def _conv(x, name, filters, kernel, strides=1, padding="valid"):
    """BasicConv2d: convolution without bias, batch norm (eps 1e-3), ReLU."""
    x = keras.layers.Conv2D(
        filters, kernel, strides=strides, padding=padding, use_bias=False, name=f"{name}.conv"
    )(x)
    x = keras.layers.BatchNormalization(epsilon=1e-3, name=f"{name}.bn")(x)
    return keras.layers.ReLU(name=f"{name}.relu")(x)


def _avg_pool(x, name):
    # TensorFlow's SAME average pooling divides by the number of valid inputs:
    # PyTorch's count_include_pad=False.
    return keras.layers.AveragePooling2D(3, strides=1, padding="same", name=name)(x)


def _block_a(x, name, pool_features):
    b1 = _conv(x, f"{name}.branch1x1", 64, 1)
    b5 = _conv(x, f"{name}.branch5x5_1", 48, 1)
    b5 = _conv(b5, f"{name}.branch5x5_2", 64, 5, padding="same")
    b3 = _conv(x, f"{name}.branch3x3dbl_1", 64, 1)
    b3 = _conv(b3, f"{name}.branch3x3dbl_2", 96, 3, padding="same")
    b3 = _conv(b3, f"{name}.branch3x3dbl_3", 96, 3, padding="same")
    bp = _conv(_avg_pool(x, f"{name}.avg_pool"), f"{name}.branch_pool", pool_features, 1)
    return keras.layers.Concatenate(name=name)([b1, b5, b3, bp])


def _block_b(x, name):
    b3 = _conv(x, f"{name}.branch3x3", 384, 3, strides=2)
    bd = _conv(x, f"{name}.branch3x3dbl_1", 64, 1)
    bd = _conv(bd, f"{name}.branch3x3dbl_2", 96, 3, padding="same")
    bd = _conv(bd, f"{name}.branch3x3dbl_3", 96, 3, strides=2)
    bp = keras.layers.MaxPooling2D(3, strides=2, name=f"{name}.max_pool")(x)
    return keras.layers.Concatenate(name=name)([b3, bd, bp])


def _block_c(x, name, c7):
    b1 = _conv(x, f"{name}.branch1x1", 192, 1)
    b7 = _conv(x, f"{name}.branch7x7_1", c7, 1)
    b7 = _conv(b7, f"{name}.branch7x7_2", c7, (1, 7), padding="same")
    b7 = _conv(b7, f"{name}.branch7x7_3", 192, (7, 1), padding="same")
    bd = _conv(x, f"{name}.branch7x7dbl_1", c7, 1)
    bd = _conv(bd, f"{name}.branch7x7dbl_2", c7, (7, 1), padding="same")
    bd = _conv(bd, f"{name}.branch7x7dbl_3", c7, (1, 7), padding="same")
    bd = _conv(bd, f"{name}.branch7x7dbl_4", c7, (7, 1), padding="same")
    bd = _conv(bd, f"{name}.branch7x7dbl_5", 192, (1, 7), padding="same")
    bp = _conv(_avg_pool(x, f"{name}.avg_pool"), f"{name}.branch_pool", 192, 1)
    return keras.layers.Concatenate(name=name)([b1, b7, bd, bp])


def _block_d(x, name):
    b3 = _conv(x, f"{name}.branch3x3_1", 192, 1)
    b3 = _conv(b3, f"{name}.branch3x3_2", 320, 3, strides=2)
    b7 = _conv(x, f"{name}.branch7x7x3_1", 192, 1)
    b7 = _conv(b7, f"{name}.branch7x7x3_2", 192, (1, 7), padding="same")
    b7 = _conv(b7, f"{name}.branch7x7x3_3", 192, (7, 1), padding="same")
    b7 = _conv(b7, f"{name}.branch7x7x3_4", 192, 3, strides=2)
    bp = keras.layers.MaxPooling2D(3, strides=2, name=f"{name}.max_pool")(x)
    return keras.layers.Concatenate(name=name)([b3, b7, bp])


def _block_e(x, name, max_pool):
    b1 = _conv(x, f"{name}.branch1x1", 320, 1)
    b3 = _conv(x, f"{name}.branch3x3_1", 384, 1)
    b3 = keras.layers.Concatenate(name=f"{name}.branch3x3")(
        [
            _conv(b3, f"{name}.branch3x3_2a", 384, (1, 3), padding="same"),
            _conv(b3, f"{name}.branch3x3_2b", 384, (3, 1), padding="same"),
        ]
    )
    bd = _conv(x, f"{name}.branch3x3dbl_1", 448, 1)
    bd = _conv(bd, f"{name}.branch3x3dbl_2", 384, 3, padding="same")
    bd = keras.layers.Concatenate(name=f"{name}.branch3x3dbl")(
        [
            _conv(bd, f"{name}.branch3x3dbl_3a", 384, (1, 3), padding="same"),
            _conv(bd, f"{name}.branch3x3dbl_3b", 384, (3, 1), padding="same"),
        ]
    )
    if max_pool:  # pytorch-fid's FIDInceptionE_2: the TF graph max-pools here
        pooled = keras.layers.MaxPooling2D(3, strides=1, padding="same", name=f"{name}.max_pool")(x)
    else:
        pooled = _avg_pool(x, f"{name}.avg_pool")
    bp = _conv(pooled, f"{name}.branch_pool", 192, 1)
    return keras.layers.Concatenate(name=name)([b1, b3, bd, bp])


def build_inception_fid():
    """The FID Inception network on 299x299x3 inputs already scaled to [-1, 1].

    Returns:
        A `keras.Model` returning `{"features": (n, 2048), "logits": (n, 1008)}`.
    """
    inputs = keras.Input((299, 299, 3), name="images")
    x = _conv(inputs, "Conv2d_1a_3x3", 32, 3, strides=2)
    x = _conv(x, "Conv2d_2a_3x3", 32, 3)
    x = _conv(x, "Conv2d_2b_3x3", 64, 3, padding="same")
    x = keras.layers.MaxPooling2D(3, strides=2, name="maxpool1")(x)
    x = _conv(x, "Conv2d_3b_1x1", 80, 1)
    x = _conv(x, "Conv2d_4a_3x3", 192, 3)
    x = keras.layers.MaxPooling2D(3, strides=2, name="maxpool2")(x)
    x = _block_a(x, "Mixed_5b", 32)
    x = _block_a(x, "Mixed_5c", 64)
    x = _block_a(x, "Mixed_5d", 64)
    x = _block_b(x, "Mixed_6a")
    for name, c7 in (("Mixed_6b", 128), ("Mixed_6c", 160), ("Mixed_6d", 160), ("Mixed_6e", 192)):
        x = _block_c(x, name, c7)
    x = _block_d(x, "Mixed_7a")
    x = _block_e(x, "Mixed_7b", max_pool=False)
    x = _block_e(x, "Mixed_7c", max_pool=True)
    features = keras.layers.GlobalAveragePooling2D(name="pool3")(x)
    logits = keras.layers.Dense(NUM_CLASSES, use_bias=False, name="fc")(features)
    return keras.Model(inputs, {"features": features, "logits": logits}, name="inception_fid")


def torch_weight_shapes(model):
    """Name -> shape of every tensor of the PyTorch state dict the model maps to."""
    shapes = {}
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D):
            kh, kw, cin, cout = layer.kernel.shape
            shapes[f"{layer.name}.weight"] = (cout, cin, kh, kw)
        elif isinstance(layer, keras.layers.BatchNormalization):
            prefix = layer.name
            for key in ("weight", "bias", "running_mean", "running_var"):
                shapes[f"{prefix}.{key}"] = tuple(layer.gamma.shape)
        elif isinstance(layer, keras.layers.Dense):
            shapes["fc.weight"] = (layer.kernel.shape[1], layer.kernel.shape[0])
    return shapes


def load_torch_state_dict(model, state):
    """Copies a pytorch-fid state dict (name -> numpy array) into the Keras network.

    `fc.bias` is ignored: the logits of the Inception Score have no bias.

    Raises:
        ValueError: for a missing tensor or one of another shape.
    """
    expected = torch_weight_shapes(model)
    missing = sorted(set(expected) - set(state))
    if missing:
        raise ValueError(
            f"The weights lack {len(missing)} tensors of the FID Inception "
            f"network, e.g. {missing[:3]}"
        )
    for name, shape in expected.items():
        if tuple(state[name].shape) != shape:
            raise ValueError(
                f"Tensor {name} has shape {tuple(state[name].shape)}; the FID "
                f"Inception network needs {shape}"
            )
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D):
            layer.kernel.assign(np.transpose(state[f"{layer.name}.weight"], (2, 3, 1, 0)))
        elif isinstance(layer, keras.layers.BatchNormalization):
            p = layer.name
            layer.set_weights(
                [
                    state[f"{p}.weight"],
                    state[f"{p}.bias"],
                    state[f"{p}.running_mean"],
                    state[f"{p}.running_var"],
                ]
            )
        elif isinstance(layer, keras.layers.Dense):
            layer.kernel.assign(np.transpose(state["fc.weight"]))


#: `InceptionFID(protocol=...)`: the input handling of each reference implementation, in words
#: (the protocol's `resize` entry). See docs/metrics.md for what each equals and on what.
FID_PROTOCOLS = {
    "ttur": "uint8, tf1 bilinear 299x299 (no half-pixel centres), (x-128)/128",
    "pytorch_fid": "uint8, x/255, bilinear 299x299 with half-pixel centres "
    "(F.interpolate, align_corners=False), 2x-1",
    "clean": "uint8, PIL bicubic 299x299 per channel on float (mode F), clip [0, 255], (x-128)/128",
}


def check_fid_protocol(protocol):
    """Returns `protocol` if it names one of `FID_PROTOCOLS`; raises ValueError otherwise."""
    if protocol not in FID_PROTOCOLS:
        raise ValueError(
            f"`protocol` must be one of {', '.join(map(repr, FID_PROTOCOLS))}. "
            f"Received: protocol={protocol!r}"
        )
    return protocol


def quantize(images):
    """[-1, 1] images -> 8-bit pixel values 0..255 (as floats), grayscale repeated to RGB."""
    images = tf.convert_to_tensor(images, tf.float32)
    if images.shape[-1] == 1:
        images = tf.repeat(images, 3, axis=-1)
    return tf.round(tf.clip_by_value((images + 1.0) * 127.5, 0.0, 255.0))


def _bicubic(x):
    # Pillow's bicubic_filter (Resample.c): Keys' cubic convolution with a = -0.5, support 2.
    a = -0.5
    x = tf.abs(x)
    near = ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0
    far = (((x - 5.0) * x + 8.0) * x - 4.0) * a
    return tf.where(x < 1.0, near, tf.where(x < 2.0, far, tf.zeros_like(x)))


def pil_bicubic_weights(in_size, out_size=299):
    """`(out_size, in_size)` float64 matrix of Pillow's BICUBIC resize along one axis.

    Pillow's `precompute_coeffs`: output pixel `i` centres at `(i + 0.5) * scale`
    in the input; on downscaling the filter widens by `scale` (antialiasing);
    taps run over the rounded support, clipped to the image, and are
    normalised to sum to one.
    """
    size = tf.cast(in_size, tf.float64)
    scale = size / out_size
    filterscale = tf.maximum(scale, 1.0)
    support = 2.0 * filterscale
    centre = (tf.range(out_size, dtype=tf.float64) + 0.5) * scale  # (out,)
    first = tf.maximum(tf.floor(centre - support + 0.5), 0.0)[:, None]
    end = tf.minimum(tf.floor(centre + support + 0.5), size)[:, None]
    taps = tf.range(size, dtype=tf.float64)[None, :]  # (1, in)
    weights = _bicubic((taps - centre[:, None] + 0.5) / filterscale)
    weights = tf.where((taps >= first) & (taps < end), weights, tf.zeros_like(weights))
    return weights / tf.reduce_sum(weights, axis=1, keepdims=True)


def _resize_pil_bicubic(pixels, size=299):
    """clean-fid's resize: each channel as a float image through PIL's bicubic, then clipped."""
    rows = tf.cast(pil_bicubic_weights(tf.shape(pixels)[1], size), tf.float32)
    columns = tf.cast(pil_bicubic_weights(tf.shape(pixels)[2], size), tf.float32)
    # Pillow resizes horizontally first, keeping the intermediate image in float32.
    wide = tf.einsum("nhwc,pw->nhpc", pixels, columns)  # (n, h, 299, c)
    resized = tf.einsum("oh,nhpc->nopc", rows, wide)  # (n, 299, 299, c)
    return tf.clip_by_value(resized, 0.0, 255.0)


def preprocess(images, protocol="ttur"):
    """The network input of a reference FID implementation, from [-1, 1] images.

    Every protocol quantizes to 8-bit pixels first (the reference tools read
    image files); then:

    - `"ttur"` (TTUR, torch-fidelity): TF1 `ResizeBilinear` to 299x299
      (`align_corners=False`, no half-pixel centres), `(x - 128) / 128`.
    - `"pytorch_fid"`: pytorch-fid's `x / 255`, `F.interpolate(mode="bilinear",
      align_corners=False)` (half-pixel centres), `2x - 1`.
    - `"clean"` (clean-fid, Parmar et al. 2022, arXiv:2104.11222): each channel
      resized as a float image by PIL's bicubic filter, clipped to [0, 255],
      `(x - 128) / 128`.

    Returns:
        `(n, 299, 299, 3)` float32 in about [-1, 1].
    """
    check_fid_protocol(protocol)
    pixels = quantize(images)
    if protocol == "ttur":
        resized = tf.raw_ops.ResizeBilinear(
            images=pixels, size=[299, 299], align_corners=False, half_pixel_centers=False
        )
        return (resized - 128.0) / 128.0
    if protocol == "pytorch_fid":
        resized = tf.raw_ops.ResizeBilinear(
            images=pixels / 255.0, size=[299, 299], align_corners=False, half_pixel_centers=True
        )
        return 2.0 * resized - 1.0
    return (_resize_pil_bicubic(pixels) - 128.0) / 128.0


def state_dict_hash(state, length=16):
    """SHA-256 of the tensors the network uses (names, shapes, float32 bytes), first `length` hex digits.

    The protocol records this rather than a file hash, so statistics made from
    pytorch-fid's `.pth` and from the original `.tgz` (the same tensors) stay
    comparable, and any other weights do not.
    """
    digest = hashlib.sha256()
    for name in sorted(state):
        if name == "fc.bias":
            continue
        array = np.ascontiguousarray(state[name], dtype="float32")
        digest.update(f"{name}{array.shape}".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()[:length]


def load_weights(path):
    """The pytorch-fid state dict of a weight file: `.pth` (pytorch-fid) or `.tgz`/`.pb` (original graph)."""
    if str(path).endswith(".pb") or tarfile.is_tarfile(path):
        return inception_graph.graph_state_dict(path)
    return torch_checkpoint.load_state_dict(path)


def default_weights():
    """The first of `WEIGHTS_FILE` and `GRAPH_FILE` present in `cache_dir()`, else None."""
    for name in (WEIGHTS_FILE, GRAPH_FILE):
        path = os.path.join(cache_dir(), name)
        if os.path.exists(path):
            return path
    return None


class InceptionFID(extractor_base.FeatureExtractor):
    """FID/IS feature extractor: `extractor(images)` -> 2048-d features and 1008 logits.

    Images in [-1, 1] (grayscale is repeated to three channels) are quantized
    to uint8, then resized to 299x299 and scaled as the reference
    implementation named by `protocol` does (`preprocess`). The protocol is
    recorded as `fid_protocol` in `extractor.protocol`, and statistics of
    different protocols refuse to compare.

    Args:
        weights: path of pytorch-fid's `pt_inception-2015-12-05-6726825d.pth`
            or of the original `inception-2015-12-05.tgz` (or the
            `classify_image_graph_def.pb` inside it). Default: whichever of
            the two is in `cache_dir()`; `keras-gen weights fetch` downloads
            them there when online.
        batch_size: images per forward pass.
        state_dict: pytorch-fid-named tensors to use instead of a file.
        protocol: str. The input handling, one of `FID_PROTOCOLS`: `"ttur"`
            (the default: TTUR's and torch-fidelity's TF1 bilinear resize and
            `(x - 128) / 128`), `"pytorch_fid"` (pytorch-fid's `F.interpolate`
            resize and `2x - 1`) or `"clean"` (clean-fid's PIL bicubic resize).
            Stored as `fid_protocol`.

    Raises:
        ValueError: for an unknown `protocol`.
        FileNotFoundError: when the weight file is missing, saying which file
            to get and where to put it.

    Example:
    ```python
    extractor = InceptionFID(protocol="clean")
    features = extractor(images)["features"]  # images in [-1, 1]
    extractor.protocol["fid_protocol"]  # "clean"
    ```
    """

    name = "inception_fid"
    resize = FID_PROTOCOLS["ttur"]
    feature_dim = FEATURE_DIM

    def __init__(self, weights=None, batch_size=50, state_dict=None, protocol="ttur"):
        self.fid_protocol = check_fid_protocol(protocol)
        self.resize = FID_PROTOCOLS[protocol]
        self.model = build_inception_fid()
        if state_dict is None:
            weights = weights or default_weights()
            if weights is None or not os.path.exists(weights):
                raise FileNotFoundError(
                    f"The FID Inception weights are not at {weights or cache_dir()}. Get "
                    f"{WEIGHTS_FILE} from {WEIGHTS_URL} or {GRAPH_FILE} from {GRAPH_URL} (or run "
                    "`keras-gen weights fetch` where there is internet) and put it in "
                    f"{cache_dir()} (or set KERAS_GEN_CACHE), or pass weights=PATH."
                )
            state_dict = load_weights(weights)
        load_torch_state_dict(self.model, state_dict)
        super().__init__(state_dict_hash(state_dict), batch_size)

    @property
    def protocol(self):
        """The base protocol plus `fid_protocol`, the reference implementation's name."""
        return {**super().protocol, "fid_protocol": self.fid_protocol}

    def forward(self, batch):
        return self.model(preprocess(batch, self.fid_protocol), training=False)


def _check_graph_file(path):
    state = inception_graph.graph_state_dict(path)
    load_torch_state_dict(build_inception_fid(), state)


def _download(url, path):
    """Writes the file at `url` to `path`; returns its SHA-256 in hex."""
    digest = hashlib.sha256()
    with urllib.request.urlopen(url, timeout=60) as response, open(path, "wb") as out:
        for chunk in iter(lambda: response.read(1 << 20), b""):
            digest.update(chunk)
            out.write(chunk)
    return digest.hexdigest()


def _check_download(path, name, source, digest, sha256):
    """Raises ValueError unless the downloaded weights at `path` pass their check."""
    if source == "pytorch_fid" and not digest.startswith(WEIGHTS_SHA256_PREFIX):
        raise ValueError(
            f"The downloaded {name} has SHA-256 {digest}, which "
            f"does not start with {WEIGHTS_SHA256_PREFIX}; it was deleted."
        )
    if sha256 is not None and digest != sha256.lower():
        raise ValueError(
            f"The downloaded {name} has SHA-256 {digest}, not sha256={sha256!r}; it was deleted."
        )
    if source == "tf_graph":
        try:
            _check_graph_file(path)
        except ValueError as error:
            raise ValueError(
                f"The downloaded {name} is not the FID Inception graph ({error}); it was deleted."
            ) from error


def fetch_weights(directory=None, source="pytorch_fid", url=None, sha256=None):
    """Downloads FID Inception weights into `directory`, checked before they are kept.

    The file is written under a temporary name and renamed only after the check:

    - `source="pytorch_fid"`: pytorch-fid's `.pth`, whose SHA-256 must start with
      `WEIGHTS_SHA256_PREFIX` (the digits in its name, torch.hub's convention).
    - `source="tf_graph"`: the original `inception-2015-12-05.tgz`. Its
      publisher states no digest, so the full SHA-256 is compared with
      `sha256` when given, and the archive must in any case hold every tensor
      of the FID network with the right shape.

    Returns:
        The path of the weight file.

    Raises:
        ValueError: if the downloaded file fails its check (it is deleted).
    """
    if source not in WEIGHT_SOURCES:
        raise ValueError(
            f"`source` must be one of {sorted(WEIGHT_SOURCES)}. Received: source={source!r}"
        )
    name, default_url = WEIGHT_SOURCES[source]
    directory = directory or cache_dir()
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, name)
    if os.path.exists(path):
        return path
    temporary = path + ".part"
    digest = _download(url or default_url, temporary)
    try:
        _check_download(temporary, name, source, digest, sha256)
    except ValueError:
        os.remove(temporary)
        raise
    os.replace(temporary, path)
    return path


class KerasInceptionV3(extractor_base.FeatureExtractor):
    """`keras.applications.InceptionV3` pool features and logits, for convenience only.

    Its weights, architecture (1000 classes, padded average pools) and
    preprocessing differ from the FID network: numbers made with it are NOT
    comparable with published FID or IS values, and its protocol says so.

    Args:
        weights: `"imagenet"` (downloaded by Keras), a path, or None (random).
        batch_size: images per forward pass.
    """

    name = "keras_inception_v3 (not comparable with published FID/IS)"
    resize = "bilinear 299x299 (tf.image.resize), inputs in [-1, 1]"
    feature_dim = FEATURE_DIM

    def __init__(self, weights="imagenet", batch_size=50):
        self.model = keras.applications.InceptionV3(
            weights=weights, include_top=True, classifier_activation=None
        )
        self.features_model = keras.Model(
            self.model.input,
            {"features": self.model.get_layer("avg_pool").output, "logits": self.model.output},
        )
        super().__init__(str(weights), batch_size)

    def forward(self, batch):
        return self.features_model(
            extractor_base.resize_images(batch, (299, 299), channels=3), training=False
        )
