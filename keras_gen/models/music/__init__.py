"""Music models: `MusicVAE` over piano-roll segments, `MusicTransformerXL` over event tokens."""

from keras_gen.models.music.music_transformer_xl import MusicTransformerXL
from keras_gen.models.music.music_vae import MusicVAE
