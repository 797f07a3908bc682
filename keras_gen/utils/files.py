"""Writing files so that a reader never sees half of one."""

import os
import uuid


def write_atomically(path, write, suffix=""):
    """Calls `write(file)` on a hidden temporary file beside `path`, then renames it to `path`.

    A reader (or a glob for `*.png`) sees the old file or the whole new one,
    never a half-written one; a failed `write` leaves nothing behind. `os.open`
    with `0o666` lets the umask decide the mode, as for any file the process
    writes (`mkstemp` would give `0o600`).

    Args:
        path: the file to write.
        write: `fn(binary file object)`.
        suffix: ends the temporary name (after the hidden `.name.<random>`).
    """
    directory, name = os.path.split(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    temporary = os.path.join(directory, f".{name}.{uuid.uuid4().hex[:12]}{suffix}.tmp")
    handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(handle, "wb") as file:
            write(file)
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)
