"""The argparse types and the one-line usage error."""

import argparse

import pytest

from keras_gen.cli import arguments


@pytest.mark.parametrize("text", ["0", "-3", "1.5", "x"])
def test_positive_int_refuses(text):
    with pytest.raises(argparse.ArgumentTypeError, match=f"int >= 1. Received: {text}"):
        arguments.positive_int(text)


def test_positive_int_accepts():
    assert arguments.positive_int("7") == 7


@pytest.mark.parametrize("text", ["0", "-0.1", "1.01", "nan", "x"])
def test_probability_refuses(text):
    with pytest.raises(argparse.ArgumentTypeError, match="probability"):
        arguments.probability(text)


def test_probability_accepts():
    assert arguments.probability("1") == 1.0 and arguments.probability("0.9") == 0.9


@pytest.mark.parametrize("text", ["-1", "inf", "nan", "x"])
def test_non_negative_float_refuses(text):
    with pytest.raises(argparse.ArgumentTypeError, match="float >= 0"):
        arguments.non_negative_float(text)


def test_existing_file(tmp_path):
    path = tmp_path / "a.keras"
    with pytest.raises(argparse.ArgumentTypeError, match="no such file"):
        arguments.existing_file(str(path))
    path.write_bytes(b"")
    assert arguments.existing_file(str(path)) == str(path)
    with pytest.raises(argparse.ArgumentTypeError, match="no such file"):
        arguments.existing_file(str(tmp_path))  # a directory


def test_int_list():
    assert arguments.int_list("3,1,4") == [3, 1, 4]
    with pytest.raises(argparse.ArgumentTypeError, match="comma-separated ints"):
        arguments.int_list("3,a")


def test_comma_separated_keeps_the_text_and_refuses_unknown_names():
    parse = arguments.comma_separated(("fid", "kid"))
    assert parse("fid, kid") == "fid, kid"
    for text in ("fid,nope", ",", ""):
        with pytest.raises(argparse.ArgumentTypeError, match="among fid, kid"):
            parse(text)


def test_parser_errors_are_one_line_usage_errors():
    parser = arguments.Parser(prog="keras-gen x")
    parser.add_argument("--n", type=arguments.positive_int)
    with pytest.raises(arguments.UsageError) as error:
        parser.parse_args(["--n", "0"])
    message = str(error.value)
    assert "\n" not in message and message.startswith("keras-gen x: error: argument --n")


@pytest.mark.parametrize(
    "name, text",
    [("mnist5k", False), ("tfds:mnist", False), ("pydoc", True), ("tfds:lm1b", True)],
)
def test_check_dataset_name_accepts(name, text):
    arguments.check_dataset_name(name, text=text)


def test_check_dataset_name_accepts_paths(tmp_path):
    arguments.check_dataset_name(str(tmp_path), text=False)
    (tmp_path / "t.txt").write_text("x")
    arguments.check_dataset_name(str(tmp_path / "t.txt"), text=True)


@pytest.mark.parametrize(
    "name, text", [("nope", False), ("pydoc", False), ("mnist5k", True), ("tfds:", False)]
)
def test_check_dataset_name_refuses(name, text):
    with pytest.raises(arguments.UsageError, match="Unknown dataset"):
        arguments.check_dataset_name(name, text=text)
