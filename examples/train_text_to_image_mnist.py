"""Text-to-image diffusion on captioned digits: "a bold 7 leaning right" -> an image of one.

Trains `keras_gen.models.TextToImageDiffusion` (a U-Net with --base-channels
that cross-attends to a byte-level Transformer text encoder, v prediction,
caption dropout 0.1) on `data.load("captioned_mnist5k")` for --steps, saves
the model and a grid of prompts and samples, then scores it on the held-out
captions: one prompt per mnist5k test image (its own caption), one sample per
prompt, for each guidance scale in --guidance; the digit is read by the
shipped MNIST classifier, thickness and slant are measured on the sample by the
code that wrote the captions (`keras_gen.metrics.image_prompt_agreement`).
The same figures for the held-out images themselves are printed first, as the
reference, with the CLIPScore of the shipped contrastive model when it is there.

    python examples/train_text_to_image_mnist.py --steps 6000
"""

import argparse
import json
import math
import os
import time

import keras

import keras_gen
from keras_gen.data import captions
from keras_gen.metrics import multimodal
from keras_gen.utils import images as image_utils

GRID_PROMPTS = list(captions.GRID_PROMPTS)


def held_out_prompts(count):
    """The first `count` mnist5k test images (uint8) and their own captions (first phrasing)."""
    arrays = keras_gen.data.captioned_mnist5k_arrays("test")
    return arrays["images"][:count], captions.decode_captions(arrays["captions"][:count, 0])


def contrastive_model():
    """The shipped contrastive model, or None when its weights are missing."""
    if not os.path.exists(multimodal.CONTRASTIVE_WEIGHTS):
        return None
    return multimodal.shipped_contrastive_model()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=6000, help="train steps (211 per epoch)")
    parser.add_argument("--out", default="runs/example-text-to-image-mnist")
    parser.add_argument("--base-channels", type=int, default=16, help="U-Net width")
    parser.add_argument("--guidance", default="1,3", help="comma-separated guidance scales")
    parser.add_argument("--prompts", type=int, default=500, help="held-out prompts scored")
    parser.add_argument("--sampling-steps", type=int, default=50, help="DDIM steps")
    args = parser.parse_args()

    keras.utils.set_random_seed(0)
    dataset, info = keras_gen.data.load("captioned_mnist5k", batch_size=64, seed=0)
    model = keras_gen.models.TextToImageDiffusion(
        prediction="v", base_channels=args.base_channels, seed=0
    )
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    epochs = math.ceil(args.steps * 64 / info.num_examples)
    steps_per_epoch = math.ceil(args.steps / epochs)
    start = time.time()
    model.fit(dataset.repeat(), steps_per_epoch=steps_per_epoch, epochs=epochs, verbose=2)
    train_seconds = time.time() - start
    os.makedirs(args.out, exist_ok=True)
    model.save(os.path.join(args.out, "model.keras"))
    guidance = [float(s) for s in args.guidance.split(",")]
    grid = model.generate(
        GRID_PROMPTS, seed=0, steps=args.sampling_steps, guidance_scale=guidance[-1]
    )
    image_utils.save_png(
        image_utils.image_grid(grid, columns=6),
        os.path.join(args.out, "prompt_grid.png"),
    )

    contrastive = contrastive_model()
    images, prompts = held_out_prompts(args.prompts)
    real = multimodal.image_prompt_agreement(images, prompts, contrastive=contrastive)
    report = {
        "steps": steps_per_epoch * epochs,
        "train_seconds": round(train_seconds),
        "held_out_images": real,
    }
    for scale in guidance:
        start = time.time()
        report[f"guidance_{scale:g}"] = multimodal.prompt_fidelity(
            model,
            prompts,
            seed=1,
            contrastive=contrastive,
            steps=args.sampling_steps,
            guidance_scale=scale,
        )
        report[f"guidance_{scale:g}"]["sampling_seconds"] = round(time.time() - start)
    print(json.dumps(report, indent=1))
    print(f"model and prompt grid (rows of {GRID_PROMPTS[:3]}, ...) in {args.out}")


if __name__ == "__main__":
    main()
