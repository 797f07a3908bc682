"""Checked command-line arguments: argparse types, the one-line usage error, dataset names."""

import argparse
import os


class UsageError(Exception):
    """A mistake on the command line; `main()` prints its message as one line and exits with 2."""


class Parser(argparse.ArgumentParser):
    """An `ArgumentParser` whose errors are `UsageError`s of one line (no usage block)."""

    def error(self, message):
        raise UsageError(f"{self.prog}: error: {message} (see {self.prog} --help)")


def positive_int(text):
    """An int >= 1."""
    value = _parse(int, text, "an int >= 1")
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be an int >= 1. Received: {text}")
    return value


def non_negative_float(text):
    """A finite float >= 0."""
    value = _parse(float, text, "a float >= 0")
    if not 0.0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a float >= 0. Received: {text}")
    return value


def probability(text):
    """A float in (0, 1]."""
    value = _parse(float, text, "a probability in (0, 1]")
    if not 0.0 < value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be a probability in (0, 1]. Received: {text}")
    return value


def existing_file(text):
    """The path of a file that exists."""
    if not os.path.isfile(text):
        raise argparse.ArgumentTypeError(f"no such file: {text}")
    return text


def int_list(text):
    """Comma-separated ints, e.g. `3,1,4`."""
    try:
        values = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be comma-separated ints, e.g. 3,1,4. Received: {text}"
        ) from None
    return values


def comma_separated(choices):
    """A type for a comma-separated subset of `choices`, e.g. `fid,kid`; the text is kept as given."""

    def parse(text):
        chosen = [part.strip() for part in text.split(",") if part.strip()]
        if not chosen or set(chosen) - set(choices):
            raise argparse.ArgumentTypeError(
                f"must be comma-separated names among {', '.join(choices)}. Received: {text}"
            )
        return text

    return parse


def _parse(kind, text, expected):
    try:
        return kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be {expected}. Received: {text}") from None


def check_dataset_name(name, text, command="keras-gen train"):
    """Raises a `UsageError` unless `name` can name a dataset: of text when `text`, else of samples.

    Text: `pydoc`, `tfds:<name>` or a file. Samples: a built-in name,
    `tfds:<name>` or a directory of images.
    """
    from keras_gen import data

    if name.startswith("tfds:") and len(name) > len("tfds:"):
        return
    if text and (name == "pydoc" or os.path.isfile(name)):
        return
    if not text and (name in data.BUILT_IN or os.path.isdir(name)):
        return
    expected = (
        "pydoc, tfds:<name> or a text file"
        if text
        else f"one of {', '.join(data.BUILT_IN)}, tfds:<name> or a directory of images"
    )
    raise UsageError(f"{command}: Unknown dataset. Expected {expected}. Received: --dataset {name}")
