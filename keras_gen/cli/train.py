"""`keras-gen train`: resolve the run directory, load data, build or restore, callbacks, fit and save.

Each step reads the model's recipe (`keras_gen.cli.recipes`) for what the
family needs; none looks at the model to decide.
"""

import dataclasses
import os
import signal
import sys
import time

from keras_gen.cli import recipes, records
from keras_gen.cli.arguments import UsageError, check_dataset_name

PROG = "keras-gen train"
DEFAULT_BATCH_SIZE = 64
#: The flags `--resume` takes from the run's `run.json` when not given, and their entries of
#: its `dataset`.
RESUMED_FLAGS = {
    "dataset": "name",
    "batch_size": "batch_size",
    "image_size": "image_size",
    "steps_per_epoch": "steps_per_epoch",
}


@dataclasses.dataclass(frozen=True)
class Run:
    """Where a run writes (`logdir`, `backup_dir`) and the strategy it trains under."""

    logdir: str
    backup_dir: str
    strategy: object


@dataclasses.dataclass(frozen=True)
class TrainingData:
    """What `fit` reads, and what the pictures show.

    Attributes:
        name: the dataset's name.
        dataset: the training `tf.data.Dataset`.
        info: its `DatasetInfo` (samples) or `TextInfo` (text).
        description: a few words for the start-up line.
        fingerprint: `records.fingerprint` of the unshuffled training split.
        validation: the test split (language models, recipes that `validate`), or None.
        preview: `(images, labels)` for the reconstruction grid (video: held-out
            clips for the predictions), or None.
        tokenizer: a video model's trained frame tokenizer, or None.
        steps_per_epoch: updates per epoch of an endless dataset (video), or None.
    """

    name: str
    dataset: object
    info: object
    description: str
    fingerprint: str
    validation: object = None
    preview: object = None
    tokenizer: object = None
    steps_per_epoch: object = None


def train(args):
    """Trains the model `args.model` as its recipe says; returns the exit status (130 on Ctrl-C)."""
    recipe = recipes.RECIPES[args.model]
    logdir = resolve_logdir(args)
    previous = read_previous_record(args, logdir)
    apply_benchmark_setup(args, recipe)
    check_flags(args, recipe)
    run = resolve_run(args, logdir)
    data = load_data(args, recipe, run)
    check_same_data(previous, data, run)
    model, initial_epoch = build_or_restore(args, recipe, run, data)
    os.makedirs(run.logdir, exist_ok=True)
    records.link_latest(run.logdir, args.model)
    epochs = args.epochs or recipes.default_epochs(args.model, dataset_name(args, recipe))
    print(
        f"Training {args.model} on {data.name} ({data.description}) for {epochs} epochs; "
        f"logs in {run.logdir}"
    )
    record = run_record(args, run, data, model, epochs)
    session = {"command": records.command_line(args), "initial_epoch": initial_epoch}
    callback_list = make_callbacks(args, recipe, run, data, (record, session))
    return fit_and_save(model, data, run, callback_list, epochs, initial_epoch, verbosity(args))


def verbosity(args):
    """`--verbose`, else a progress bar in a terminal and one line per epoch elsewhere."""
    if args.verbose is not None:
        return args.verbose
    return 1 if sys.stdout.isatty() else 2


def check_flags(args, recipe):
    """Refuses flags the recipe has no use for, before anything is loaded."""
    if args.latent_dim and recipe.latent_dim is None:
        raise UsageError(f"{PROG}: {args.model} has no latent vector; drop --latent-dim.")
    if args.fid_every and recipes.FID not in recipe.metrics:
        raise UsageError(
            f"{PROG}: --fid-every measures images; {args.model} does not generate them"
            + (" (it logs val_bits_per_byte on the test split instead)." if recipe.text else ".")
        )
    _check_pack(args, recipe)
    if getattr(args, "tokenizer_steps", None) is not None and recipe.video is None:
        raise UsageError(f"{PROG}: --tokenizer-steps is for video models; {args.model} has none.")
    if recipe.video is not None and args.strategy == "multiworker":
        raise UsageError(
            f"{PROG}: {args.model} trains its frame tokenizer in-process before the Transformer, "
            "which several workers would each do differently; train it on one machine "
            "(--strategy auto, default or mirrored). Received: --strategy multiworker"
        )
    if getattr(args, "coupling", None) and recipe.family != "flow":
        raise UsageError(
            f"{PROG}: --coupling chooses the couplings of a flow (realnvp, glow); "
            f"{args.model} has none. Received: --coupling {args.coupling}"
        )
    name = dataset_name(args, recipe)
    if recipe.music is not None:
        if name != "bach_chorales" and not os.path.exists(name):
            raise UsageError(
                f"{PROG}: {args.model} trains on music: --dataset bach_chorales, or a MIDI / "
                f"MusicXML file or a folder of them. Received: --dataset {name}"
            )
        return
    if recipe.video is not None:
        if name != "moving_mnist" and not os.path.isdir(name):
            raise UsageError(
                f"{PROG}: {args.model} trains on video: --dataset moving_mnist, or a folder of "
                f"GIF files or of frame folders. Received: --dataset {name}"
            )
        return
    check_dataset_name(name, text=recipe.text is not None, command=PROG)


def _check_pack(args, recipe):
    if not getattr(args, "pack", None):
        return
    if recipe.optimizers != recipes.TWO_OPTIMIZERS or recipe.labelled:
        raise UsageError(
            f"{PROG}: --pack packs the discriminator's inputs of an unconditional GAN (PacGAN); "
            f"{args.model} has none. Received: --pack {args.pack}"
        )
    if args.batch_size % args.pack:
        raise UsageError(
            f"{PROG}: --batch-size must be a multiple of --pack (each pack holds --pack "
            f"samples). Received: --batch-size {args.batch_size} --pack {args.pack}"
        )


def dataset_name(args, recipe):
    return args.dataset or recipe.default_dataset


def resolve_logdir(args):
    """The run directory: `--logdir`, the newest run for `--resume`, or a new one."""
    if args.logdir is not None:
        return args.logdir
    if args.resume:
        logdir = records.newest_run(args.model)
        if logdir is None:
            raise UsageError(
                f"{PROG}: --resume found no runs/{args.model}-* directory; pass --logdir."
            )
        return logdir
    return os.path.join(records.RUNS, f"{args.model}-{time.strftime('%Y%m%d-%H%M%S')}")


def read_previous_record(args, logdir):
    """With `--resume`: the run's `run.json` (or None), whose dataset and batch size fill the flags.

    Refuses another model, and a data flag that contradicts the record (the
    resumed epochs would read other data than the first ones).
    """
    from keras_gen import callbacks

    previous = None
    if args.resume and os.path.exists(os.path.join(logdir, callbacks.run_record.RECORD_FILE)):
        try:
            previous = callbacks.run_record.read_record(logdir)
        except ValueError as error:
            raise UsageError(f"{PROG}: {error}") from None
        recorded = previous.get("model", {}).get("name", args.model)
        if recorded != args.model:
            raise UsageError(
                f"{PROG}: {logdir} holds a {recorded} run; --resume continues it only as "
                f"`keras-gen train {recorded} --resume`. Received: model {args.model}"
            )
        for flag, entry in RESUMED_FLAGS.items():
            value = previous.get("dataset", {}).get(entry)
            given = getattr(args, flag)
            if given is not None and value is not None and given != value:
                option = "--" + flag.replace("_", "-")
                raise UsageError(
                    f"{PROG}: {logdir} was trained with {option} {value}; --resume continues "
                    f"it only with the same data. Received: {option} {given}"
                )
            if given is None:
                setattr(args, flag, value)
    return previous


def apply_benchmark_setup(args, recipe):
    """Fills the flags not given from the recipe's `BenchmarkSetup` on the dataset, if any.

    On a mode-coverage benchmark dataset (grid25, ring8, stacked MNIST) the
    recipe trains as a row of `benchmarks/mode_coverage.py` measured it
    (docs/sample_quality.md); elsewhere only the batch size gets its default.
    """
    setup = recipes.benchmark_setup(args.model, dataset_name(args, recipe))
    if setup is None:
        if args.batch_size is None:
            args.batch_size = DEFAULT_BATCH_SIZE
        return
    for flag in ("pack", "batch_size", "steps_per_epoch", "latent_dim"):
        if getattr(args, flag, None) is None and getattr(setup, flag) is not None:
            setattr(args, flag, getattr(setup, flag))
    print(
        f"{args.model} on {dataset_name(args, recipe)}: the benchmark setup of "
        f"docs/sample_quality.md ({setup.source}): --pack {args.pack} --batch-size "
        f"{args.batch_size} --steps-per-epoch {args.steps_per_epoch}, Adam {setup.optimizer}"
        + (", PacGAN's toy networks" if setup.networks else "")
    )


def check_same_data(previous, data, run):
    """Refuses to resume on data whose fingerprint differs from the run's first session."""
    recorded = (previous or {}).get("dataset", {}).get("fingerprint")
    if recorded is not None and recorded != data.fingerprint:
        raise UsageError(
            f"{PROG}: the data of {data.name} changed since {run.logdir} started "
            f"(fingerprint {recorded[:12]}..., now {data.fingerprint[:12]}...); resume on "
            "the same data or start a new run."
        )


def resolve_run(args, logdir):
    """The run of `logdir` with its strategy (a worker's own subdirectory under several workers).

    Also sets the precision policy and the global seed, before any model exists.
    """
    import keras

    from keras_gen.utils import distribution

    keras.mixed_precision.set_global_policy(args.precision)
    keras.utils.set_random_seed(args.seed)
    strategy = _strategy(args.strategy)
    if distribution.is_multi_worker(strategy) and not _is_chief(strategy):
        logdir = os.path.join(logdir, "workers", str(strategy.cluster_resolver.task_id))
    return Run(logdir, os.path.join(logdir, "backup"), strategy)


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


def _is_chief(strategy):
    resolver = strategy.cluster_resolver
    return resolver.task_type in (None, "chief") or (
        resolver.task_type == "worker" and resolver.task_id == 0
    )


def load_data(args, recipe, run=None):
    """The training data of the recipe's kind: text for a language model, else samples.

    A video model's frame tokenizer is trained (or read from `run.logdir`) here too.
    """
    if recipe.video is not None:
        return _load_video(args, recipe, run)
    if recipe.music is not None:
        return _load_music(args, recipe)
    return _load_text(args, recipe) if recipe.text is not None else _load_samples(args, recipe)


def _load_music(args, recipe):
    from keras_gen import data

    name = dataset_name(args, recipe)
    kind = recipe.music

    def load(**kwargs):
        options = {"batch_size": args.batch_size, **kwargs}
        return data.load_music(
            name,
            kind.representation,
            sequence_length=kind.sequence_length,
            consecutive=kind.consecutive,
            **options,
        )

    try:
        dataset, info = load(
            seed=args.seed,
            steps_per_epoch=args.steps_per_epoch,
            transpose=recipes.MUSIC_TRANSPOSE,
        )
        fingerprint = records.fingerprint(load(shuffle=False, transpose=recipes.MUSIC_TRANSPOSE)[0])
    except ValueError as error:
        raise UsageError(f"{PROG}: --dataset {name}: {error}") from None
    validation = None
    if name == "bach_chorales" or os.path.isdir(os.path.join(name, "validation")):
        # Piano-roll windows are scored in batches of at most 64 (the chorales' validation
        # split holds 149); an event model's memory needs the training batch size.
        batch = args.batch_size if kind.consecutive else min(args.batch_size, 64)
        try:
            validation, _ = load(split="validation", shuffle=False, batch_size=batch)
        except ValueError as error:  # e.g. fewer windows than a batch
            raise UsageError(f"{PROG}: --dataset {name}, its validation split: {error}") from None
    unit = "event tokens" if kind.representation == "events" else "windows"
    description = (
        f"{info.num_pieces} pieces in {len(recipes.MUSIC_TRANSPOSE)} keys, {info.num_examples} "
        f"{unit} of {kind.sequence_length}"
    )
    return TrainingData(name, dataset, info, description, fingerprint, validation=validation)


def _video_clips(name, split, kind, count=None):
    """uint8 clips `(n, frames, h, w, c)` of Moving MNIST or of a folder's split."""
    import numpy as np

    from keras_gen import data
    from keras_gen.utils import images

    if name == "moving_mnist":
        frames, _ = data.video.moving_mnist_arrays(
            split, num_sequences=count or kind.num_sequences, num_frames=kind.num_frames
        )
        return frames[..., None]
    dataset, _ = data.load_video(
        name, split=split, num_frames=kind.num_frames, batch_size=64, shuffle=False
    )
    clips = np.concatenate([images.to_uint8(batch.numpy()) for batch in dataset])
    return clips[:count] if count else clips


def _unit(clips):
    return clips.astype("float32") / 127.5 - 1.0


def _frame_tokenizer(args, kind, clips, run):
    """The run's `tokenizer.keras`, else a `frame_tokenizer` trained on random frames and saved."""
    import keras
    import numpy as np

    from keras_gen import models, saving

    path = os.path.join(run.logdir, "tokenizer.keras")
    if os.path.exists(path):
        print(f"Frame tokenizer: {path}")
        return saving.load_model(path)
    if args.resume and os.path.isdir(run.backup_dir):
        raise UsageError(
            f"{PROG}: {run.logdir} has a backup but no tokenizer.keras: the Transformer was "
            "trained on another tokenizer's codes, which a new one would not reproduce."
        )
    frames = clips.reshape(-1, *clips.shape[2:])
    steps = args.tokenizer_steps or kind.tokenizer_steps
    print(f"Training the frame tokenizer: {steps} updates on batches of 64 of {len(frames)} frames")
    keras.utils.set_random_seed(args.seed)
    tokenizer = models.frame_tokenizer(frames.shape[1:], seed=args.seed, **kind.tokenizer_kwargs)
    tokenizer.compile(optimizer=keras.optimizers.Adam(1e-3))
    rng = np.random.default_rng(args.seed)

    def batches():
        while True:
            yield (_unit(frames[rng.integers(0, len(frames), 64)]),)

    tokenizer.fit(batches(), steps_per_epoch=steps, epochs=1, verbose=verbosity(args))
    os.makedirs(run.logdir, exist_ok=True)
    saving.save_model(tokenizer, path)
    return tokenizer


def _video_tokens(tokenizer, clips):
    import numpy as np

    from keras_gen.models.video import video_transformer_xl

    return np.concatenate(
        [
            video_transformer_xl.clip_tokens(tokenizer, _unit(clips[i : i + 256]))
            for i in range(0, len(clips), 256)
        ]
    )


def _load_video(args, recipe, run):
    from keras_gen.models.video import video_transformer_xl

    name, kind = dataset_name(args, recipe), recipe.video
    try:
        clips = _video_clips(name, "train", kind)
        held_out = name == "moving_mnist" or os.path.isdir(os.path.join(name, "test"))
        validation_clips = (
            _video_clips(name, "test", kind, kind.validation_clips) if held_out else None
        )
        if len(clips) < args.batch_size:
            raise ValueError(f"{len(clips)} clips, fewer than --batch-size {args.batch_size}")
        tokenizer = _frame_tokenizer(args, kind, clips, run)
        tokens = _video_tokens(tokenizer, clips)
        per_frame = tokens.shape[1] // kind.num_frames
        segment = recipe.model_kwargs.get("segment_length", per_frame)  # the model's default
        dataset = video_transformer_xl.consecutive_segments(tokens, args.batch_size, segment)
        validation = None
        if validation_clips is not None and len(validation_clips) >= args.batch_size:
            validation = video_transformer_xl.consecutive_segments(
                _video_tokens(tokenizer, validation_clips), args.batch_size, segment
            )
        elif validation_clips is not None:
            print(
                f"No validation: {len(validation_clips)} held-out clips, fewer than "
                f"--batch-size {args.batch_size} (the memory's rows)."
            )
    except ValueError as error:
        raise UsageError(f"{PROG}: --dataset {name}: {error}") from None
    fingerprint = records.fingerprint([(_unit(clips[:256]),)])
    per_epoch = args.steps_per_epoch or kind.steps_per_epoch
    steps = "read" if os.path.exists(os.path.join(run.logdir, "tokenizer.keras")) else "trained"
    description = (
        f"{len(clips)} clips of {kind.num_frames} frames of {clips.shape[2]}x{clips.shape[3]}, "
        f"{per_frame} tokens a frame; frame tokenizer {steps}, "
        f"{args.tokenizer_steps or kind.tokenizer_steps} updates"
    )
    preview = None if validation_clips is None else _unit(validation_clips[:4])
    return TrainingData(
        name,
        dataset.repeat(),
        None,
        description,
        fingerprint,
        validation=validation,
        preview=preview,
        tokenizer=tokenizer,
        steps_per_epoch=per_epoch,
    )


def _load_text(args, recipe):
    from keras_gen import data

    name = dataset_name(args, recipe)

    def load(**kwargs):
        return data.load_text(
            name,
            sequence_length=recipe.text_length,
            batch_size=args.batch_size,
            consecutive=recipe.text.consecutive,
            data_dir=args.data_dir,
            download=args.download,
            **kwargs,
        )

    dataset, info = load(seed=args.seed, steps_per_epoch=args.steps_per_epoch)
    validation, _ = load(split="test", shuffle=False)
    description = f"{info.num_tokens} bytes, segments of {recipe.text_length}"
    fingerprint = records.fingerprint(load(shuffle=False)[0])
    return TrainingData(name, dataset, info, description, fingerprint, validation=validation)


def _load_samples(args, recipe):
    from keras_gen import data

    name = dataset_name(args, recipe)

    def load(**kwargs):
        return data.load(
            name,
            labels=recipe.labelled,
            data_dir=args.data_dir,
            download=args.download,
            image_size=args.image_size,
            **kwargs,
        )

    training = dict(
        batch_size=args.batch_size, seed=args.seed, steps_per_epoch=args.steps_per_epoch
    )
    dataset, info = load(**training)
    _check_samples(args, recipe, name, info)
    binarize = recipes.binarize(args.model, info.shape)
    if binarize:
        # The Bernoulli likelihood is a probability of binary images.
        dataset, info = load(binarize=True, **training)
    preview = None
    if recipe.reconstructs and recipes.data_kind(info.shape) == recipes.IMAGES:
        preview = _preview(load, dataset, binarize, recipe.labelled)
    description = f"{info.num_examples} examples of shape {info.shape}"
    unshuffled, _ = load(batch_size=500, shuffle=False, binarize=binarize)
    fingerprint = records.fingerprint(unshuffled)
    validation = None
    if recipe.validates:
        validation = _test_split(load, name, args.batch_size, binarize)
    return TrainingData(
        name, dataset, info, description, fingerprint, validation=validation, preview=preview
    )


def _test_split(load, name, batch_size, binarize):
    """The dataset's test split for `validation_data`, or None when it has none (a directory)."""
    if os.path.isdir(name):  # a directory is one split: it would validate on the training data
        return None
    try:
        return load(split="test", batch_size=batch_size, shuffle=False, binarize=binarize)[0]
    except (ValueError, FileNotFoundError):
        return None


def _check_samples(args, recipe, name, info):
    kind = recipes.data_kind(info.shape)
    if kind not in recipe.data:
        raise UsageError(
            f"{PROG}: {args.model} trains on {' or '.join(recipe.data)}; {name} holds {kind}."
        )
    if args.fid_every and kind != recipes.IMAGES:
        raise UsageError(f"{PROG}: --fid-every measures images; {name} holds {kind}.")
    if recipe.labelled and info.num_classes is None:
        raise UsageError(f"{PROG}: {args.model} needs a labelled dataset; {name} has no labels.")
    from keras_gen.data import datasets

    captioned = name in datasets.CAPTIONED
    if recipe.captioned and not captioned:
        raise UsageError(
            f"{PROG}: {args.model} trains on captioned images ({', '.join(datasets.CAPTIONED)}); "
            f"{name} has no captions."
        )
    if captioned and not recipe.captioned:
        raise UsageError(
            f"{PROG}: {name} pairs images with captions; {args.model} trains on images "
            f"alone (the captioned models: {recipes.names_with(lambda r: r.captioned)})."
        )


def _preview(load, dataset, binarize, labelled):
    """Eight test images (and labels) for the reconstruction grid; training images without a test split."""
    try:
        test, _ = load(split="test", batch_size=8, shuffle=False, binarize=binarize)
    except (ValueError, FileNotFoundError):  # no test split: show training images
        test = dataset.unbatch().batch(8)
    first = next(iter(test))
    return (first[0].numpy(), first[1].numpy()) if labelled else (first.numpy(), None)


def build_or_restore(args, recipe, run, data):
    """`(model, initial_epoch)`: the backup of the run with `--resume`, else a new compiled model."""
    from keras_gen import callbacks, models

    with run.strategy.scope():
        restored = callbacks.Backup.restore(run.backup_dir) if args.resume else None
        if restored:
            model, initial_epoch, saved_run = restored
            if saved_run.get("model", args.model) != args.model:
                raise UsageError(
                    f"{PROG}: {run.logdir} holds a {saved_run['model']} run; --resume "
                    f"continues it only as `keras-gen train {saved_run['model']} --resume`. "
                    f"Received: model {args.model}"
                )
            if args.no_jit:
                model.jit_compile = False
            _check_same_tokenizer(model, data.tokenizer, run)
            print(f"Resuming {run.logdir} after epoch {initial_epoch}.")
            return model, initial_epoch
        if args.resume:
            print(f"No backup in {run.backup_dir}; starting from scratch.")
        model = recipes.build_model(
            models.get(args.model),
            args.model,
            getattr(data.info, "shape", None),
            getattr(data.info, "num_classes", None),
            args.latent_dim,
            args.seed,
            pack=args.pack,
            coupling=args.coupling,
            tokenizer=data.tokenizer,
            dataset=data.name,
        )
        recipes.compile_model(
            model, args.model, jit_compile=False if args.no_jit else "auto", dataset=data.name
        )
    return model, 0


def _check_same_tokenizer(model, tokenizer, run):
    """Refuses to resume a video model whose tokenizer is not the one its data was coded with."""
    import numpy as np

    if tokenizer is None:
        return
    saved = model.tokenizer.get_weights()
    if len(saved) != len(tokenizer.get_weights()) or not all(
        np.array_equal(a, b) for a, b in zip(saved, tokenizer.get_weights())
    ):
        raise UsageError(
            f"{PROG}: the backup's frame tokenizer differs from {run.logdir}/tokenizer.keras, "
            "whose codes the data was made with."
        )


def run_record(args, run, data, model, epochs):
    """`run.json`'s content: what produced the run, from the command to the versions."""
    info = data.info
    return {
        "model": records.model_record(args.model, model),
        "dataset": {
            "name": data.name,
            "description": data.description,
            "fingerprint": data.fingerprint,
            "fingerprint_of": f"SHA-256 of the first {records.FINGERPRINT_EXAMPLES} examples "
            "of the unshuffled training split as float32 (with labels)",
            "shape": list(getattr(info, "shape", ()) or ()) or None,
            "num_classes": getattr(info, "num_classes", None),
            "batch_size": args.batch_size,
            "image_size": args.image_size,
            "steps_per_epoch": args.steps_per_epoch,
            "data_dir": args.data_dir,
        },
        "seed": args.seed,
        "epochs": epochs,
        "strategy": {
            "name": args.strategy,
            "class": type(run.strategy).__name__,
            "replicas": run.strategy.num_replicas_in_sync,
        },
        "precision": args.precision,
        "jit_compile_requested": False if args.no_jit else "auto",
        "versions": records.versions(),
    }


def make_callbacks(args, recipe, run, data, record_and_session):
    """The metrics, TensorBoard, the recipe's pictures, the run record and the backup, in order.

    Metrics come first so that TensorBoard and the run record log their
    values, the backup last so that it follows everything else the epoch wrote.
    `record_and_session`: `run.json`'s content (`run_record`) and this
    session's command and first epoch.
    """
    from keras_gen import callbacks

    metrics = [_fid(args, run, data)] if args.fid_every else []
    callback_list = [*metrics, callbacks.TensorBoard(run.logdir, write_graph=False)]
    for name in recipe.callbacks:
        picture = PICTURES[name](args, recipe, run, data)
        if picture is not None:
            callback_list.append(picture)
    record, session = record_and_session
    callback_list.append(
        callbacks.RunRecord(
            run.logdir,
            record,
            hparams=records.hparams(record),
            metric_callbacks=metrics,
            session=session,
        )
    )
    run_description = {"model": args.model, "dataset": data.name, "seed": args.seed}
    callback_list.append(callbacks.Backup(run.backup_dir, run=run_description))
    return callback_list


def _fid(args, run, data):
    from keras_gen import callbacks
    from keras_gen import data as datasets

    reference, _ = datasets.load(
        data.name,
        split="train",
        batch_size=500,
        shuffle=False,
        data_dir=args.data_dir,
        image_size=args.image_size,
    )
    return callbacks.FIDCallback(
        reference,
        "mnist",
        num_samples=args.fid_samples,
        every=args.fid_every,
        log_dir=run.logdir,
        reference_samples=args.fid_samples,
    )


def _sample_grid(args, recipe, run, data):
    from keras_gen import callbacks
    from keras_gen.data import toy

    # The 2-D mixtures' scatter plots mark the true modes and their 3-std circles.
    modes, mode_std = toy.scaled_centers(data.name) if data.name in toy.MIXTURES else (None, None)
    return callbacks.ImageGridCallback(
        log_dir=run.logdir,
        png_dir=run.logdir,
        num_samples=args.grid_samples,
        modes=modes,
        mode_std=mode_std,
    )


def _reconstruction_grid(args, recipe, run, data):
    from keras_gen import callbacks

    if data.preview is None:  # not images
        return None
    images, labels = data.preview
    return callbacks.ReconstructionGridCallback(
        images,
        log_dir=run.logdir,
        png_dir=run.logdir,
        labels=labels,
        interpolation_steps=8 if recipe.interpolates else 0,
    )


def _prompt_grid(args, recipe, run, data):
    from keras_gen import callbacks
    from keras_gen.data import captions

    return callbacks.PromptGridCallback(
        list(captions.GRID_PROMPTS),
        log_dir=run.logdir,
        png_dir=run.logdir,
        steps=25,
        guidance_scale=recipes.GUIDANCE_SCALE,
        columns=6,
    )


def _audio_samples(args, recipe, run, data):
    from keras_gen import callbacks

    # A piano-roll model writes windows of its length; an event model's pieces run on: 8 bars.
    kind = recipe.music
    frames = kind.sequence_length if kind.representation == "pianoroll" else 128
    return callbacks.AudioSampleCallback(run.logdir, num_samples=2, num_steps=frames)


def _video_samples(args, recipe, run, data):
    from keras_gen import callbacks

    # Predictions of held-out clips (half observed) beside 4 generated clips.
    clips, frames = data.preview, recipe.video.num_frames
    half = frames // 2
    return callbacks.VideoSampleCallback(
        run.logdir,
        num_samples=4,
        num_frames=frames,
        context=None if clips is None else clips[:, :half],
        truth=None if clips is None else clips[:, half:],
    )


def _text_samples(args, recipe, run, data):
    from keras_gen import callbacks

    return callbacks.TextSampleCallback("The ", log_dir=run.logdir)


#: The picture callbacks a recipe names, each built from `(args, recipe, run, data)`
#: (None: nothing to show).
PICTURES = {
    recipes.SAMPLE_GRID: _sample_grid,
    recipes.RECONSTRUCTION_GRID: _reconstruction_grid,
    recipes.TEXT_SAMPLES: _text_samples,
    recipes.PROMPT_GRID: _prompt_grid,
    recipes.AUDIO_SAMPLES: _audio_samples,
    recipes.VIDEO_SAMPLES: _video_samples,
}


def fit_and_save(model, data, run, callback_list, epochs, initial_epoch, verbose):
    """Fits, then saves `model.keras`; on Ctrl-C saves `interrupted.keras` and returns 130."""
    from keras_gen import callbacks, saving

    # Ctrl-C saves and exits, also where the shell started us with SIGINT
    # ignored (a background job of a script), which Python would otherwise keep.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    record = next(c for c in callback_list if isinstance(c, callbacks.RunRecord))
    dataset, per_epoch = data.dataset, data.steps_per_epoch
    if per_epoch:  # an endless stream: a resumed run reads on where the finished epochs stopped
        dataset = dataset.skip(initial_epoch * per_epoch)
    try:
        model.fit(
            dataset,
            epochs=epochs,
            steps_per_epoch=per_epoch,
            initial_epoch=initial_epoch,
            verbose=verbose,
            shuffle=False,
            validation_data=data.validation,
            callbacks=callback_list,
        )
    except Exception:
        record.finish(callbacks.run_record.FAILED)
        raise
    except KeyboardInterrupt:
        record.finish(callbacks.run_record.INTERRUPTED)
        interrupted = os.path.join(run.logdir, "interrupted.keras")
        saving.save_model(model, interrupted)
        print(
            f"\nInterrupted: the model as it was is in {interrupted}; run the same command "
            f"with --resume --logdir {run.logdir} to continue from the last finished epoch."
        )
        return 130
    final = os.path.join(run.logdir, "model.keras")
    saving.save_model(model, final)
    print(f"Saved {final}.")
    print(where_to_look(run.logdir))
    return 0


def where_to_look(logdir):
    """The closing lines of a run: what it wrote and the commands that show it."""
    pictures = len([name for name in os.listdir(logdir) if name.endswith(".png")])
    wrote = ["run.json (what produced it)", "model.keras", "backup/ (for --resume)"]
    if pictures:
        wrote.insert(1, f"{pictures} PNG pictures")
    gifs = os.path.exists(os.path.join(logdir, "tokenizer.keras"))  # a video run
    hint = " --gif clips.gif" if gifs else (" --prompt TEXT" if not pictures else "")
    sample = "keras-gen sample " + logdir + hint
    return "\n".join(
        [
            f"{logdir} holds {', '.join(wrote)}.",
            f"  TensorBoard:  tensorboard --logdir {logdir} --samples_per_plugin images=1000",
            f"  Sample it:    {sample}",
        ]
    )
