"""Transformer-XL over music event tokens (Music Transformer's vocabulary, `keras_gen.data.music`)."""

import keras
import numpy as np

from keras_gen.data import music
from keras_gen.models.text import transformer_xl


@keras.saving.register_keras_serializable(package="keras_gen")
class MusicTransformerXL(transformer_xl.TransformerXL):
    """`TransformerXL` over the event tokens of `load_music(representation="events")`.

    The model is Transformer-XL unchanged (its memory carries across the
    consecutive segments of `load_music(..., consecutive=True)`, so a chorale
    is read on across segment boundaries); the vocabulary is the events'
    (`music.EVENT_VOCABULARY_SIZE`: note-on and note-off of 88 keys, 16 time
    shifts, the end of a piece), and pieces are generated after an `END`
    token, as a new piece starts in the training stream. `val_bits_per_byte`
    in its logs is bits per event token.

    Args: as for `TransformerXL` (`vocabulary_size` defaults to the events').

    Example:
    ```python
    dataset, info = keras_gen.data.load_music(
        "bach_chorales", representation="events", sequence_length=64, consecutive=True
    )
    model = keras_gen.models.MusicTransformerXL(seed=0)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    model.fit(dataset, epochs=1)
    roll = model.generate_pianorolls(1, num_tokens=256, seed=0)[0]
    ```
    """

    def __init__(self, vocabulary_size=music.EVENT_VOCABULARY_SIZE, **kwargs):
        if vocabulary_size != music.EVENT_VOCABULARY_SIZE:
            raise ValueError(
                f"`vocabulary_size` is the events' ({music.EVENT_VOCABULARY_SIZE}). "
                f"Received: vocabulary_size={vocabulary_size!r}"
            )
        super().__init__(vocabulary_size=vocabulary_size, **kwargs)

    def generate_events(self, num_tokens=256, temperature=1.0, top_k=None, top_p=None, seed=None):
        """Event tokens of a new piece: up to `num_tokens` after an `END`, cut at the next `END`."""
        tokens = self.generate(
            [music.END],
            max_length=num_tokens,
            temperature=temperature,
            top_k=top_k,
            top_p=top_p,
            seed=seed,
        )[1:]
        tokens = np.asarray(tokens, "int32")
        ends = np.flatnonzero(tokens == music.END)
        return tokens[: ends[0] + 1] if len(ends) else tokens

    def generate_pianorolls(self, num_samples, num_tokens=256, temperature=1.0, seed=None):
        """`num_samples` piano-rolls `(frames, 88)`, piece `i` drawn with seed `seed + i`."""
        base = 0 if seed is None else int(seed)
        return [
            music.pianoroll_from_events(
                self.generate_events(
                    num_tokens, temperature, seed=None if seed is None else base + i
                )
            )
            for i in range(num_samples)
        ]
