"""Recurrent encoder and hierarchical decoder of sequences of frames (piano-rolls), for `MusicVAE`.

After MusicVAE (Roberts et al. 2018, arXiv:1803.05428): a bidirectional
recurrent encoder reads the frames into the posterior; the decoder's
"conductor" turns the latent into one embedding per bar, and a bottom-level
autoregressive LSTM writes each bar's frames from its embedding and the
frame before (its state starts from the embedding at every bar, so the
latent carries the structure across bars). Given the latent and the frames
before, the 88 keys of a frame are independent Bernoullis (MusicVAE's
multi-instrument piano-roll output), so `log p(x|z)` is exact.
"""

import keras

from keras_gen.networks import common


def _check_frames(data_shape, bars):
    data_shape = common.check_data_shape(data_shape, ranks=(2,))
    bars = common.check_positive_int(bars, "bars")
    if data_shape[0] % bars:
        raise ValueError(
            f"The frames ({data_shape[0]}) must divide into `bars` equal bars. "
            f"Received: data_shape={data_shape}, bars={bars}"
        )
    return data_shape, bars


def recurrent_encoder(data_shape=(64, 88), latent_dim=64, hidden_dim=256, name="encoder"):
    """Bidirectional LSTM over frames to the posterior: `(batch, frames, keys) -> (batch, 2 * latent_dim)`.

    Args:
        data_shape: `(frames, keys)`.
        latent_dim: size of the latent.
        hidden_dim: units of each direction.
        name: model name.

    Example:
    >>> recurrent_encoder((16, 88), latent_dim=8, hidden_dim=16).output_shape
    (None, 16)
    """
    data_shape = common.check_data_shape(data_shape, ranks=(2,))
    common.check_positive_int(latent_dim, "latent_dim")
    hidden_dim = common.check_positive_int(hidden_dim, "hidden_dim")
    frames = keras.Input(data_shape, name="frames")
    x = keras.layers.Bidirectional(keras.layers.LSTM(hidden_dim), name="bidirectional_lstm")(frames)
    x = keras.layers.Dense(2 * latent_dim, name="posterior")(x)
    x = keras.layers.Activation("linear", dtype="float32", name="posterior_float32")(x)
    return keras.Model(frames, x, name=name)


def hierarchical_decoder(
    latent_dim=64, data_shape=(64, 88), bars=4, hidden_dim=256, name="decoder"
):
    """`[latents, frames] -> (batch, frames, keys)` float32 logits of each frame given the frames before.

    The latent goes through a conductor LSTM that makes one embedding per
    bar; each bar's frames come from a bar LSTM whose state starts from that
    embedding and whose input at each frame is the embedding and the previous
    frame (teacher forcing: `frames` shifted right by one, silence before the
    first). Sampling runs the same layers one frame at a time
    (`MusicVAE.samples_from_latents`), so a decoder passed to `MusicVAE` keeps
    these layer names: `conductor_input`, `conductor`, `bar_embedding`,
    `bar_state`, `bar_decoder` (an LSTM), `key_logits`.

    Args:
        latent_dim: size of the latent.
        data_shape: `(frames, keys)`; the frames divide into `bars` bars.
        bars: bars of the conductor (4 bars of 16 sixteenth-note frames for 64 frames).
        hidden_dim: units of the conductor and of the bar decoder.
        name: model name.

    Example:
    >>> hierarchical_decoder(8, (16, 88), bars=2, hidden_dim=16).output_shape
    (None, 16, 88)
    """
    common.check_positive_int(latent_dim, "latent_dim")
    (frames, keys), bars = _check_frames(data_shape, bars)
    hidden_dim = common.check_positive_int(hidden_dim, "hidden_dim")
    per_bar = frames // bars
    latents = keras.Input((latent_dim,), name="latents")
    targets = keras.Input((frames, keys), name="frames")
    z = keras.layers.Dense(hidden_dim, activation="tanh", name="conductor_input")(latents)
    conductor = keras.layers.LSTM(hidden_dim, return_sequences=True, name="conductor")(
        keras.layers.RepeatVector(bars, name="repeat_bars")(z)
    )  # (batch, bars, hidden)
    embedding = keras.layers.Dense(hidden_dim, activation="tanh", name="bar_embedding")(conductor)
    flat = keras.ops.reshape(embedding, (-1, hidden_dim))  # (batch * bars, hidden)
    state = keras.layers.Dense(2 * hidden_dim, activation="tanh", name="bar_state")(flat)
    previous = keras.ops.pad(targets[:, :-1], ((0, 0), (1, 0), (0, 0)))  # frame t-1 at t
    previous = keras.ops.reshape(keras.ops.cast(previous, flat.dtype), (-1, per_bar, keys))
    steps = keras.layers.Concatenate(name="bar_inputs")(
        [keras.layers.RepeatVector(per_bar, name="repeat_frames")(flat), previous]
    )
    x = keras.layers.LSTM(hidden_dim, return_sequences=True, name="bar_decoder")(
        steps, initial_state=[state[:, :hidden_dim], state[:, hidden_dim:]]
    )  # (batch * bars, per_bar, hidden)
    x = keras.layers.Dense(keys, name="key_logits")(x)
    x = keras.ops.reshape(x, (-1, frames, keys))
    x = keras.layers.Activation("linear", dtype="float32", name="logits_float32")(x)
    return keras.Model([latents, targets], x, name=name)
