"""Video as frame codes: a VQ-VAE frame tokenizer and Transformer-XL over the codes (VideoGPT's recipe).

A clip of `T` frames becomes `T * (h * w + 1)` tokens: each frame a marker
(`CLIP` for the first frame of a clip, `FRAME` for the others) followed by
the `h * w` codebook indices the tokenizer gives it, row by row. Transformer-XL
reads the stream one segment at a time with its memory carrying across
segments, so a frame is predicted from the frames before it; the `CLIP` marker
tells it where an unrelated clip begins in the training stream.
"""

import keras
import numpy as np
import tensorflow as tf

from keras_gen.models.text import language_model, transformer_xl
from keras_gen.models.vae import VQVAE
from keras_gen.networks import common
from keras_gen.networks import vae as vae_networks
from keras_gen.utils import images


def frame_tokenizer(
    frame_shape=(64, 64, 1), num_embeddings=256, embedding_dim=32, downsampling=3, **kwargs
):
    """A `VQVAE` whose grid of codes is the frame downsampled `2 ** downsampling` times.

    Moving MNIST's 64x64 frames give 8x8 codes with the default (filters
    32, 64, 64): 64 codes a frame, 65 tokens with its marker.

    Args:
        frame_shape: `(height, width, channels)` of a frame.
        num_embeddings: codebook size.
        embedding_dim: size of a code vector.
        downsampling: stride-2 convolutions of the encoder (1 to 4).
        **kwargs: passed to `VQVAE` (`seed`, `ema_decay`, `likelihood`, ...).
    """
    frame_shape = common.check_data_shape(frame_shape, ranks=(3,), name="frame_shape")
    if isinstance(downsampling, bool) or downsampling not in (1, 2, 3, 4):
        raise ValueError(f"`downsampling` must be 1 to 4. Received: downsampling={downsampling!r}")
    widths = (32, 64, 64, 128)[:downsampling]
    encoder = vae_networks.vq_encoder(frame_shape, embedding_dim, filters=widths)
    decoder = vae_networks.vq_decoder(
        tuple(encoder.outputs[0].shape[1:]), frame_shape, filters=widths[::-1]
    )
    return VQVAE(encoder, decoder, num_embeddings=num_embeddings, **kwargs)


@keras.saving.register_keras_serializable(package="keras_gen")
class VideoTransformerXL(transformer_xl.TransformerXL):
    """Transformer-XL over the frame codes of a trained `VQVAE` frame tokenizer.

    Trained with `fit()` on `token_dataset(clips, batch_size)`: consecutive
    segments of the clips' token stream, row `b` of a batch continuing row
    `b` of the one before. The tokenizer is frozen (trained before, e.g. on the
    clips' frames with `frame_tokenizer`), saved inside the model's `.keras`
    file. The loss is the mean cross-entropy per code in nats (the markers,
    whose place is fixed, are neither scored nor drawn); `bits_per_byte` in
    the logs is bits per code.

    Args:
        tokenizer: a trained `VQVAE` whose `data_shape` is the frame shape;
            frozen here (it and its variables made non-trainable), so to
            train it on, set `trainable` on its variables again first.
        segment_length: tokens per training segment (default: one frame,
            `tokens_per_frame`).
        memory_length: positions kept in memory (default: two frames).
        **kwargs: as for `TransformerXL` (num_layers, num_heads, hidden_dim,
            dropout, seed); `vocabulary_size` is the tokenizer's codes plus 2.

    Example:
    ```python
    train, info = keras_gen.data.load_video("moving_mnist", batch_size=64, num_sequences=500)
    clips = np.concatenate([c.numpy() for c in train])
    tokenizer = keras_gen.models.frame_tokenizer(info.shape[1:], seed=0)
    tokenizer.compile(optimizer=keras.optimizers.Adam(1e-3))
    tokenizer.fit(clips.reshape(-1, *info.shape[1:]), batch_size=64, epochs=1)
    model = keras_gen.models.VideoTransformerXL(tokenizer, seed=0)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    model.fit(model.token_dataset(clips, batch_size=16), epochs=1)
    predicted = model.predict_frames(clips[:4, :10], num_frames=10)  # (4, 10, 64, 64, 1)
    videos = model.generate(4, num_frames=20, seed=0)
    ```
    """

    nested_models = ("tokenizer",)

    def __init__(self, tokenizer, segment_length=None, memory_length=None, **kwargs):
        if isinstance(tokenizer, dict):
            tokenizer = keras.saving.deserialize_keras_object(tokenizer)
        if not isinstance(tokenizer, VQVAE):
            raise ValueError(
                "`tokenizer` must be a keras_gen VQVAE (see frame_tokenizer). "
                f"Received: tokenizer of type {type(tokenizer).__name__}"
            )
        codes = tokenizer.num_embeddings
        per_frame = int(np.prod(tokenizer.grid_shape)) + 1
        vocabulary = kwargs.pop("vocabulary_size", codes + 2)
        if vocabulary != codes + 2:
            raise ValueError(
                f"`vocabulary_size` is the tokenizer's {codes} codes plus 2 markers. "
                f"Received: vocabulary_size={vocabulary!r}"
            )
        segment_length = per_frame if segment_length is None else segment_length
        memory_length = 2 * per_frame if memory_length is None else memory_length
        super().__init__(
            vocabulary_size=vocabulary,
            segment_length=segment_length,
            memory_length=memory_length,
            **kwargs,
        )
        tokenizer.trainable = False
        for variable in tokenizer.variables:  # also those of layers inside layers (attention's)
            variable.trainable = False
        # TransformerXL builds (and so locks) the model in its __init__; the tokenizer joins after.
        self._tracker.unlock()
        self.tokenizer = tokenizer
        self._tracker.lock()
        self.codes_per_frame, self.tokens_per_frame = per_frame - 1, per_frame
        self.frame_shape = tuple(tokenizer.data_shape)
        #: The frame markers: `FRAME` before every frame but a clip's first, `CLIP` before that.
        self.FRAME, self.CLIP = codes, codes + 1

    # ------------------------------------------------------------------ tokens

    def clip_tokens(self, clips, batch_size=256):
        """Token ids `(n, frames * tokens_per_frame)` int32 of clips `(n, frames, *frame_shape)`."""
        return clip_tokens(self.tokenizer, clips, batch_size)

    def decode_tokens(self, tokens, batch_size=256):
        """Clips float32 `(n, frames, *frame_shape)` of token ids laid out as `clip_tokens` makes them."""
        tokens = np.asarray(tokens)
        if tokens.ndim != 2 or tokens.shape[1] % self.tokens_per_frame or not tokens.shape[1]:
            raise ValueError(
                f"`tokens` must be (n, frames * {self.tokens_per_frame}). "
                f"Received: tokens with shape {tokens.shape}"
            )
        n = len(tokens)
        frames = tokens.reshape(n, -1, self.tokens_per_frame)
        codes = frames[:, :, 1:].reshape(-1, *self.tokenizer.grid_shape)
        if codes.size and (codes.min() < 0 or codes.max() >= self.tokenizer.num_embeddings):
            raise ValueError(
                f"`tokens` must hold codes in [0, {self.tokenizer.num_embeddings}) after each "
                f"frame marker. Received: codes in [{codes.min()}, {codes.max()}]"
            )
        pictures = (
            np.concatenate(
                [
                    np.asarray(self.tokenizer.decode_codes(codes[i : i + batch_size]))
                    for i in range(0, len(codes), batch_size)
                ]
            )
            if len(codes)
            else np.zeros((0, *self.frame_shape), "float32")
        )
        return np.clip(pictures, -1.0, 1.0).reshape(n, frames.shape[1], *self.frame_shape)

    def token_dataset(self, clips, batch_size=16, tokens=None):
        """Consecutive `(inputs, targets)` segments of the clips' token stream, for `fit()`.

        The clips are dealt to `batch_size` rows (clip `i` to row `i % batch_size`);
        each row is its clips' tokens one after the other; batch `s` holds
        segment `s` of every row, targets one token ahead. Clips that do not
        fill the last round are dropped.

        Args:
            clips: `(n, frames, *frame_shape)` in [-1, 1], n >= batch_size.
            batch_size: rows per batch (the memory is shaped for it).
            tokens: the clips' `clip_tokens`, if made already (then `clips` may be None).
        """
        tokens = self.clip_tokens(clips) if tokens is None else tokens
        return consecutive_segments(tokens, batch_size, self.segment_length)

    def token_losses(self, logits, targets):
        """Mean cross-entropy per code of each example (marker targets not scored)."""
        cross_entropy = keras.losses.sparse_categorical_crossentropy(
            targets, logits, from_logits=True
        )
        scored = tf.cast(targets < self.FRAME, cross_entropy.dtype)
        return tf.reduce_sum(cross_entropy * scored, axis=1) / tf.maximum(
            tf.reduce_sum(scored, axis=1), 1.0
        )

    # ------------------------------------------------------------------ generation

    def predict_frames(
        self, context_frames, num_frames, temperature=0.0, top_k=None, seed=None, batch_size=256
    ):
        """The `num_frames` frames after `context_frames`, drawn code by code.

        Args:
            context_frames: clips `(n, observed, *frame_shape)` in [-1, 1],
                each the start of a clip.
            num_frames: frames to predict.
            temperature: 0 (the default) takes the most likely code; > 0 samples.
            top_k: sample among the `top_k` most likely codes.
            seed: int for reproducible draws (a function of the seed and
                `batch_size`); None uses the saved seed generator.
            batch_size: clips decoded together.

        Returns:
            Float32 `(n, num_frames, *frame_shape)` in [-1, 1].
        """
        common.check_positive_int(num_frames, "num_frames")
        context = clip_tokens(self.tokenizer, context_frames, name="context_frames")
        return self._continue(
            context,
            context.shape[1] // self.tokens_per_frame + num_frames,
            num_frames,
            temperature,
            top_k,
            seed,
            batch_size,
        )

    def generate(
        self, num_samples, num_frames=20, temperature=1.0, top_k=None, seed=None, batch_size=256
    ):
        """`num_samples` new clips of `num_frames` frames, float32 `(n, num_frames, *frame_shape)`.

        Every clip starts from the `CLIP` marker on an empty memory; arguments
        as for `predict_frames` (sampling at temperature 1 by default).
        """
        common.check_positive_int(num_samples, "num_samples")
        common.check_positive_int(num_frames, "num_frames")
        start = np.full((num_samples, 1), self.CLIP, "int32")
        return self._continue(start, num_frames, num_frames, temperature, top_k, seed, batch_size)

    def _continue(self, prompt, total_frames, new_frames, temperature, top_k, seed, batch_size):
        tokens = self.continue_tokens(prompt, total_frames, temperature, top_k, seed, batch_size)
        new = tokens[:, tokens.shape[1] - new_frames * self.tokens_per_frame :]
        return self.decode_tokens(new, batch_size)

    def continue_tokens(
        self, prompt, total_frames, temperature=0.0, top_k=None, seed=None, batch_size=256
    ):
        """Token ids `(n, total_frames * tokens_per_frame)`: `prompt` `(n, p)` continued code by code.

        The step behind `predict_frames` and `generate`: one compiled loop over
        the positions, each token on the memory of the last `memory_length`;
        markers are written where the layout puts them, codes drawn elsewhere.
        """
        language_model.check_sampling(temperature, top_k, None)
        common.check_positive_int(batch_size, "batch_size")
        common.check_positive_int(total_frames, "total_frames")
        prompt = np.asarray(prompt)
        total = total_frames * self.tokens_per_frame
        if (
            prompt.ndim != 2
            or not np.issubdtype(prompt.dtype, np.integer)
            or not len(prompt)
            or not 0 < prompt.shape[1] <= total
        ):
            raise ValueError(
                f"`prompt` must be integer token ids (n, p) with n >= 1 and 0 < p <= {total}. "
                f"Received: prompt with shape {prompt.shape} and dtype {prompt.dtype}"
            )
        if prompt.min() < 0 or prompt.max() >= self.vocabulary_size:
            raise ValueError(
                f"`prompt` must hold token ids in [0, {self.vocabulary_size}). "
                f"Received: prompt in [{prompt.min()}, {prompt.max()}]"
            )
        prompt = prompt.astype("int32")
        # Greedy decoding draws nothing: it leaves the saved seed generator where it was.
        draws = seed is not None or float(temperature) > 0
        base_seed = tf.cast(
            self.sampling_seed(seed) if draws else tf.zeros([2], tf.int32), tf.int64
        )
        function = self.compiled_function("frames", self._batch_decoder)
        out = []
        for start in range(0, len(prompt), batch_size):
            rows = prompt[start : start + batch_size]
            buffer = np.zeros((len(rows), total), "int32")
            buffer[:, : rows.shape[1]] = rows
            tokens = function(
                tf.constant(buffer),
                tf.constant(rows.shape[1]),
                tf.cast(tf.random.experimental.stateless_fold_in(base_seed, start), tf.int64),
                tf.constant(float(temperature)),
                tf.constant(top_k or 0),
            )
            out.append(tokens.numpy())
        return np.concatenate(out)

    def _batch_decoder(self):
        keep, per_frame = self.active_memory_length, self.tokens_per_frame

        @tf.function(
            input_signature=[
                tf.TensorSpec([None, None], tf.int32),
                tf.TensorSpec([], tf.int32),
                tf.TensorSpec([2], tf.int64),
                tf.TensorSpec([], tf.float32),
                tf.TensorSpec([], tf.int32),
            ]
        )
        def run(tokens, prompt_length, seed, temperature, top_k):
            batch, total = tf.shape(tokens)[0], tf.shape(tokens)[1]
            is_code = tf.range(self.vocabulary_size) < self.FRAME

            def body(position, tokens, memory, valid):
                logits, memory = self.forward(tokens[:, position : position + 1], memory, valid)
                logits = tf.where(is_code[None], logits[:, 0], -1e9)
                drawn = sample_rows(
                    logits,
                    temperature,
                    top_k,
                    tf.random.experimental.stateless_fold_in(seed, position),
                )
                following = position + 1
                marker = tf.where(following % per_frame == 0, self.FRAME, -1)
                drawn = tf.where(marker >= 0, marker, drawn)
                token = tf.where(following < prompt_length, tokens[:, following], drawn)
                slot = tf.one_hot(following, total, dtype=tf.int32)[None]
                tokens = tokens * (1 - slot) + token[:, None] * slot
                return following, tokens, memory, tf.minimum(valid + 1, keep)

            memory = tf.zeros((self.num_layers, batch, keep, self.hidden_dim))
            _, tokens, _, _ = tf.while_loop(
                lambda position, *_: position < total - 1,
                body,
                (tf.constant(0), tokens, memory, tf.constant(0)),
                shape_invariants=(
                    tf.TensorShape([]),
                    tf.TensorShape([None, None]),
                    memory.shape,
                    tf.TensorShape([]),
                ),
            )
            return tokens

        return run

    # ------------------------------------------------------------------ saving

    def get_config(self):
        config = super().get_config()
        config.pop("vocabulary_size")
        # The frozen tokenizer is loaded uncompiled: its optimizer is not part of the video model.
        config["tokenizer"].pop("compile_config", None)
        return config


def check_clips(clips, frame_shape, name="clips"):
    """Float32 clips `(n, frames, *frame_shape)` in [-1, 1]; ValueError naming `name` otherwise."""
    clips = np.asarray(clips, "float32")
    if (
        clips.ndim != 5
        or tuple(clips.shape[2:]) != tuple(frame_shape)
        or not clips.shape[0]
        or not clips.shape[1]
    ):
        raise ValueError(
            f"`{name}` must be clips (n, frames, *{tuple(frame_shape)}) in [-1, 1] with a "
            f"clip and a frame. Received: {name} with shape {clips.shape}"
        )
    return images.check_unit_range(clips, name)


def clip_tokens(tokenizer, clips, batch_size=256, name="clips"):
    """The token layout of clips under a `VQVAE` frame tokenizer, int32 `(n, frames * (h * w + 1))`.

    Each frame is a marker (`num_embeddings + 1` for a clip's first frame,
    `num_embeddings` for the others) and its codes row by row; what
    `VideoTransformerXL.clip_tokens` returns, without a model.
    """
    clips = check_clips(clips, tokenizer.data_shape, name)
    n, frames = clips.shape[:2]
    per_frame = int(np.prod(tokenizer.grid_shape))
    codes = tokenizer.encode_codes(clips.reshape(-1, *tokenizer.data_shape), batch_size)
    codes = codes.reshape(n, frames, per_frame)
    markers = np.full((n, frames, 1), tokenizer.num_embeddings, "int32")
    markers[:, 0] = tokenizer.num_embeddings + 1
    return np.concatenate([markers, codes], axis=2).reshape(n, -1)


def consecutive_segments(tokens, batch_size, segment_length):
    """`(inputs, targets)` segments of clips' tokens `(n, length)`, rows continuing across batches.

    What `VideoTransformerXL.token_dataset` returns, from tokens made already.
    """
    common.check_positive_int(batch_size, "batch_size")
    tokens = np.asarray(tokens, "int32")
    if tokens.ndim != 2:
        raise ValueError(
            f"`tokens` must be (n, length). Received: tokens with shape {tokens.shape}"
        )
    rounds = len(tokens) // batch_size
    if rounds < 1:
        raise ValueError(
            f"`clips` must hold at least batch_size={batch_size} clips. Received: {len(tokens)}"
        )
    rows = tokens[: rounds * batch_size].reshape(rounds, batch_size, -1)
    streams = rows.transpose(1, 0, 2).reshape(batch_size, -1)
    steps = (streams.shape[1] - 1) // segment_length
    if steps < 1:
        raise ValueError(
            f"The clips make {streams.shape[1]} tokens per row, fewer than a segment of "
            f"{segment_length} plus one. Received: tokens of shape {tokens.shape}"
        )
    span = steps * segment_length
    inputs = streams[:, :span].reshape(batch_size, steps, -1).transpose(1, 0, 2)
    targets = streams[:, 1 : span + 1].reshape(batch_size, steps, -1).transpose(1, 0, 2)
    return tf.data.Dataset.from_tensor_slices((inputs, targets))


def sample_rows(logits, temperature, top_k, seed):
    """One token per row of `(batch, vocabulary)` logits: greedy at temperature 0, else sampled."""
    greedy = tf.argmax(logits, axis=-1, output_type=tf.int32)
    scaled = logits / tf.maximum(temperature, 1e-6)
    vocabulary = tf.shape(scaled)[-1]
    k = tf.where(top_k > 0, tf.minimum(top_k, vocabulary), vocabulary)
    kth = tf.math.top_k(scaled, k).values[:, -1:]
    scaled = tf.where(scaled < kth, tf.cast(-1e9, scaled.dtype), scaled)
    drawn = tf.random.stateless_categorical(scaled, 1, seed, dtype=tf.int32)[:, 0]
    return tf.where(temperature > 0, drawn, greedy)
