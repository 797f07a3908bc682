"""Train-step speed: keras_gen's default `compile()` against hand-written Keras steps, and XLA per family.

`--mode dcgan` (the default) trains the same networks (`dcgan_generator` /
`dcgan_discriminator` at 28x28x1) with the same batch, losses and Adam
optimizers through `fit()` three ways: the keras-io style hand-written
`train_step` without XLA, the same with `jit_compile=True`, and
`keras_gen.models.DCGAN` compiled with its defaults (`jit_compile="auto"`).
`--mode families` times every family's command-line recipe (DCGAN, VAE,
VQ-VAE, diffusion, GPT, Transformer-XL, Glow on mnist5k, RealNVP on moons, the
vector GANs on grid25 and moons, ...: `FAMILIES`) with and without XLA, in
float32 and `mixed_bfloat16`. The sides of each comparison are timed in alternating
rounds in one process, so that machine noise hits them alike; medians and
their ratios are printed.

Usage:
    python benchmarks/train_step.py --rounds 6 --steps 40 --batch-size 64
    python benchmarks/train_step.py --mode families --rounds 3
    python benchmarks/train_step.py --mode families --families gan_grid25,gan_moons --rounds 3
"""

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.pop("KERAS_GEN_JIT_COMPILE", None)  # measure the library's own default

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from keras_gen import (
    models,  # noqa: E402
    networks,  # noqa: E402
)


class HandWrittenGAN(keras.Model):
    """The keras-io DCGAN pattern: one discriminator and one generator update."""

    def __init__(self, generator, discriminator, latent_dim):
        super().__init__()
        self.generator = generator
        self.discriminator = discriminator
        self.latent_dim = latent_dim
        self.seed_generator = keras.random.SeedGenerator(0)
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self.built = True

    def compile(self, d_optimizer, g_optimizer, jit_compile=False):
        super().compile(optimizer=None, jit_compile=jit_compile)
        self.d_optimizer = d_optimizer
        self.g_optimizer = g_optimizer
        d_optimizer.build(self.discriminator.trainable_variables)
        g_optimizer.build(self.generator.trainable_variables)

    @property
    def metrics(self):
        return [self.d_loss_tracker, self.g_loss_tracker]

    def train_step(self, real):
        batch = tf.shape(real)[0]
        z = keras.random.normal((batch, self.latent_dim), seed=self.seed_generator)
        with tf.GradientTape() as tape:
            fake = self.generator(z, training=True)
            real_logits = self.discriminator(real, training=True)
            fake_logits = self.discriminator(fake, training=True)
            d_loss = tf.reduce_mean(tf.nn.softplus(-real_logits) + tf.nn.softplus(fake_logits))
        variables = self.discriminator.trainable_variables
        self.d_optimizer.apply(tape.gradient(d_loss, variables), variables)
        z = keras.random.normal((batch, self.latent_dim), seed=self.seed_generator)
        with tf.GradientTape() as tape:
            fake_logits = self.discriminator(self.generator(z, training=True), training=True)
            g_loss = tf.reduce_mean(tf.nn.softplus(-fake_logits))
        variables = self.generator.trainable_variables
        self.g_optimizer.apply(tape.gradient(g_loss, variables), variables)
        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        return {m.name: m.result() for m in self.metrics}


class StepClock(keras.callbacks.Callback):
    """Times the train steps themselves, from the first batch's end to the last's.

    `fit()` on this machine sometimes spends a further 2.5 s after its last
    batch (after `on_train_end`), on either side; that is not the train step.
    """

    def on_train_begin(self, logs=None):
        self.times = []

    def on_train_batch_end(self, batch, logs=None):
        self.times.append(time.perf_counter())

    def steps_per_second(self):
        return (len(self.times) - 1) / (self.times[-1] - self.times[0])


def build(side, latent_dim, shape):
    keras.utils.set_random_seed(0)
    generator = networks.dcgan_generator(latent_dim, shape)
    discriminator = networks.dcgan_discriminator(shape, normalization="batch")
    if side == "keras_gen":
        model = models.DCGAN(generator, discriminator, latent_dim, seed=0)
        model.compile(
            generator_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
            discriminator_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
        )
    else:
        model = HandWrittenGAN(generator, discriminator, latent_dim)
        model.compile(
            d_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
            g_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
            jit_compile=side == "hand_written_xla",
        )
    return model


def alternate(sides, datasets, rounds):
    """Median and best steps/s of each side, timed in alternating order, after a warm-up fit."""
    for name, model in sides.items():  # trace, compile and warm up
        model.fit(datasets[name].take(3), epochs=1, verbose=0, shuffle=False)
    rates = {name: [] for name in sides}
    for round_index in range(rounds):
        order = list(sides) if round_index % 2 == 0 else list(sides)[::-1]
        for name in order:
            clock = StepClock()
            sides[name].fit(datasets[name], epochs=1, verbose=0, shuffle=False, callbacks=[clock])
            rates[name].append(clock.steps_per_second())
    return rates


def compare_dcgan(args):
    shape = (28, 28, 1)
    data = np.random.RandomState(0).uniform(-1, 1, (args.batch_size * args.steps, *shape))
    dataset = tf.data.Dataset.from_tensor_slices(data.astype("float32"))
    dataset = dataset.batch(args.batch_size, drop_remainder=True).prefetch(2)
    names = ("hand_written", "hand_written_xla", "keras_gen")
    sides = {name: build(name, args.latent_dim, shape) for name in names}
    print(f"keras_gen's default compile resolved jit_compile={sides['keras_gen'].jit_compile}")
    rates = alternate(sides, {name: dataset for name in names}, args.rounds)
    for name, values in rates.items():
        print(
            f"{name:>16}: best {max(values):6.2f}, median {np.median(values):6.2f} steps/s "
            f"(rounds: {', '.join(f'{v:.2f}' for v in values)})"
        )
    for baseline in ("hand_written", "hand_written_xla"):
        median = np.median(rates["keras_gen"]) / np.median(rates[baseline])
        best = max(rates["keras_gen"]) / max(rates[baseline])
        print(
            f"ratio keras_gen / {baseline}: median {median:.3f}, best {best:.3f} "
            f"(batch {args.batch_size}, {args.rounds} rounds of {args.steps} steps)"
        )


# Family -> (command-line recipe, dataset, batch size, steps per round).
FAMILIES = {
    "dcgan": ("dcgan", "mnist5k", 64, 40),
    # Vector GANs: the grid25 benchmark setup (PacGAN2's toy networks, 100 packs of two) and
    # the default 256-256 MLP pairs of GAN and WGAN-GP on the 2-d moons.
    "gan_grid25": ("gan", "grid25", 200, 100),
    "gan_moons": ("gan", "moons", 64, 100),
    "wgan_gp_moons": ("wgan_gp", "moons", 64, 100),
    "vae": ("vae", "mnist5k", 64, 40),
    "vq_vae": ("vq_vae", "mnist5k", 64, 20),
    "diffusion": ("diffusion", "mnist5k", 64, 10),
    "gpt": ("gpt", "pydoc", 32, 20),
    "transformer_xl": ("transformer_xl", "pydoc", 32, 20),
    "glow": ("glow", "mnist5k", 64, 20),
    "realnvp": ("realnvp", "moons", 64, 40),
    "text_to_image": ("text_to_image", "captioned_mnist5k", 64, 10),
    "contrastive": ("contrastive", "captioned_mnist5k", 128, 20),
    "captioner": ("captioner", "captioned_mnist5k", 64, 20),
    "video_transformer_xl": ("video_transformer_xl", "moving_mnist", 32, 20),
}


def build_family(name, precision, jit_compile):
    from keras_gen import data
    from keras_gen.cli import recipes

    recipe_name, dataset_name, batch_size, steps = FAMILIES[name]
    keras.mixed_precision.set_global_policy(precision)
    keras.utils.set_random_seed(0)
    recipe = recipes.RECIPES[recipe_name]
    if recipe.family == "video":
        return _video_family(recipe_name, recipe, batch_size, steps, precision, jit_compile)
    if recipe.family == "text":
        kwargs = recipe.model_kwargs
        length = kwargs.get("sequence_length", kwargs.get("segment_length"))
        dataset, info = data.load_text(
            dataset_name,
            sequence_length=length,
            batch_size=batch_size,
            seed=0,
            consecutive="segment_length" in kwargs,
        )
        shape = None
    else:
        dataset, info = data.load(
            dataset_name,
            batch_size=batch_size,
            seed=0,
            binarize=recipes.binarize(recipe_name, (28, 28, 1)),
        )
        shape = info.shape
    model = recipes.build_model(
        models.get(recipe_name), recipe_name, shape, seed=0, dataset=dataset_name
    )
    # Through the public compile, then the setter: compile refuses bfloat16 without XLA
    # on a CPU, the very configuration measured here.
    recipes.compile_model(model, recipe_name, jit_compile=True, dataset=dataset_name)
    model.jit_compile = jit_compile
    if not jit_compile and precision == "mixed_bfloat16":
        steps = max(2, steps // 4)  # about 8x slower
    keras.mixed_precision.set_global_policy("float32")
    return model, dataset.take(steps)


def _video_family(recipe_name, recipe, batch_size, steps, precision, jit_compile):
    """The video recipe's Transformer on 64 Moving MNIST clips' tokens (an untrained tokenizer:
    the step's cost does not depend on which codes it reads)."""
    from keras_gen.cli import recipes
    from keras_gen.data import video
    from keras_gen.models.video import video_transformer_xl

    frames, _ = video.moving_mnist_arrays("train", num_sequences=batch_size * 2)
    tokenizer = models.frame_tokenizer((64, 64, 1), seed=0, **recipe.video.tokenizer_kwargs)
    tokens = video_transformer_xl.clip_tokens(tokenizer, frames[..., None] / 127.5 - 1.0)
    model = recipes.build_model(
        models.get(recipe_name), recipe_name, None, seed=0, tokenizer=tokenizer
    )
    recipes.compile_model(model, recipe_name, jit_compile=True)
    model.jit_compile = jit_compile
    keras.mixed_precision.set_global_policy("float32")
    dataset = video_transformer_xl.consecutive_segments(tokens, batch_size, model.segment_length)
    return model, dataset.repeat().take(steps)


def compare_families(args):
    rows = []
    for name in args.families.split(","):
        for precision in ("float32", "mixed_bfloat16"):
            sides, datasets = {}, {}
            for jit_compile in (False, True):
                side = "xla" if jit_compile else "no_xla"
                sides[side], datasets[side] = build_family(name, precision, jit_compile)
            rates = alternate(sides, datasets, args.rounds)
            medians = {side: float(np.median(values)) for side, values in rates.items()}
            rows.append((name, precision, medians["no_xla"], medians["xla"]))
            print(
                f"{name:>15} {precision:>15}: no XLA {medians['no_xla']:6.2f}, XLA "
                f"{medians['xla']:6.2f} steps/s, XLA / no XLA {medians['xla'] / medians['no_xla']:.2f}"
                f" (rounds: {rates})",
                flush=True,
            )
    print("\n| family | precision | steps/s without XLA | steps/s with XLA | XLA / without |")
    print("|---|---|---|---|---|")
    for name, precision, no_xla, xla in rows:
        print(f"| {name} | {precision} | {no_xla:.2f} | {xla:.2f} | {xla / no_xla:.2f} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=("dcgan", "families"), default="dcgan")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--steps", type=int, default=40, help="train steps per round (dcgan)")
    parser.add_argument("--batch-size", type=int, default=64, help="batch size (dcgan)")
    parser.add_argument("--latent-dim", type=int, default=100)
    parser.add_argument(
        "--families",
        default=",".join(FAMILIES),
        help="comma-separated families for --mode families",
    )
    args = parser.parse_args()
    if args.mode == "dcgan":
        compare_dcgan(args)
    else:
        compare_families(args)


if __name__ == "__main__":
    main()
