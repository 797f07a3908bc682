import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_gen
from keras_gen import testing
from keras_gen.models.text import TransformerXL


def _model(**kwargs):
    model = TransformerXL(
        segment_length=16,
        memory_length=16,
        num_layers=2,
        num_heads=2,
        hidden_dim=32,
        dropout=0.0,
        seed=0,
        **kwargs,
    )
    model.compile(optimizer=keras.optimizers.Adam(3e-3))
    return model


@pytest.fixture(scope="module")
def segments():
    dataset, _ = keras_gen.data.load_text(
        "pydoc", sequence_length=16, batch_size=4, consecutive=True
    )
    return dataset.take(12)


def test_memory_carries_context_across_segments(segments):
    model = _model()
    model.fit(segments, epochs=1, verbose=0)
    first, second = [x for x, _ in segments.take(2)]
    memory = tf.zeros((2, 4, 16, 32))
    _, after_first = model.forward(first, memory, tf.constant(0))
    with_memory, _ = model.forward(second, after_first, tf.constant(16))
    without, _ = model.forward(second, memory, tf.constant(0))
    assert not np.allclose(with_memory.numpy(), without.numpy(), atol=1e-4)
    # Masked (invalid) memory positions change nothing.
    garbage = tf.random.normal((2, 4, 16, 32))
    masked, _ = model.forward(second, garbage, tf.constant(0))
    np.testing.assert_allclose(masked.numpy(), without.numpy(), atol=1e-5)
    # The new memory is the last 16 inputs of each layer; for layer 0, the embeddings.
    np.testing.assert_allclose(
        after_first[0].numpy(), model.token_embedding(first).numpy(), atol=1e-6
    )


def test_memory_is_emptied_when_an_epoch_or_evaluation_starts(segments):
    model = _model()
    model.fit(segments, epochs=1, verbose=0)
    valid, reset = model.memory.valid, model.memory.reset
    assert int(valid.read_value()) == 16 and int(reset.read_value()) == 0
    model.reset_memory()
    memory, valid_now = model.read_memory()
    assert int(valid_now) == 0 and not np.any(memory.numpy())
    model.evaluate(segments.take(2), verbose=0)
    assert int(model.memory.reset.read_value()) == 0  # reset, then filled again


def test_round_trip_generation_and_errors(segments, tmp_path):
    model = _model()
    model.fit(segments, epochs=1, verbose=0)
    text = model.generate("The for", max_length=40, seed=2)  # longer than a segment
    assert text.startswith("The for")
    path = str(tmp_path / "txl.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    assert loaded.generate("The for", max_length=40, seed=2) == text
    testing.assert_traced_once(loaded, lambda: loaded.generate("ab", max_length=3, seed=1))
    assert loaded.generate(list(b"ab"), max_length=5, temperature=0.0) == model.generate(
        list(b"ab"), max_length=5, temperature=0.0
    )
    with pytest.raises(ValueError, match="consecutive"):
        model.fit(np.zeros((4, 16), "int32"), np.zeros((4, 16), "int32"))
    testing.expect_value_error(lambda: TransformerXL(memory_length=-1), "memory_length=-1")
    with pytest.raises(ValueError, match="an even multiple.*hidden_dim=9, num_heads=3"):
        TransformerXL(hidden_dim=9, num_heads=3)
    testing.expect_value_error(lambda: TransformerXL(dropout=1.0), "dropout=1.0")
    other, _ = keras_gen.data.load_text(
        "pydoc", sequence_length=16, batch_size=2, consecutive=True, split="test"
    )
    with pytest.raises(ValueError, match="validation batch size 2"):
        model.fit(segments, validation_data=other, verbose=0)


def test_without_memory_the_network_sees_one_segment(segments):
    model = _model(use_memory=False)
    history = model.fit(segments, epochs=1, verbose=0)
    assert np.isfinite(history.history["bits_per_byte"][0])
    assert model.active_memory_length == 0


# ---------------------------------------------------------------------- past the segment


@pytest.fixture(scope="module")
def short_segments():
    """An untrained Transformer-XL with segments of 4 tokens and a memory of 8."""
    return TransformerXL(
        segment_length=4, memory_length=8, num_layers=2, num_heads=2, hidden_dim=16, seed=0
    )


def test_generation_past_the_segment_returns_the_prompt_and_max_length_tokens(short_segments):
    tokens = short_segments.generate([1, 2, 3], max_length=20, seed=0)
    assert len(tokens) == 23 and tokens[:3] == [1, 2, 3]
    assert short_segments.generate([1, 2, 3], max_length=20, seed=0) == tokens
    assert short_segments.generate([1, 2, 3], max_length=20, seed=1) != tokens
    fits = short_segments.generate([1, 2, 3], max_length=1, seed=0)  # inside one segment
    assert tokens[:4] == fits


def test_generation_past_the_segment_sees_the_earlier_tokens_through_the_memory(short_segments):
    # While every earlier position is in the memory (8), one position at a time on the memory
    # gives the logits of one pass over the whole text: tokens 5 to 9 come from past the segment.
    tokens = short_segments.generate([1, 2, 3], max_length=6, temperature=0.0)
    logits = short_segments(np.array([tokens])).numpy()[0]
    assert tokens[3:] == [int(t) for t in np.argmax(logits[2:-1], axis=-1)]
