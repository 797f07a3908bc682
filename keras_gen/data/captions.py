"""Captioned digits: mnist5k images with captions built from their label and two measured attributes.

Each image's caption names its digit and two attributes measured on the image
itself by `measure_attributes`, so the same code scores generated images:

- **stroke thickness**, the mean stroke width in pixels, estimated as
  `2 * area / perimeter` of the inked pixels (a stroke of width `w` and length
  `L` has area `w L` and perimeter about `2 L`): `"thin"` below
  `THICKNESS_THRESHOLD` pixels, `"bold"` from it on;
- **slant**, the shear `-mu11 / mu02` of the ink's second central moments
  (the horizontal shift per pixel upwards, the measure classic MNIST
  deskewing removes; positive leans right): `"leaning left"` below
  `-SLANT_THRESHOLD`, `"leaning right"` above `SLANT_THRESHOLD`, `"upright"`
  between.

The thresholds were measured on all 5,000 mnist5k images: the thickness
threshold is their median width (1.945 px), and a slant of 0.15 (8.5 degrees)
leaves 15% of them leaning left, 38% upright and 47% leaning right (MNIST
digits lean right). Every image gets each of `len(TEMPLATES)` phrasings
("a bold 7 leaning right", "seven, thin strokes, upright", ...), and
`data.load("captioned_mnist5k")` yields one `(image, caption)` pair per image
and phrasing. Captions are byte-level tokens (UTF-8 bytes, the vocabulary of
`data.load_text`), padded with byte 0 to `CAPTION_LENGTH`.
"""

import re

import numpy as np
import tensorflow as tf

from keras_gen.data import epoch_order

#: Bytes of a caption token sequence: captions and prompts are padded to it.
CAPTION_LENGTH = 64
#: The padding token (byte 0 occurs in no caption or text prompt).
PAD = 0
#: Mean stroke width in pixels from which a digit is "bold" (mnist5k's median).
THICKNESS_THRESHOLD = 1.945
#: Shear beyond which a digit leans (0.15: 8.5 degrees from upright).
SLANT_THRESHOLD = 0.15
#: Ink: pixels above the middle grey (0 in [-1, 1], 127.5 in [0, 255]).
INK_LEVEL = 0.0

DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
THICKNESS_WORDS = ("thin", "bold")
SLANT_WORDS = ("leaning left", "upright", "leaning right")
#: The phrasings; `{digit}` is the numeral, `{word}` its name.
TEMPLATES = (
    "a {thickness} {digit} {slant}",
    "{word}, {thickness} strokes, {slant}",
    "the digit {digit}, {slant}, in {thickness} strokes",
)

#: Prompts of the pictures of a text-to-image model: every digit thin and upright, bold and
#: upright, bold and leaning right (three prompts per digit, digit by digit).
GRID_PROMPTS = tuple(
    f"a {thickness} {digit} {slant}"
    for digit in range(10)
    for thickness, slant in (("thin", "upright"), ("bold", "upright"), ("bold", "leaning right"))
)


def _as_unit_images(images, name="images"):
    """`(n, h, w)` float64 ink intensities in [0, 1] from uint8 or [-1, 1] images."""
    array = np.asarray(images)
    if array.ndim == 4 and array.shape[-1] == 1:
        array = array[..., 0]
    if array.ndim != 3 or array.shape[0] == 0 or min(array.shape[1:]) < 2:
        raise ValueError(
            f"`{name}` must have shape (n, height, width) or (n, height, width, 1) with n > 0. "
            f"Received: {name} with shape {array.shape}"
        )
    if array.dtype == np.uint8:
        return array.astype("float64") / 255.0
    if not np.issubdtype(array.dtype, np.floating) or not np.all(np.isfinite(array)):
        raise ValueError(
            f"`{name}` must be uint8 or finite floats in [-1, 1]. Received: dtype {array.dtype}"
        )
    return (np.clip(array.astype("float64"), -1.0, 1.0) + 1.0) / 2.0


def measure_attributes(images):
    """Stroke thickness (pixels) and slant (shear) of each image.

    Args:
        images: `(n, h, w)` or `(n, h, w, 1)`, uint8 in [0, 255] or floats in
            [-1, 1] (a generator's range).

    Returns:
        A dict of float arrays of shape `(n,)`: `"thickness"`, the mean stroke
        width `2 * area / perimeter` of the pixels above the middle grey (the
        perimeter counts the edges between ink and background pixels, 0 for
        an image without ink); and `"slant"`, `-mu11 / mu02` of the intensity's
        central moments with rows growing downwards (positive: the top leans
        right; 0 for an image without ink or a flat one).

    Example:
    >>> bar = np.zeros((1, 28, 28), "uint8"); bar[0, 4:24, 12:15] = 255
    >>> measure_attributes(bar)["thickness"].round(2)
    array([2.61])
    """
    x = _as_unit_images(images)
    ink = x > (INK_LEVEL + 1.0) / 2.0
    area = ink.sum((1, 2)).astype("float64")
    padded = np.pad(ink, ((0, 0), (1, 1), (1, 1)))
    perimeter = (padded[:, 1:, :] != padded[:, :-1, :]).sum((1, 2)) + (
        padded[:, :, 1:] != padded[:, :, :-1]
    ).sum((1, 2))
    thickness = np.where(perimeter > 0, 2.0 * area / np.maximum(perimeter, 1), 0.0)
    rows, cols = np.mgrid[0 : x.shape[1], 0 : x.shape[2]].astype("float64")
    mass = x.sum((1, 2))
    safe_mass = np.where(mass > 0, mass, 1.0)
    dy = rows[None] - ((x * rows).sum((1, 2)) / safe_mass)[:, None, None]
    dx = cols[None] - ((x * cols).sum((1, 2)) / safe_mass)[:, None, None]
    mu11 = (x * dx * dy).sum((1, 2)) / safe_mass
    mu02 = (x * dy * dy).sum((1, 2)) / safe_mass
    slant = np.where((mass > 0) & (mu02 > 1e-9), -mu11 / np.where(mu02 > 1e-9, mu02, 1.0), 0.0)
    return {"thickness": thickness, "slant": slant}


def attribute_classes(attributes):
    """The words' indices: `"thickness"` into `THICKNESS_WORDS`, `"slant"` into `SLANT_WORDS`."""
    thickness = (np.asarray(attributes["thickness"]) >= THICKNESS_THRESHOLD).astype("int32")
    slant = np.asarray(attributes["slant"])
    slant_class = np.where(slant < -SLANT_THRESHOLD, 0, np.where(slant > SLANT_THRESHOLD, 2, 1))
    return {"thickness": thickness, "slant": slant_class.astype("int32")}


def caption(digit, thickness, slant, template=0):
    """One caption from class indices, e.g. `caption(7, 1, 2)` -> `"a bold 7 leaning right"`."""
    if not 0 <= int(template) < len(TEMPLATES):
        raise ValueError(
            f"`template` must be in [0, {len(TEMPLATES)}). Received: template={template!r}"
        )
    return TEMPLATES[int(template)].format(
        digit=int(digit),
        word=DIGIT_WORDS[int(digit)],
        thickness=THICKNESS_WORDS[int(thickness)],
        slant=SLANT_WORDS[int(slant)],
    )


def captions_for(images, digits, template=0):
    """Captions of images with known digits, from the images' measured attributes."""
    return _captions_of(digits, attribute_classes(measure_attributes(images)), template)


def _captions_of(digits, classes, template):
    digits = np.asarray(digits)
    if digits.shape != classes["slant"].shape:
        raise ValueError(
            f"`digits` must hold one label per image ({classes['slant'].shape[0]}). "
            f"Received: digits with shape {digits.shape}"
        )
    return [
        caption(d, t, s, template)
        for d, t, s in zip(digits, classes["thickness"], classes["slant"])
    ]


_NUMERAL = re.compile(r"\b([0-9])\b")
_WORD = re.compile(r"\b(" + "|".join(DIGIT_WORDS) + r")\b")


def parse_caption(text):
    """What a caption or prompt asks for: `{"digit", "thickness", "slant"}`, None where it is silent.

    The digit is the first numeral or digit name; thickness and slant are the
    class indices of the first of their words found (`"bold"`, `"leaning
    right"`, ...), as whole words ("something" holds no "thin"). Matching is
    case-insensitive.
    """
    text = str(text).lower()
    numeral, word = _NUMERAL.search(text), _WORD.search(text)
    digit = None
    if numeral and (not word or numeral.start() < word.start()):
        digit = int(numeral.group(1))
    elif word:
        digit = DIGIT_WORDS.index(word.group(1))

    def first(words):
        found = [
            (match.start(), i)
            for i, w in enumerate(words)
            for match in [re.search(r"\b" + re.escape(w) + r"\b", text)]
            if match
        ]
        return min(found)[1] if found else None

    return {"digit": digit, "thickness": first(THICKNESS_WORDS), "slant": first(SLANT_WORDS)}


def encode_captions(texts, length=CAPTION_LENGTH, name="prompts"):
    """Byte tokens `(n, length)` int32 of non-empty strings, padded with `PAD`.

    Raises:
        ValueError: for a non-string, an empty string, a string of more than
            `length` UTF-8 bytes or one holding byte 0; the message names `name`.
    """
    if isinstance(texts, (str, bytes)) or not hasattr(texts, "__len__") or len(texts) == 0:
        raise ValueError(
            f"`{name}` must be a non-empty list of strings. Received: {name}={texts!r:.80}"
        )
    tokens = np.full((len(texts), length), PAD, "int32")
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise ValueError(
                f"`{name}` must hold strings. Received: {name}[{i}] of type {type(text).__name__}"
            )
        encoded = text.encode("utf-8")
        if not encoded.strip():
            raise ValueError(f"`{name}[{i}]` is empty. Received: {name}[{i}]={text!r}")
        if len(encoded) > length or b"\0" in encoded:
            raise ValueError(
                f"`{name}[{i}]` must be at most {length} UTF-8 bytes without NUL. "
                f"Received: {len(encoded)} bytes, {text[:80]!r}"
            )
        tokens[i, : len(encoded)] = np.frombuffer(encoded, "uint8")
    return tokens


def decode_captions(tokens):
    """Strings from byte tokens `(n, length)`, each cut at its first `PAD`."""
    texts = []
    for row in np.asarray(tokens):
        row = np.asarray(row, "int64")
        end = np.flatnonzero(row == PAD)
        row = row[: end[0]] if len(end) else row
        texts.append(bytes(np.clip(row, 0, 255).astype("uint8")).decode("utf-8", "replace"))
    return texts


def captioned_arrays(images, digits):
    """Images with every phrasing of their captions, as numpy arrays.

    Args:
        images: uint8 `(n, 28, 28, 1)` digits.
        digits: their labels `(n,)`.

    Returns:
        A dict: `"images"`, `"digits"`, `"thickness"` and `"slant"` class
        indices `(n,)`, `"captions"` tokens `(n, len(TEMPLATES), CAPTION_LENGTH)`.
    """
    classes = attribute_classes(measure_attributes(images))
    captions = np.stack(
        [
            encode_captions(_captions_of(digits, classes, t), name="captions")
            for t in range(len(TEMPLATES))
        ],
        axis=1,
    )
    return {"images": images, "digits": np.asarray(digits), **classes, "captions": captions}


def make_dataset(arrays, batch_size, order):
    """`(dataset, num_examples)`: one `(image, caption)` pair per image and phrasing of `arrays`.

    Example `i` is image `i // len(TEMPLATES)` with phrasing `i % len(TEMPLATES)`;
    images are float32 in [-1, 1] `(b, 28, 28, 1)`, captions int32 `(b, CAPTION_LENGTH)`.
    """
    phrasings = len(TEMPLATES)
    images = tf.constant(arrays["images"].astype("float32") / 127.5 - 1.0)
    captions = tf.constant(arrays["captions"].reshape(-1, CAPTION_LENGTH))
    num_examples = int(captions.shape[0])

    def gather(index):
        return tf.gather(images, index // phrasings), tf.gather(captions, index)

    return epoch_order.gathered_batches(num_examples, batch_size, order, gather), num_examples
