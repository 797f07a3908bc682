"""VideoGPT's recipe on Moving MNIST: a VQ-VAE frame tokenizer, then Transformer-XL over the frame codes.

Moving MNIST is made from mnist5k's digits (`keras_gen.data.load_video`):
`--train-clips` training sequences (training digits, seed 0) and the fixed
test set (1,000 sequences of test digits). The tokenizer (`frame_tokenizer`:
64x64 frames -> 8x8 codes of a 256-entry codebook) trains for
`--tokenizer-steps` on single frames, then `VideoTransformerXL` for `--steps`
on the clips' token stream (a segment of one frame, a memory of two).

Measured on the fixed test set (`--eval-clips` of it), as the benchmark
does: 10 frames observed, 10 predicted (greedy): per-frame MSE, PSNR and
SSIM beside the copy-last-frame baseline and the tokenizer's own
reconstructions of the true frames (the floor of any prediction through its
codes). Then the Fréchet video distance (shipped `MovingMNISTFeatures`) of
`--num-samples` generated clips against test clips, of test clips against
training clips, and the motion and digit-persistence scores of each. Writes
`results.json`, the model, and GIFs of predictions and samples to `--out`.

    python examples/train_video_moving_mnist.py --tokenizer-steps 3000 --steps 6000
"""

import argparse
import json
import os
import time

import keras
import numpy as np

import keras_gen
from keras_gen import saving
from keras_gen.data import video
from keras_gen.metrics import video as video_metrics
from keras_gen.metrics import video_features
from keras_gen.models.video import video_transformer_xl
from keras_gen.utils import images


def _unit(frames):
    return frames.astype("float32")[..., None] / 127.5 - 1.0


def train_tokenizer(train_frames, args):
    """The VQ-VAE on random training frames; returns it and the seconds it took."""
    keras.utils.set_random_seed(args.seed)
    tokenizer = keras_gen.models.frame_tokenizer(
        (64, 64, 1), num_embeddings=256, ema_decay=0.99, seed=args.seed
    )
    tokenizer.compile(optimizer=keras.optimizers.Adam(1e-3))
    rng = np.random.default_rng(args.seed)
    flat = train_frames.reshape(-1, 64, 64)

    def batches():
        while True:
            yield (_unit(flat[rng.integers(0, len(flat), 64)]),)

    start = time.time()
    tokenizer.fit(batches(), steps_per_epoch=args.tokenizer_steps // 10, epochs=10, verbose=2)
    return tokenizer, time.time() - start


def train_transformer(tokenizer, train_frames, args):
    """`VideoTransformerXL` on the training clips' tokens; returns it and the seconds."""
    tokens = np.concatenate(
        [
            video_transformer_xl.clip_tokens(tokenizer, _unit(train_frames[i : i + 200]))
            for i in range(0, len(train_frames), 200)
        ]
    )
    keras.utils.set_random_seed(args.seed)
    model = keras_gen.models.VideoTransformerXL(
        tokenizer,
        num_layers=args.layers,
        num_heads=4,
        hidden_dim=args.width,
        dropout=0.1,
        seed=args.seed,
    )
    model.compile(optimizer=keras.optimizers.Adam(args.learning_rate))
    dataset = model.token_dataset(None, batch_size=args.batch_size, tokens=tokens)
    per_epoch = int(dataset.cardinality())
    epochs = max(1, -(-args.steps // per_epoch))
    start = time.time()
    history = model.fit(
        dataset.repeat(),
        epochs=epochs,
        steps_per_epoch=min(per_epoch, args.steps // epochs),
        verbose=2,
    )
    return model, time.time() - start, history.history["loss"][-1]


def evaluate(model, test, train, args):
    """The prediction metrics, FVDs, motion and persistence; a dict."""
    results = {}
    held_out = model.token_dataset(test, batch_size=args.batch_size)
    results["test_nats_per_code"] = float(
        model.evaluate(held_out, verbose=0, return_dict=True)["loss"]
    )
    context, truth = test[:, :10], test[:, 10:]
    start = time.time()
    predicted = model.predict_frames(context, num_frames=10, temperature=0.0)
    results["prediction_seconds"] = time.time() - start
    reconstructed = model.decode_tokens(model.clip_tokens(truth))
    copied = video_metrics.copy_last_frame(context, 10)
    for name, clips in (("model", predicted), ("tokenizer", reconstructed), ("copy_last", copied)):
        metrics = video_metrics.frame_metrics(clips, truth)
        results[f"prediction_{name}"] = {
            "mean_mse": metrics["mean_mse"],
            "mean_psnr": metrics["mean_psnr"],
            "mean_ssim": metrics["mean_ssim"],
            "mse_by_frame": [round(float(v), 2) for v in metrics["mse"]],
        }
    extractor = video_features.MovingMNISTFeatures()
    start = time.time()
    samples = model.generate(args.num_samples, num_frames=20, temperature=1.0, seed=args.seed)
    results["generation_seconds"] = time.time() - start
    half = len(test) // 2
    predicted_clips = np.concatenate([context, predicted], axis=1)
    pairs = {
        "samples_vs_test": (samples, test),
        "predicted_vs_test": (predicted_clips[:half], test[half:]),
        "test_vs_train": (test, train[: len(test)]),
        "test_half_vs_test_half": (test[:half], test[half:]),
    }
    for name, (a, b) in pairs.items():
        results[f"fvd_{name}"] = video_features.frechet_video_distance(a, b, extractor)
    scored = (
        ("samples", samples),
        ("test", test),
        ("predicted_frames", predicted),
        ("test_last_10", truth),
    )
    for name, clips in scored:
        results[f"motion_{name}"] = video_metrics.motion_plausibility(clips)
        results[f"persistence_{name}"] = video_metrics.digit_persistence(clips)
    return results, predicted, samples


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokenizer-steps", type=int, default=3000)
    parser.add_argument("--steps", type=int, default=6000)
    parser.add_argument("--train-clips", type=int, default=10000)
    parser.add_argument("--eval-clips", type=int, default=1000)
    parser.add_argument("--num-samples", type=int, default=500)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--width", type=int, default=128)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="runs/video_moving_mnist")
    parser.add_argument(
        "--tokenizer", help="a trained tokenizer.keras to use instead of training one"
    )
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)

    train_frames, _ = video.moving_mnist_arrays("train", num_sequences=args.train_clips, seed=0)
    test_frames, _ = video.moving_mnist_arrays("test", num_sequences=args.eval_clips)
    if args.tokenizer:
        tokenizer, tokenizer_seconds = saving.load_model(args.tokenizer), 0.0
    else:
        tokenizer, tokenizer_seconds = train_tokenizer(train_frames, args)
        saving.save_model(tokenizer, os.path.join(args.out, "tokenizer.keras"))
    model, seconds, final_loss = train_transformer(tokenizer, train_frames, args)
    saving.save_model(model, os.path.join(args.out, "model.keras"))
    test, train = _unit(test_frames), _unit(train_frames[: args.eval_clips])
    results, predicted, samples = evaluate(model, test, train, args)
    results.update(
        {
            "args": vars(args),
            "tokenizer_seconds": tokenizer_seconds,
            "transformer_seconds": seconds,
            "final_epoch_loss": float(final_loss),
        }
    )
    for i in range(3):
        both = np.concatenate([test[i, :10], predicted[i]], axis=0)
        images.save_gif(both, os.path.join(args.out, f"prediction_{i}.gif"))
        images.save_gif(samples[i], os.path.join(args.out, f"sample_{i}.gif"))
    strip = images.frame_strip(np.concatenate([test[:2, 10:], predicted[:2], samples[:2, :10]]))
    images.save_png(strip, os.path.join(args.out, "video_strip.png"))
    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump(results, f, indent=1, default=float)
    print(json.dumps(results, indent=1, default=float))


if __name__ == "__main__":
    main()
