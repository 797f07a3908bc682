"""The `keras-gen` console script: hides TensorFlow's C++ start-up lines, then runs the command line.

Why a module outside the package: `import keras_gen` imports Keras and so TensorFlow, and
TensorFlow's libraries print their start-up lines while they load. An entry point inside the
package (`keras_gen.cli.main:main`) runs only after that import, too late to change anything, and
making `import keras_gen` lazy would change the package for every library user. So the console
script starts here, before anything imports TensorFlow, and `import keras_gen` stays as it is.

What hides what (measured with TensorFlow 2.21 on a CPU machine with a CUDA runtime but no GPU):
`TF_CPP_MIN_LOG_LEVEL` set before the import hides what TensorFlow logs once it runs (1: the
`cpu_feature_guard` notice, 3: `failed call to cuInit`) but none of the lines its libraries
write while they load, before absl logging is initialised (`WARNING: All log messages before
absl::InitializeLog() ...`, `oneDNN custom operations are on`, `Could not find cuda drivers`,
once per library that carries them); set after the import it changes nothing. So this module
sets `TF_CPP_MIN_LOG_LEVEL=3` and, for the start-up only (the import and the device discovery,
which logs the cuInit error), passes stderr through a filter that drops the C++ logger's INFO,
WARNING and ERROR lines. FATAL lines and everything else go through unchanged. The filter is a
child process, so a start-up that aborts still gets its last lines printed.

Why 3 and not 2 (ERROR lines shown): the README's first command, `keras-gen train dcgan`, logged
`E0000 ... meta_optimizer.cc:967] remapper failed: INVALID_ARGUMENT: Mutation::Apply error ...`
in epoch 21 of 30 (2026-12-02): Grappler skipping one graph rewrite, harmless, but alarming to a
user. Errors that matter reach the user as Python exceptions with tracebacks, which level 3 keeps.

`keras-gen --tf-logs COMMAND ...`, or an explicit `TF_CPP_MIN_LOG_LEVEL` in the environment,
turns all of this off: TensorFlow then logs as it would anywhere else.
"""

import contextlib
import os
import re
import signal
import sys

TF_LOGS_FLAG = "--tf-logs"

# absl's prefix at INFO, WARNING or ERROR: severity, month and day, time, thread, file:line.
# Before absl is initialised the time reads `00:00:<seconds since 1970>`:
# `I0000 00:00:1796194405.728225   29439 port.cc:153] oneDNN custom operations are on. ...`
_LOGGER_LINE = re.compile(rb"[IWE]\d{4} [\d:.]+ +\d+ [^ \]]+:\d+\] ")
_PRE_INIT_LINE = b"WARNING: All log messages before absl::InitializeLog() is called"


def is_startup_line(line):
    """Whether `line` (bytes) is one that the filter drops: a C++ logger line below FATAL."""
    return line.startswith(_PRE_INIT_LINE) or _LOGGER_LINE.match(line) is not None


def wants_tf_logs(argv):
    """Whether `argv` asks for TensorFlow's own logging: `--tf-logs` before the command."""
    for token in argv:
        if not token.startswith("-"):
            return False
        if token == TF_LOGS_FLAG:
            return True
    return False


def _forward(source, target):
    """Copies the lines read from file descriptor `source` to `target`, but the start-up ones."""
    with open(source, "rb") as lines, open(target, "wb", closefd=False) as out:
        for line in lines:
            if not is_startup_line(line):
                out.write(line)
                out.flush()


@contextlib.contextmanager
def startup_lines_hidden():
    """Runs the block with file descriptor 2 (stderr) passed through `_forward`.

    The filter runs in a child process forked before TensorFlow is loaded (no threads to copy
    yet); where there is no `fork`, the block runs unfiltered.
    """
    if not hasattr(os, "fork"):
        yield
        return
    read_end, write_end = os.pipe()
    sys.stderr.flush()
    child = os.fork()
    if child == 0:
        os.close(write_end)
        # Ctrl-C goes to the whole process group: the parent handles it; the filter keeps
        # forwarding until the parent closes the pipe.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            _forward(read_end, 2)
        finally:
            os._exit(0)
    os.close(read_end)
    saved = os.dup(2)
    os.dup2(write_end, 2)
    os.close(write_end)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)  # closes the pipe's last write end: the filter reads to the end, exits
        os.close(saved)
        os.waitpid(child, 0)  # its lines come before anything the command prints


def main(argv=None):
    """Runs `keras-gen ARGV` (default: `sys.argv[1:]`); returns the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if wants_tf_logs(argv) or "TF_CPP_MIN_LOG_LEVEL" in os.environ:
        from keras_gen.cli.main import main as run
    else:
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
        with startup_lines_hidden():
            import tensorflow as tf

            from keras_gen.cli.main import main as run  # imports TensorFlow

            # The first device discovery logs `failed call to cuInit` on a machine with a
            # CUDA runtime and no GPU. It does not initialise the runtime: strategies and
            # logical devices can still be configured afterwards.
            tf.config.list_physical_devices()
    return run(argv)


if __name__ == "__main__":
    sys.exit(main())
