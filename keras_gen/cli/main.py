"""The `keras-gen` command line: train, sample, stats, evaluate, weights, list.

Usage errors (a bad flag, an unknown dataset, a missing file, a flag the
model has no use for) print one line and exit with 2; a `--download` that
cannot reach its server prints one line and exits with 1; every other error
keeps its traceback. Every default the help shows is the value used: taken
from the parser's own defaults, the recipes (`keras_gen.cli.recipes`) or the
signatures of the classes the command line calls.
"""

import inspect
import sys

from keras_gen.cli import arguments, recipes
from keras_gen.cli.arguments import (
    existing_file,
    int_list,
    non_negative_float,
    positive_int,
    probability,
)

STRATEGIES = ("auto", "default", "mirrored", "multiworker")
PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")
EXTRACTORS = ("mnist", "inception", "keras_inception_v3")
METRICS = ("fid", "is", "kid", "pr")
MODEL_HELP = (
    "a .keras file (from keras-gen train or model.save), a run directory (its model.keras), "
    "or a model name: its newest runs/<name>-* run"
)


def signature_default(function, name):
    """The default of the argument `name` of `function` (a class: of its constructor)."""
    return inspect.signature(function).parameters[name].default


def flow_generate_default(name):
    """`generate`'s default of `name` over the recipes with `latent_temperature` (the flows)."""
    from keras_gen import models

    values = {
        signature_default(models.get(model).generate, name)
        for model, recipe in recipes.RECIPES.items()
        if recipe.latent_temperature
    }
    return "; ".join(str(value) for value in sorted(values))


def text_generate_default(name):
    """`generate`'s default of `name` over the language models, e.g. `"100"` (or per model)."""
    from keras_gen import models

    values = {
        model: signature_default(models.get(model).generate, name)
        for model, recipe in recipes.RECIPES.items()
        if recipe.text is not None
    }
    if len(set(values.values())) == 1:
        return str(next(iter(values.values())))
    return "; ".join(f"{value} for {model}" for model, value in values.items())


def build_parser():
    """The `keras-gen` argument parser, with one subcommand per command."""
    parser = arguments.Parser(
        prog="keras-gen", description="Train and sample the generative models of keras_gen."
    )
    # Read by the console script (keras_gen_cli.py) before TensorFlow is imported; here so
    # that --help shows it and the parser accepts it.
    parser.add_argument(
        "--tf-logs",
        action="store_true",
        help="show TensorFlow's C++ log lines, the start-up ones included (by default they are "
        "hidden, and later ones below ERROR too); give it before the command, e.g. keras-gen "
        "--tf-logs train dcgan. TF_CPP_MIN_LOG_LEVEL set in the environment does the same, "
        "at that level",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_train(commands)
    _add_sample(commands)
    _add_stats(commands)
    _add_evaluate(commands)
    _add_weights(commands)
    commands.add_parser(
        "list",
        help="list the models and datasets",
        description="List the models and the built-in datasets.",
    )
    return parser


def _add_train(commands):
    from keras_gen import data, models

    train = commands.add_parser(
        "train",
        help="train a model with model.fit()",
        description="Train a model; writes run.json (what produced the run), TensorBoard "
        "logs, PNG grids, a backup per epoch and model.keras into --logdir, and points "
        "runs/<model>-latest at it. Ctrl-C saves and exits.",
    )
    train.add_argument("model", choices=sorted(models.MODELS), help="model to train")
    text_models = recipes.names_with(lambda r: r.text is not None)
    train.add_argument(
        "--dataset",
        help=f"one of {', '.join(data.BUILT_IN)}, tfds:<name> or a directory of images; for "
        f"{text_models}: pydoc, tfds:<name> or a text file (default: {recipes.by_value('default_dataset')})",
    )
    train.add_argument(
        "--epochs", type=positive_int, help=f"epochs (default: {recipes.by_value('epochs')})"
    )
    train.add_argument(
        "--batch-size",
        type=positive_int,
        help="(default: 64; with --resume the run's own, from its run.json)",
    )
    train.add_argument(
        "--latent-dim",
        type=positive_int,
        help=f"latent size (default: {recipes.by_value('latent_dim')}; the other models have "
        "no latent vector)",
    )
    train.add_argument(
        "--pack",
        type=positive_int,
        help="PacGAN packing of the unconditional GANs: the discriminator judges N samples at "
        "once; the batch size must be divisible by N times the replicas (default: 1)",
    )
    train.add_argument(
        "--coupling",
        choices=("affine", "spline"),
        help="the flows' couplings: affine (RealNVP's, Glow's) or rational-quadratic splines "
        "(Neural Spline Flows; far closer on sharp multimodal data) (default: affine)",
    )
    train.add_argument("--seed", type=int, default=0, help="(default: %(default)s)")
    _add_run_flags(train)
    _add_data_flags(train)
    _add_picture_flags(train)
    _add_fid_flags(train)


def _add_run_flags(train):
    """Where and how the run goes: directory, strategy, precision, XLA, resume, output."""
    train.add_argument("--logdir", help="output directory (default: runs/<model>-<timestamp>)")
    train.add_argument(
        "--strategy",
        choices=STRATEGIES,
        default="auto",
        help="auto: mirrored on several GPUs, else default (default: %(default)s)",
    )
    train.add_argument(
        "--precision", choices=PRECISIONS, default="float32", help="(default: %(default)s)"
    )
    train.add_argument(
        "--no-jit",
        action="store_true",
        help="train without XLA (default: XLA where docs/benchmarks.md measures "
        "it faster, as compile(jit_compile='auto'))",
    )
    train.add_argument(
        "--resume",
        action="store_true",
        help="continue from the last finished epoch of --logdir (default: the "
        "newest runs/<model>-* directory)",
    )
    train.add_argument(
        "--verbose",
        type=int,
        choices=(0, 1, 2),
        help="0: silent, 1: progress bar, 2: one line per epoch (default: 1 in a terminal, else 2)",
    )


def _add_picture_flags(train):
    from keras_gen import callbacks

    train.add_argument(
        "--grid-samples",
        type=positive_int,
        default=signature_default(callbacks.ImageGridCallback, "num_samples"),
        help="samples in the grid written after each epoch (default: %(default)s)",
    )


def _add_data_flags(train):
    train.add_argument("--data-dir", help="tensorflow-datasets data directory")
    train.add_argument(
        "--download", action="store_true", help="let tensorflow-datasets download missing data"
    )
    train.add_argument("--image-size", type=positive_int, help="resize images to this size")
    train.add_argument(
        "--steps-per-epoch",
        type=positive_int,
        help="limit the steps of each epoch (video models: the steps of each epoch, default "
        f"{recipes.RECIPES['video_transformer_xl'].video.steps_per_epoch})",
    )
    train.add_argument(
        "--tokenizer-steps",
        type=positive_int,
        help="video models: updates of the frame tokenizer, trained first (default: "
        f"{recipes.RECIPES['video_transformer_xl'].video.tokenizer_steps})",
    )


def _add_fid_flags(train):
    from keras_gen import callbacks

    fid_models = recipes.names_with(lambda r: recipes.FID in r.metrics)
    train.add_argument(
        "--fid-every",
        type=positive_int,
        metavar="N",
        help=f"log the FID (MNIST-classifier features) every N epochs; for {fid_models} on images",
    )
    train.add_argument(
        "--fid-samples",
        type=positive_int,
        default=signature_default(callbacks.FIDCallback, "num_samples"),
        help="generated and reference samples for --fid-every (default: %(default)s)",
    )


def _add_sample(commands):
    sample = commands.add_parser(
        "sample",
        help="write a grid of samples of a saved model",
        description="Write a PNG grid of samples of a .keras model, print a language "
        "model's continuation of --prompt, or write a music model's pieces as WAV and MIDI.",
    )
    sample.add_argument("model_file", metavar="MODEL", help=MODEL_HELP)
    sample.add_argument(
        "--num",
        type=positive_int,
        help="samples (default: 64 images, 1 piece of music, 4 video clips)",
    )
    sample.add_argument("--seed", type=int, default=0, help="(default: %(default)s)")
    sample.add_argument(
        "--out", help="the PNG grid (default: samples.png); music models: the piano-roll PNG"
    )
    sample.add_argument(
        "--wav", help="music models: the rendered audio (default: samples.wav without --midi)"
    )
    sample.add_argument("--midi", help="music models: a MIDI file of the pieces")
    sample.add_argument(
        "--gif",
        help="video models: the clips side by side as an animated GIF (default: samples.gif)",
    )
    sample.add_argument(
        "--frames", type=positive_int, help="video models: frames per clip (default: 20)"
    )
    sample.add_argument("--labels", type=int_list, help="comma-separated class labels")
    steps_models = recipes.names_with(lambda r: r.sampling_steps)
    sample.add_argument(
        "--steps",
        type=positive_int,
        help=f"{steps_models}: denoising steps (default: the model's own)",
    )
    sample.add_argument(
        "--prompt",
        help="language models: print the continuation of this text; text-to-image models: "
        'draw --num images of it, e.g. "a bold 7 leaning right"',
    )
    sample.add_argument(
        "--guidance-scale",
        type=non_negative_float,
        help="text-to-image models: classifier-free guidance scale, 1: none "
        f"(default: {recipes.GUIDANCE_SCALE})",
    )
    sample.add_argument(
        "--max-length",
        type=positive_int,
        help="language models: bytes to generate; event music models: tokens per piece (default: "
        f"{text_generate_default('max_length')}; {recipes.MUSIC_SAMPLE_TOKENS} for music models)",
    )
    sample.add_argument(
        "--temperature",
        type=non_negative_float,
        help=f"language models: sampling temperature, 0: greedy (default: "
        f"{recipes.TEXT_TEMPERATURE}); flows: standard deviation of the latents "
        f"(default: {flow_generate_default('temperature')})",
    )
    sample.add_argument(
        "--top-k", type=positive_int, help="language models: sample among the k likeliest bytes"
    )
    sample.add_argument(
        "--top-p",
        type=probability,
        help="language models: sample among the likeliest bytes of this total probability",
    )


def _add_stats(commands):
    stats = commands.add_parser(
        "stats",
        help="write reference feature statistics of a dataset",
        description="Write the feature statistics (and up to 10,000 features) of a dataset, "
        "with their protocol, to an .npz file.",
    )
    stats.add_argument("--dataset", default="mnist5k", help="(default: %(default)s)")
    stats.add_argument("--split", default="train", help="(default: %(default)s)")
    stats.add_argument(
        "--extractor",
        choices=EXTRACTORS,
        default="mnist",
        help="inception needs its weights, see keras-gen weights (default: %(default)s)",
    )
    _add_fid_protocol(stats)
    stats.add_argument("--num", type=positive_int, help="number of images (default: all)")
    stats.add_argument("--out", default="stats.npz", help="(default: %(default)s)")
    stats.add_argument("--data-dir", help="tensorflow-datasets data directory")


def _add_evaluate(commands):
    evaluate = commands.add_parser(
        "evaluate",
        help="compute sample-quality metrics of a saved model",
        description="Compute FID, IS, KID and precision/recall of a .keras model's samples "
        "against reference statistics written by keras-gen stats.",
    )
    evaluate.add_argument("model_file", metavar="MODEL", help=MODEL_HELP)
    evaluate.add_argument(
        "--reference", type=existing_file, required=True, help="an .npz from keras-gen stats"
    )
    evaluate.add_argument(
        "--metrics",
        type=arguments.comma_separated(METRICS),
        default=",".join(METRICS),
        help=f"comma-separated: {', '.join(METRICS)} (default: %(default)s)",
    )
    evaluate.add_argument(
        "--num", type=positive_int, default=5000, help="generated samples (default: %(default)s)"
    )
    evaluate.add_argument("--seed", type=int, default=0, help="(default: %(default)s)")
    evaluate.add_argument(
        "--extractor", choices=EXTRACTORS, default="mnist", help="(default: %(default)s)"
    )
    _add_fid_protocol(evaluate)
    evaluate.add_argument(
        "--json",
        action="store_true",
        help="print the metrics, their protocol and the held-out reference point as JSON",
    )


def _add_fid_protocol(parser):
    from keras_gen.metrics.inception import FID_PROTOCOLS

    parser.add_argument(
        "--fid-protocol",
        choices=list(FID_PROTOCOLS),
        default="ttur",
        help="whose input handling --extractor inception reproduces: ttur (TTUR, "
        "torch-fidelity), pytorch_fid or clean (clean-fid); statistics of different protocols "
        "refuse to compare; see docs/metrics.md (default: %(default)s)",
    )


def _add_weights(commands):
    weights = commands.add_parser(
        "weights",
        help="manage weight files of feature extractors",
        description="`keras-gen weights fetch` downloads the FID Inception weights into the "
        "cache directory (needs the internet): pytorch-fid's .pth, checked against "
        "the SHA-256 digits in its name, or with `--source tf_graph` the original "
        "inception-2015-12-05.tgz, checked to hold the whole network (and against "
        "--sha256 when given). `keras-gen weights where` shows where they go.",
    )
    weights.add_argument("action", choices=["fetch", "where"])
    weights.add_argument(
        "--source",
        choices=["pytorch_fid", "tf_graph"],
        default="pytorch_fid",
        help="which weight file to fetch (default: %(default)s)",
    )
    weights.add_argument("--sha256", help="expected SHA-256 of the downloaded file")
    weights.add_argument(
        "--dir", help="cache directory (default: $KERAS_GEN_CACHE or ~/.keras/keras_gen)"
    )


def _handlers():
    from keras_gen.cli import commands, train

    return {
        "train": train.train,
        "sample": commands.sample,
        "list": commands.list_all,
        "stats": commands.write_stats,
        "evaluate": commands.evaluate,
        "weights": commands.manage_weights,
    }


def main(argv=None):
    """Runs `keras-gen ARGV`; returns the exit status.

    A usage error prints one line and returns 2; a dataset that cannot be downloaded from here
    (`--download` offline) prints one line and returns 1. TensorFlow's log level is set by the
    console script (`keras_gen_cli.main`) before TensorFlow is imported: here it is too late.
    """
    from keras_gen.data import DownloadUnavailableError

    try:
        argv = sys.argv[1:] if argv is None else [str(a) for a in argv]
        args = build_parser().parse_args(argv)
        args.argv = ["keras-gen", *argv]  # the command line, for the run record
        return _handlers()[args.command](args)
    except arguments.UsageError as error:
        print(error, file=sys.stderr)
        return 2
    except DownloadUnavailableError as error:
        print(f"keras-gen {args.command}: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
