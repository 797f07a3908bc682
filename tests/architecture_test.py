"""The new model of docs/architecture.md runs as written."""

import os
import re

import numpy as np

DOC = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs", "architecture.md"
)


def _example():
    blocks = re.findall(r"```python\n(.*?)```", open(DOC).read(), flags=re.S)
    assert len(blocks) == 1, "docs/architecture.md has one Python example"
    return blocks[0]


def test_the_example_model_trains_saves_loads_and_samples(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    names = {}
    exec(compile(_example(), DOC, "exec"), names)
    history, model, restored = names["history"], names["model"], names["restored"]
    assert len(history.history["r1_penalty"]) == 2
    assert all(np.isfinite(history.history["d_loss"])) and history.history["r1_penalty"][-1] > 0
    assert type(restored).__name__ == "R1GAN" and restored.gamma == 10.0
    assert names["samples"].shape == (16, 2) and np.abs(names["samples"]).max() <= 1.0
    np.testing.assert_array_equal(restored.generate(4, seed=1), model.generate(4, seed=1))
