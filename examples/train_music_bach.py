"""MusicVAE or Transformer-XL on the Bach chorales of music21's corpus, measured on the held-out chorales.

`--model vae`: a `MusicVAE` on 4-bar piano-roll windows (64 sixteenth-note
frames, the training split transposed by -5..+6 semitones); prints the test
windows' importance-weighted log-likelihood (K = `--importance-samples`) in
nats per frame. `--model transformer_xl`: a `MusicTransformerXL` on the event
tokens of the same chorales read in consecutive segments; prints the test
split's bits per event token and the same in nats per sixteenth-note frame.
Both then generate pieces and print their sample statistics beside the test
chorales' (and the training chorales' as a reference point) at each of
`--temperatures`, and write a WAV (8 kHz, the first `--sample-frames` frames),
a MIDI file and a piano-roll PNG of the first sample, and `results.json`.

    python examples/train_music_bach.py --model vae --steps 3000
    python examples/train_music_bach.py --model transformer_xl --steps 3000
"""

import argparse
import json
import math
import os
import time

import keras
import numpy as np

import keras_gen
from keras_gen.callbacks import audio_sample
from keras_gen.data import music
from keras_gen.utils import audio, images


def _train(model, dataset, steps, steps_per_epoch, validation=None):
    """Trains for `steps` updates in epochs of at most `steps_per_epoch`; returns the seconds."""
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    epochs = math.ceil(steps / steps_per_epoch)
    if steps % epochs:
        raise ValueError(f"--steps must divide into {epochs} equal epochs. Received: {steps}")
    start = time.time()
    model.fit(
        dataset.repeat(),
        epochs=epochs,
        steps_per_epoch=steps // epochs,
        validation_data=validation,
        verbose=2,
    )
    return time.time() - start


def vae(args, test_pieces):
    dataset, info = keras_gen.data.load_music(
        "bach_chorales",
        sequence_length=64,
        batch_size=args.batch_size,
        seed=0,
        transpose=range(-5, 7),
    )
    keras.utils.set_random_seed(0)
    model = keras_gen.models.MusicVAE(
        data_shape=info.shape,
        latent_dim=64,
        hidden_dim=args.hidden_dim,
        bars=4,
        free_bits=args.free_bits,
        beta_warmup_steps=args.steps // 2,
        seed=0,
    )
    seconds = _train(model, dataset, args.steps, info.num_examples // args.batch_size)
    windows = music.pianoroll_windows(test_pieces, 64).astype("float32")
    log_likelihood = keras_gen.metrics.log_likelihood(
        model, windows, num_importance_samples=args.importance_samples, seed=0
    )
    elbo = keras_gen.metrics.evidence_lower_bound(model, windows, seed=0)
    results = dict(
        test_windows=len(windows),
        nats_per_frame=-log_likelihood / 64,
        elbo_nats_per_frame=-elbo / 64,
        importance_samples=args.importance_samples,
    )
    print(
        f"held-out: {results['nats_per_frame']:.3f} nats per frame (K={args.importance_samples}), "
        f"ELBO {results['elbo_nats_per_frame']:.3f}, {len(windows)} test windows of 64 frames"
    )

    def sample(temperature):
        return list(model.generate_pianorolls(args.samples, seed=0, temperature=temperature))

    return model, sample, seconds, results


def transformer_xl(args, test_pieces):
    load = dict(representation="events", sequence_length=64, batch_size=args.batch_size)
    dataset, info = keras_gen.data.load_music(
        "bach_chorales", consecutive=True, transpose=range(-5, 7), **load
    )
    test, test_info = keras_gen.data.load_music(
        "bach_chorales", split="test", consecutive=True, **{**load, "batch_size": 8}
    )
    keras.utils.set_random_seed(0)
    model = keras_gen.models.MusicTransformerXL(
        segment_length=64,
        memory_length=64,
        num_layers=4,
        num_heads=4,
        hidden_dim=args.hidden_dim,
        dropout=0.1,
        seed=0,
    )
    steps_per_epoch = info.num_examples // (args.batch_size * 64)
    seconds = _train(model, dataset, args.steps, steps_per_epoch)
    bits = model.evaluate(test, verbose=0, return_dict=True)["bits_per_byte"]
    tokens_per_step = test_info.num_examples / test_info.num_steps
    results = dict(
        bits_per_token=bits,
        nats_per_frame=bits * math.log(2.0) * tokens_per_step,
        test_tokens=test_info.num_examples,
        test_steps=test_info.num_steps,
    )
    print(
        f"held-out: {bits:.3f} bits per event token ({test_info.num_examples} tokens), "
        f"{results['nats_per_frame']:.3f} nats per sixteenth-note frame"
    )

    def sample(temperature):
        return model.generate_pianorolls(
            args.samples, num_tokens=args.sample_tokens, temperature=temperature, seed=0
        )

    return model, sample, seconds, results


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=("vae", "transformer_xl"), default="vae")
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--hidden-dim", type=int, default=128)
    parser.add_argument("--free-bits", type=float, default=16.0)
    parser.add_argument("--importance-samples", type=int, default=100)
    parser.add_argument(
        "--samples", type=int, default=32, help="pieces generated for the statistics"
    )
    parser.add_argument("--sample-tokens", type=int, default=512)
    parser.add_argument(
        "--temperatures",
        default="1.0",
        help="comma-separated sampling temperatures (the first: files)",
    )
    parser.add_argument("--sample-frames", type=int, default=64, help="frames of sample.wav")
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    out = args.out or f"runs/example-music-{args.model}"
    os.makedirs(out, exist_ok=True)

    train_pieces = music.pieces_for("bach_chorales", "train")
    test_pieces = music.pieces_for("bach_chorales", "test")
    model, sample, seconds, results = (vae if args.model == "vae" else transformer_xl)(
        args, test_pieces
    )
    reference = keras_gen.metrics.music_statistics(test_pieces)
    results.update(
        model=args.model,
        steps=args.steps,
        seconds=seconds,
        training_chorales=keras_gen.metrics.compare_music(train_pieces, reference),
        samples={},
    )
    temperatures = [float(t) for t in args.temperatures.split(",")]
    for temperature in temperatures:
        samples = [s for s in sample(temperature) if np.asarray(s).any()]
        results["samples"][str(temperature)] = dict(
            nonsilent=len(samples),
            statistics=keras_gen.metrics.compare_music(samples, reference) if samples else None,
        )
        if temperature == temperatures[0] and samples:
            first = np.asarray(samples[0])[: args.sample_frames]
            audio.write_wav(os.path.join(out, "sample.wav"), audio.render(first, 8000), 8000)
            audio.write_midi(os.path.join(out, "sample.mid"), first)
            picture = audio_sample.pianoroll_pictures([first])[0]
            images.save_png(picture, os.path.join(out, "sample.png"))
    print(json.dumps(results, indent=1, default=float))
    with open(os.path.join(out, "results.json"), "w") as file:
        json.dump(results, file, indent=1, default=float)
    model.save(os.path.join(out, "model.keras"))
    print(f"wrote {out}/results.json, model.keras, sample.wav/.mid/.png ({seconds:.0f} s training)")


if __name__ == "__main__":
    main()
