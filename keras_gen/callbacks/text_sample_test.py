import pytest

from keras_gen import callbacks
from keras_gen.models.text import GPT


def test_text_sample_callback_writes_the_prompt_continuation(tmp_path):
    model = GPT(sequence_length=16, num_layers=1, num_heads=2, hidden_dim=16, dropout=0.0, seed=0)
    callback = callbacks.TextSampleCallback("ab", max_length=5, log_dir=str(tmp_path))
    callback.set_model(model)
    callback.on_epoch_end(0)
    callback.on_train_end()
    assert callback.last_text.startswith("ab")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    # Beside Keras' training scalars (issue 14: one run in TensorBoard).
    events = EventAccumulator(str(tmp_path / "train"))
    events.Reload()
    assert "sample" in events.Tags()["tensors"]
    with pytest.raises(ValueError, match="prompt=''"):
        callbacks.TextSampleCallback("")


def test_text_sample_step_is_the_epoch_counted_from_one(tmp_path):
    model = GPT(sequence_length=16, num_layers=1, num_heads=2, hidden_dim=16, dropout=0.0, seed=0)
    callback = callbacks.TextSampleCallback("ab", max_length=3, log_dir=str(tmp_path), every=2)
    callback.set_model(model)
    for epoch in range(4):  # Keras' 0-based epoch indices
        callback.on_epoch_end(epoch)
    callback.on_train_end()
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(tmp_path / "train"))
    events.Reload()
    assert [event.step for event in events.Tensors("sample")] == [2, 4]
