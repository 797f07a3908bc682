"""Exceptions raised by keras_gen."""


class NonFiniteLossError(FloatingPointError):
    """Raised when a training loss becomes NaN or infinite.

    Training stops at the batch where it happened, before any later callback
    (a checkpoint, for instance) runs, so the files on disk still hold the last
    finite state.
    """
