"""The exponential moving average of a network's weights, one policy for every model.

A model with `ema_decay` keeps a frozen copy of a network (`average_copy`)
and, after each update of the network, calls `ExponentialMovingAverage.update`:

- trainable weights: `average <- d * average + (1 - d) * weight`, with the
  decay `d = min(ema_decay, (1 + step) / (10 + step))` (the warm-up of
  `tf.train.ExponentialMovingAverage(num_updates=step)`), so that the random
  initial weights are forgotten in short runs too;
- non-trainable weights (batch-norm statistics, themselves running averages
  of the data): copied, since averaging an average only delays it;
- nothing at all when the step's guard failed (`ok` False), as every other
  update of that step.

The update runs in cross-replica context, once per variable, as optimizers do
(`keras_gen.utils.distribution.update_moving_average`): under
`MirroredStrategy` and `MultiWorkerMirroredStrategy` the average is the one a
single device computes.
"""

import keras
import tensorflow as tf

from keras_gen.utils import distribution


def check_decay(ema_decay):
    """`ema_decay` as a float, or None; raises ValueError unless None or in [0, 1)."""
    if ema_decay is None:
        return None
    try:
        value = float(ema_decay)
    except (TypeError, ValueError):
        value = None
    if value is None or not 0.0 <= value < 1.0:
        raise ValueError(
            f"`ema_decay` must be None or a float in [0, 1). Received: ema_decay={ema_decay!r}"
        )
    return value


def average_copy(network):
    """A frozen copy of `network` with its weights: the start of its moving average."""
    average = keras.models.clone_model(network)
    average.set_weights(network.get_weights())
    average.trainable = False
    return average


class ExponentialMovingAverage:
    """Averages a network's weights into a copy of it (the policy of the module docstring).

    Args:
        decay: the decay the warm-up tends to, a float in [0, 1).
        warmup: False keeps the decay constant from the first update.

    Example:
    ```python
    average = ExponentialMovingAverage(0.999)
    ema_network = average_copy(network)
    # in train_step, after the optimizer's update:
    average.update(ema_network, network, optimizer.iterations, ok=step_guard.ok)
    ```
    """

    def __init__(self, decay, warmup=True):
        self.decay = check_decay(decay)
        if self.decay is None:
            raise ValueError(f"`decay` must be a float in [0, 1). Received: decay={decay!r}")
        self.warmup = bool(warmup)

    def decay_at(self, step):
        """The decay of the update made after `step` updates: a float32 scalar tensor."""
        if not self.warmup:
            return tf.constant(self.decay, "float32")
        step = tf.cast(step, "float32")
        return tf.minimum(self.decay, (1.0 + step) / (10.0 + step))

    def update(self, average_network, network, step, ok=None):
        """Moves `average_network` towards `network`: trainable weights averaged, others copied.

        Args:
            average_network: the copy made by `average_copy(network)`.
            network: the network being trained.
            step: the update count the decay warms up with (the optimizer's
                `iterations` after this step's update).
            ok: a scalar bool equal on every replica (a `StepGuard`'s `ok`);
                where False the average keeps its values.
        """
        # `weights` lists both networks' variables in the same (creation) order.
        pairs = list(zip(average_network.weights, network.weights))
        trainable = [pair for pair in pairs if pair[1].trainable]
        frozen = [pair for pair in pairs if not pair[1].trainable]
        for group, decay in ((trainable, self.decay_at(step)), (frozen, 0.0)):
            if group:
                distribution.update_moving_average(
                    [a for a, _ in group], [v for _, v in group], decay, ok=ok
                )
