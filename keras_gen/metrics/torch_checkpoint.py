"""Reads PyTorch `.pth` state dicts into numpy arrays without importing torch.

Both formats `torch.save` has written are read: the zip archive (PyTorch 1.6
and later) and the legacy stream of pickles (earlier versions, such as the
pytorch-fid Inception weights). Only plain tensors in (ordered) dicts are
supported: enough for weights, and no arbitrary code is run, because the
unpickler resolves just the handful of names a state dict uses.
"""

import collections
import io
import pickle
import struct
import zipfile

import numpy as np

_DTYPES = {
    "FloatStorage": np.float32, "DoubleStorage": np.float64, "HalfStorage": np.float16,
    "LongStorage": np.int64, "IntStorage": np.int32, "ShortStorage": np.int16,
    "CharStorage": np.int8, "ByteStorage": np.uint8, "BoolStorage": np.bool_,
    "BFloat16Storage": None,
}
_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C


class _StorageType:
    def __init__(self, name):
        if name not in _DTYPES or _DTYPES[name] is None:
            raise ValueError(f"Unsupported tensor storage {name!r} in the checkpoint")
        self.dtype = np.dtype(_DTYPES[name])


def _rebuild_tensor(storage, offset, size, stride, *unused):
    # Lazy: the legacy format stores the tensor data after the pickle.
    def build():
        array = storage()
        if not size:
            return np.array(array[offset])
        return np.lib.stride_tricks.as_strided(
            array[offset:], shape=tuple(size),
            strides=tuple(s * array.dtype.itemsize for s in stride)).copy()

    return build


class _Unpickler(pickle.Unpickler):
    def __init__(self, file, load_storage):
        super().__init__(file)
        self._load_storage = load_storage
        self.storage_dtypes = {}

    def find_class(self, module, name):
        if module == "collections" and name == "OrderedDict":
            return collections.OrderedDict
        if module == "torch._utils" and name == "_rebuild_tensor_v2":
            return _rebuild_tensor
        if module == "torch" and name in _DTYPES:
            return _StorageType(name)
        if module == "torch._utils" and name == "_rebuild_parameter":
            return lambda data, requires_grad, hooks: data
        raise pickle.UnpicklingError(
            f"The checkpoint refers to {module}.{name}; only tensor state dicts are read")

    def persistent_load(self, pid):
        kind, storage_type, key = pid[0], pid[1], pid[2]
        if kind != "storage":
            raise pickle.UnpicklingError(f"Unsupported persistent id {pid!r}")
        self.storage_dtypes[key] = storage_type.dtype
        return lambda: self._load_storage(key, storage_type.dtype)


def _load_zip(path):
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        pickle_name = next(n for n in names if n.endswith("data.pkl"))
        prefix = pickle_name[: -len("data.pkl")]
        cache = {}

        def load_storage(key, dtype):
            if key not in cache:
                cache[key] = np.frombuffer(archive.read(f"{prefix}data/{key}"), dtype=dtype)
            return cache[key]

        with archive.open(pickle_name) as f:
            state = _Unpickler(io.BytesIO(f.read()), load_storage).load()
        return _materialise(state)


def _load_legacy(path):
    with open(path, "rb") as f:
        if pickle.load(f) != _LEGACY_MAGIC:
            raise ValueError(f"{path} is not a PyTorch checkpoint")
        pickle.load(f)  # protocol version
        pickle.load(f)  # system info
        pending = {}

        def load_storage(key, dtype):
            return pending[key]

        unpickler = _Unpickler(f, load_storage)
        state = unpickler.load()
        for key in pickle.load(f):
            (count,) = struct.unpack("<q", f.read(8))
            dtype = unpickler.storage_dtypes[key]
            pending[key] = np.frombuffer(f.read(count * dtype.itemsize), dtype=dtype)
        return _materialise(state)


def _materialise(state):
    return collections.OrderedDict(
        (key, value() if callable(value) else value) for key, value in _flatten(state))


def _flatten(state, prefix=""):
    for key, value in state.items():
        if isinstance(value, dict):
            yield from _flatten(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


def load_state_dict(path):
    """Reads a `.pth` state dict as an ordered dict of name -> numpy array.

    Raises:
        ValueError: if the file is not a tensor state dict.
    """
    if zipfile.is_zipfile(path):
        return _load_zip(path)
    return _load_legacy(path)
