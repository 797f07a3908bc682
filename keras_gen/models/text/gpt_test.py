import json
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_gen
from keras_gen import testing
from keras_gen.models.text import GPT
from keras_gen.models.text.gpt import window_start
from keras_gen.models.text.language_model import sample_token
from keras_gen.models.text.testdata import make_gpt_before_xla_decoding as before


@pytest.fixture(scope="module")
def trained():
    dataset, _ = keras_gen.data.load_text("pydoc", sequence_length=32, batch_size=8, seed=0)
    model = GPT(sequence_length=32, num_layers=2, num_heads=2, hidden_dim=32, dropout=0.0, seed=0)
    model.compile(optimizer=keras.optimizers.Adam(3e-3))
    history = model.fit(dataset.take(20), epochs=1, verbose=0)
    return model, history


def test_fit_logs_loss_and_bits_per_byte(trained):
    _, history = trained
    loss, bits = history.history["loss"][0], history.history["bits_per_byte"][0]
    assert bits == pytest.approx(loss / np.log(2), rel=1e-5)
    assert loss < np.log(256)  # better than uniform bytes after 20 steps


@pytest.mark.parametrize(
    "kwargs",
    [
        {"temperature": 0.0},
        {"temperature": 1.0, "seed": 3},
        {"temperature": 0.7, "top_k": 5, "seed": 1},
        {"temperature": 1.0, "top_p": 0.8, "seed": 2},
    ],
)
def test_cached_generation_gives_the_tokens_of_uncached_generation(trained, kwargs):
    model, _ = trained
    cached = model.generate("The for", max_length=20, **kwargs)
    assert cached.startswith("The for") and len(cached.encode("utf-8", "replace")) >= 20
    assert cached == model.generate("The for", max_length=20, use_cache=False, **kwargs)
    ids = model.generate(list(b"The for"), max_length=20, **kwargs)
    assert len(ids) == 27 and bytes(ids[:7]) == b"The for"


def test_round_trip_and_seeds(trained, tmp_path):
    model, _ = trained
    path = str(tmp_path / "gpt.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    assert type(loaded) is GPT
    text = model.generate("if", max_length=25, seed=4)
    assert loaded.generate("if", max_length=25, seed=4) == text
    assert model.generate("if", max_length=25, seed=5) != text
    counts = testing.assert_traced_once(model, lambda: model.generate("ab", max_length=3))
    assert counts["cached"] == 1


def test_bits_per_byte_metric_function_and_callback(trained, tmp_path):
    model, _ = trained
    test, _ = keras_gen.data.load_text(
        "pydoc", sequence_length=32, batch_size=8, split="test", shuffle=False
    )
    test = test.take(5)
    result = keras_gen.metrics.text_metrics(model, test)
    evaluated = model.evaluate(test, verbose=0, return_dict=True)
    assert result["bits_per_byte"] == pytest.approx(evaluated["bits_per_byte"], rel=1e-5)
    assert result["perplexity"] == pytest.approx(2 ** result["bits_per_byte"], rel=1e-9)
    inputs, targets = next(iter(test))
    logits = model(inputs).numpy().astype("float64")
    log_softmax = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    direct = -np.take_along_axis(log_softmax, targets.numpy()[..., None], -1).mean() / np.log(2)
    metric = keras_gen.metrics.BitsPerByte()
    metric.update_state(targets, model(inputs))
    assert float(metric.result()) == pytest.approx(direct, rel=1e-5)
    callback = keras_gen.callbacks.TextSampleCallback("The ", max_length=10, log_dir=str(tmp_path))
    callback.set_model(model)
    callback.on_epoch_end(0)
    assert callback.last_text.startswith("The ")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(tmp_path / "train"))
    events.Reload()
    assert "sample" in events.Tags()["tensors"]


def test_sampling_filters():
    logits = tf.constant([0.0, 3.0, 1.0, 2.0])
    seeds = [tf.constant([s, 0], tf.int64) for s in range(200)]
    greedy = sample_token(logits, tf.constant(0.0), tf.constant(0), tf.constant(1.0), seeds[0])
    assert int(greedy) == 1
    top2 = {
        int(sample_token(logits, tf.constant(1.0), tf.constant(2), tf.constant(1.0), s))
        for s in seeds
    }
    assert top2 == {1, 3}
    # softmax([0, 3, 1, 2]) = [.032, .644, .087, .237]: the nucleus of 0.8 is {1, 3}.
    nucleus = {
        int(sample_token(logits, tf.constant(1.0), tf.constant(0), tf.constant(0.8), s))
        for s in seeds
    }
    assert nucleus == {1, 3}
    everything = {
        int(sample_token(logits, tf.constant(1.0), tf.constant(0), tf.constant(1.0), s))
        for s in seeds
    }
    assert everything == {0, 1, 2, 3}


def test_bad_arguments_are_named(trained):
    model, _ = trained
    # max_length=40 past sequence_length=32 is no longer an error (the window slides).
    testing.expect_value_error(lambda: model.generate("abc", max_length=0), "max_length=0")
    testing.expect_value_error(lambda: model.generate("abc", max_length=4, top_p=1.5), "top_p=1.5")
    with pytest.raises(ValueError, match="prompt"):
        model.generate("", max_length=4)
    testing.expect_value_error(
        lambda: GPT(hidden_dim=30, num_heads=4), "hidden_dim=30, num_heads=4"
    )
    with pytest.raises(ValueError, match="y=None"):
        model.fit(np.zeros((4, 32), "int32"))


def test_a_model_saved_before_the_xla_decoding_generates_the_same_tokens():
    """testdata/make_gpt_before_xla_decoding.py wrote the model and its tokens with the old code."""
    with open(os.path.join(before.HERE, "gpt_before_xla_decoding.json")) as f:
        expected = json.load(f)
    model = keras.models.load_model(os.path.join(before.HERE, "gpt_before_xla_decoding.keras"))
    for name, (prompt, kwargs) in before.CALLS.items():
        assert model.generate(prompt, **kwargs) == expected[name], name


# ---------------------------------------------------------------------- past the window


@pytest.fixture(scope="module")
def small():
    """An untrained GPT with a window of 8 tokens (the weights do not matter to these tests)."""
    return GPT(sequence_length=8, num_layers=2, num_heads=2, hidden_dim=16, dropout=0.0, seed=0)


def test_generation_past_the_window_returns_the_prompt_and_max_length_tokens(small):
    tokens = small.generate([1, 2, 3], max_length=20, seed=0)  # 23 tokens, window of 8
    assert len(tokens) == 23 and tokens[:3] == [1, 2, 3]
    assert all(0 <= t < 256 for t in tokens)
    text = small.generate("The for statement", max_length=20, seed=0)  # the prompt alone is 17
    assert text.startswith("The for statement")


def test_generation_past_the_window_is_deterministic_for_a_seed(small):
    tokens = small.generate([1, 2, 3], max_length=20, seed=7)
    assert small.generate([1, 2, 3], max_length=20, seed=7) == tokens
    assert small.generate([1, 2, 3], max_length=20, seed=8) != tokens


@pytest.mark.parametrize("use_cache", [True, False])
def test_tokens_inside_the_first_window_are_those_of_a_run_that_fits(small, use_cache):
    for kwargs in ({"temperature": 0.0}, {"seed": 3}, {"top_k": 5, "seed": 1}):
        long = small.generate([1, 2, 3], max_length=20, use_cache=use_cache, **kwargs)
        fits = small.generate([1, 2, 3], max_length=5, use_cache=use_cache, **kwargs)
        assert long[:8] == fits, kwargs


@pytest.mark.parametrize(
    "kwargs",
    [{"temperature": 0.0}, {"seed": 3}, {"temperature": 0.7, "top_k": 5, "top_p": 0.9, "seed": 1}],
)
def test_cached_generation_past_the_window_gives_the_tokens_of_uncached_generation(small, kwargs):
    cached = small.generate([1, 2, 3], max_length=20, **kwargs)
    assert cached == small.generate([1, 2, 3], max_length=20, use_cache=False, **kwargs)


def test_each_token_past_the_window_is_the_greedy_choice_over_its_window(small):
    tokens = small.generate([1, 2, 3], max_length=20, temperature=0.0)
    assert small.window_shift == 4
    for position in range(2, len(tokens) - 1):
        start = window_start(position, 8, 4)
        assert position - start < 8 and (position < 8 or position - start >= 4)
        logits = small(np.array([tokens[start : position + 1]]))[0, -1]
        assert tokens[position + 1] == int(np.argmax(logits)), position


def test_window_start_slides_by_the_shift_once_the_window_is_full():
    starts = [window_start(p, 8, 4) for p in range(20)]
    assert starts == [0] * 8 + [4] * 4 + [8] * 4 + [12] * 4
    assert [int(window_start(tf.constant(p), 8, 4)) for p in range(20)] == starts


def test_a_prompt_longer_than_the_window_is_continued(small):
    prompt = list(range(10, 22))  # 12 tokens, window of 8
    tokens = small.generate(prompt, max_length=6, temperature=0.0)
    assert len(tokens) == 18 and tokens[:12] == prompt
    assert tokens == small.generate(prompt, max_length=6, temperature=0.0, use_cache=False)


def test_generation_past_the_window_is_traced_once():
    model = GPT(sequence_length=8, num_layers=1, num_heads=2, hidden_dim=16, seed=0)
    counts = testing.assert_traced_once(
        model,
        lambda: model.generate([1, 2], max_length=3, seed=0),
        lambda: model.generate([1, 2], max_length=30, seed=0),
    )
    assert counts == {"cached": 1}
