"""keras_gen's DCGAN train step against a hand-written Keras train step.

Both train the same networks (`dcgan_generator` / `dcgan_discriminator` at
28x28x1) with the same batch, losses and Adam optimizers through `fit()`. The
two sides are timed in alternating rounds in one process, so that machine
noise hits both alike; the ratio of their median steps/s is printed, and that
of their best rounds.

Usage:
    python benchmarks/train_step.py --rounds 6 --steps 40 --batch-size 64
"""

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from keras_gen import models  # noqa: E402
from keras_gen import networks  # noqa: E402


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

    def compile(self, d_optimizer, g_optimizer):
        super().compile(optimizer=None)
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
        model.compile(generator_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
                      discriminator_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5))
    else:
        model = HandWrittenGAN(generator, discriminator, latent_dim)
        model.compile(d_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
                      g_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5))
    return model


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--steps", type=int, default=40, help="train steps per round")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--latent-dim", type=int, default=100)
    args = parser.parse_args()

    shape = (28, 28, 1)
    data = np.random.RandomState(0).uniform(-1, 1, (args.batch_size * args.steps, *shape))
    dataset = tf.data.Dataset.from_tensor_slices(data.astype("float32"))
    dataset = dataset.batch(args.batch_size, drop_remainder=True).prefetch(2)
    sides = {name: build(name, args.latent_dim, shape) for name in ("hand_written", "keras_gen")}
    for model in sides.values():  # trace and warm up
        model.fit(dataset.take(3), epochs=1, verbose=0, shuffle=False)
    rates = {name: [] for name in sides}
    for round_index in range(args.rounds):
        order = list(sides) if round_index % 2 == 0 else list(sides)[::-1]
        for name in order:
            clock = StepClock()
            sides[name].fit(dataset, epochs=1, verbose=0, shuffle=False, callbacks=[clock])
            rates[name].append(clock.steps_per_second())
    for name, values in rates.items():
        print(f"{name:>12}: best {max(values):6.2f}, median {np.median(values):6.2f} steps/s "
              f"(rounds: {', '.join(f'{v:.2f}' for v in values)})")
    median = np.median(rates["keras_gen"]) / np.median(rates["hand_written"])
    best = max(rates["keras_gen"]) / max(rates["hand_written"])
    print(f"ratio keras_gen / hand_written: median {median:.3f}, best {best:.3f} "
          f"(batch {args.batch_size}, {args.rounds} rounds of {args.steps} steps)")


if __name__ == "__main__":
    main()
