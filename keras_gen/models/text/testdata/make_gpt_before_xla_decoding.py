"""Writes `gpt_before_xla_decoding.keras` and the tokens it generated, with the code of commit c335a0a.

Run from a checkout of that commit (the last one before `TransformerBlock.step`
and GPT's cached decoding were rewritten), e.g.

    git worktree add /tmp/before c335a0a
    PYTHONPATH=/tmp/before python keras_gen/models/text/testdata/make_gpt_before_xla_decoding.py

`gpt_test.test_a_model_saved_before_the_xla_decoding_generates_the_same_tokens`
loads the file with today's code and compares the tokens.
"""

import json
import os

from keras_gen import models

HERE = os.path.dirname(os.path.abspath(__file__))
# The generate calls the test repeats (prompts as token ids, so tokens come back as ids).
CALLS = {
    "greedy": (list(b"def "), {"max_length": 40, "temperature": 0.0}),
    "sampled": (list(b"def "), {"max_length": 40, "temperature": 1.0, "seed": 11}),
    "top_k_top_p": (
        [100, 101, 102],
        {"max_length": 40, "temperature": 0.8, "top_k": 20, "top_p": 0.9, "seed": 5},
    ),
    "uncached": (
        list(b"x = "),
        {"max_length": 20, "temperature": 1.0, "seed": 2, "use_cache": False},
    ),
}


def main():
    model = models.GPT(sequence_length=64, num_layers=2, num_heads=2, hidden_dim=32, seed=3)
    model.save(os.path.join(HERE, "gpt_before_xla_decoding.keras"))
    tokens = {name: model.generate(prompt, **kwargs) for name, (prompt, kwargs) in CALLS.items()}
    with open(os.path.join(HERE, "gpt_before_xla_decoding.json"), "w") as f:
        json.dump(tokens, f, indent=1)


if __name__ == "__main__":
    main()
