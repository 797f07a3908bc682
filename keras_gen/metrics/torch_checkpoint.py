"""Reads PyTorch `.pth` state dicts into numpy arrays without importing torch.

Both formats `torch.save` has written are read: the zip archive (PyTorch 1.6
and later) and the legacy stream of pickles (earlier versions, such as the
pytorch-fid Inception weights). Only plain tensors in (ordered) dicts are
supported: enough for weights.

A checkpoint may come from anywhere, so it is read as untrusted input:

- every pickle goes through one restricted unpickler, which resolves just the
  handful of names a state dict uses (and none at all in the legacy format's
  header pickles), so no code in the file is run; its opcodes are checked
  first, so that a few bytes cannot make the unpickler allocate gigabytes;
- every tensor's offset, size and strides are checked against its storage
  before a view is taken, and every storage's length against the file;
- a malformed file raises `ValueError` naming the file and the problem.
"""

import collections
import io
import pickle
import pickletools
import reprlib
import struct
import zipfile
import zlib

import numpy as np

_DTYPES = {
    "FloatStorage": np.float32,
    "DoubleStorage": np.float64,
    "HalfStorage": np.float16,
    "LongStorage": np.int64,
    "IntStorage": np.int32,
    "ShortStorage": np.int16,
    "CharStorage": np.int8,
    "ByteStorage": np.uint8,
    "BoolStorage": np.bool_,
    "BFloat16Storage": None,
}
_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
_LEGACY_PROTOCOL = 1001
_ZIP_SIGNATURES = (b"PK\x03\x04", b"PK\x05\x06")
_MAX_NESTING = 64
# What the pickle machinery raises on a crafted stream; our own checks raise _Malformed.
_UNPICKLING_ERRORS = (
    pickle.UnpicklingError,
    EOFError,
    ValueError,
    TypeError,
    AttributeError,
    IndexError,
    KeyError,
    OverflowError,
    MemoryError,
    RecursionError,
    struct.error,
)
# RuntimeError: an encrypted record.
_ZIP_ERRORS = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    zlib.error,
    EOFError,
    ValueError,
    NotImplementedError,
    RuntimeError,
    OverflowError,
    MemoryError,
    struct.error,
)
# Shapes the layout checks allow but numpy cannot make (over 64 dimensions, sizes past intp).
_ARRAY_ERRORS = (ValueError, OverflowError, MemoryError)
_short = reprlib.repr


class _Malformed(Exception):
    """A problem found in a checkpoint; `load_state_dict` adds the path and raises ValueError."""


class _Frozen:
    """Refuses the pickle BUILD opcode, so a crafted file cannot rewrite a record's fields."""

    __slots__ = ()

    def __setstate__(self, state):
        raise _Malformed(f"a pickle that sets the state of a {type(self).__name__[1:]} record")


class _StorageType(_Frozen):
    """What `torch.FloatStorage` and its siblings resolve to: the numpy dtype of the storage."""

    __slots__ = ("name", "dtype")

    def __init__(self, name):
        if _DTYPES[name] is None:
            raise _Malformed(f"a tensor storage of type torch.{name}, which is not supported")
        self.name = name
        self.dtype = np.dtype(_DTYPES[name])


class _Storage(_Frozen):
    """A storage a persistent id refers to: its key, dtype and element count."""

    __slots__ = ("key", "dtype", "numel")

    def __init__(self, key, dtype, numel):
        self.key, self.dtype, self.numel = key, dtype, numel


class _Tensor(_Frozen):
    """A tensor record as the pickle gave it; checked against its storage in `_tensor_array`."""

    __slots__ = ("storage", "offset", "size", "stride")

    def __init__(self, storage, offset, size, stride):
        self.storage, self.offset, self.size, self.stride = storage, offset, size, stride


def _rebuild_tensor(storage, storage_offset, size, stride):
    # torch._utils._rebuild_tensor (torch < 0.4) has this signature.
    return _Tensor(storage, storage_offset, size, stride)


def _rebuild_tensor_v2(
    storage, storage_offset, size, stride, requires_grad, backward_hooks, metadata=None
):
    return _Tensor(storage, storage_offset, size, stride)


def _rebuild_parameter(data, requires_grad, backward_hooks):
    return data


_TENSOR_NAMES = {
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
}


class _Unpickler(pickle.Unpickler):
    """The one unpickler for every pickle of a checkpoint; it runs no code from the file.

    Args:
        file: binary file positioned at the pickle.
        part: str. What the pickle holds, for error messages ("state dict").
        storages: None for a pickle of plain values only (ints, strings, lists,
            dicts): every global and persistent id is then refused. Otherwise a
            dict that collects key -> `_Storage` for the storages the pickle
            refers to, and the names a tensor state dict uses are resolved.
        legacy: bool. Whether persistent ids have the legacy format's sixth
            entry (view metadata).
    """

    def __init__(self, file, part, storages=None, legacy=False):
        super().__init__(file, encoding="utf-8")  # as torch.load reads Python 2 strings
        self.part, self.storages, self.legacy = part, storages, legacy

    def find_class(self, module, name):
        if self.storages is not None:
            if (module, name) in _TENSOR_NAMES:
                return _TENSOR_NAMES[module, name]
            if module == "torch" and name in _DTYPES:
                return _StorageType(name)
        raise _Malformed(
            f"a {self.part} pickle that refers to {_short(f'{module}.{name}')}; "
            "only tensor state dicts are read"
        )

    def persistent_load(self, pid):
        if self.storages is None:
            raise _Malformed(f"a {self.part} pickle that refers to a tensor storage")
        storage = _storage_of(pid, self.legacy)
        known = self.storages.setdefault(storage.key, storage)
        if (known.dtype, known.numel) != (storage.dtype, storage.numel):
            raise _Malformed(
                f"storage {_short(storage.key)} referred to as {known.numel} "
                f"{known.dtype} and as {storage.numel} {storage.dtype} elements"
            )
        return known


def _storage_of(pid, legacy):
    """The storage a persistent id `('storage', type, key, location, numel[, view])` names.

    Raises:
        _Malformed: if `pid` is not such a tuple, or it is a view (torch < 0.4).
    """
    length = 6 if legacy else 5
    if not (
        isinstance(pid, tuple)
        and len(pid) == length
        and pid[0] == "storage"
        and isinstance(pid[1], _StorageType)
        and isinstance(pid[2], str)
        and type(pid[4]) is int
        and pid[4] >= 0
    ):
        raise _Malformed(
            f"a persistent id {_short(pid)}; expected ('storage', "
            f"torch.<type>Storage, key, location, element count{', None' * legacy})"
        )
    if legacy and pid[5] is not None:
        raise _Malformed(
            f"a view of storage {_short(pid[2])} (torch < 0.4), which is not supported"
        )
    return _Storage(pid[2], pid[1].dtype, pid[4])


def _check_opcodes(file, part):
    """Checks a pickle's opcodes before unpickling, so that a few bytes cannot exhaust memory.

    The C unpickler sizes its memo by the largest index a PUT names, and
    allocates a string or bytes object at the length its header declares,
    before reading it. `pickletools.genops` reads the opcodes without either,
    and refuses a length that runs past the end of the data.

    Raises:
        _Malformed: for a truncated or unknown opcode, or a memo index larger
            than the number of opcodes before it (a pickler numbers them 0, 1, ...).
    """
    start = file.tell()
    try:
        for count, (opcode, index, _) in enumerate(pickletools.genops(file)):
            if opcode.name in ("PUT", "BINPUT", "LONG_BINPUT") and index > count:
                raise _Malformed(
                    f"a {part} pickle that stores memo entry {index} at its opcode {count}"
                )
    except _UNPICKLING_ERRORS as error:
        raise _Malformed(
            f"a {part} pickle that cannot be read ({type(error).__name__}: {error})"
        ) from error
    file.seek(start)


def _unpickle(file, part, storages=None, legacy=False):
    """Reads one pickle from `file` with the restricted `_Unpickler` (see there for the args).

    Raises:
        _Malformed: if the pickle is malformed or refers to anything else.
    """
    _check_opcodes(file, part)
    try:
        return _Unpickler(file, part, storages, legacy).load()
    except _UNPICKLING_ERRORS as error:
        raise _Malformed(
            f"a {part} pickle that cannot be read ({type(error).__name__}: {error})"
        ) from error


def _load_zip(data):
    """The state dict and key -> storage array of a zip checkpoint (PyTorch >= 1.6)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            pickle_name = _data_pkl(archive)
            prefix = pickle_name[: -len("data.pkl")]
            refs = {}
            state = _unpickle(io.BytesIO(_read_record(archive, pickle_name)), "data.pkl", refs)
            return state, {key: _zip_storage(archive, prefix, ref) for key, ref in refs.items()}
    except _ZIP_ERRORS as error:
        raise _Malformed(
            f"a zip archive that cannot be read ({type(error).__name__}: {error})"
        ) from error


def _data_pkl(archive):
    """The name of the archive's one `<folder>/data.pkl` record."""
    names = [name for name in archive.namelist() if name.endswith("/data.pkl")]
    if len(names) != 1:
        raise _Malformed(
            f"a zip archive with {len(names)} <folder>/data.pkl records; expected exactly one"
        )
    return names[0]


def _zip_storage(archive, prefix, storage):
    """The array of the storage record `<prefix>data/<key>`, checked against its persistent id."""
    name = f"{prefix}data/{storage.key}"
    try:
        size = archive.getinfo(name).file_size
    except KeyError:
        raise _Malformed(
            f"a zip archive without the record {_short(name)} of a storage that data.pkl refers to"
        ) from None
    itemsize = storage.dtype.itemsize
    if size % itemsize or size // itemsize != storage.numel:
        raise _Malformed(
            f"a record {_short(name)} of {size} bytes; data.pkl says it holds "
            f"{storage.numel} {storage.dtype} elements "
            f"({storage.numel * itemsize} bytes)"
        )
    return np.frombuffer(_read_record(archive, name), storage.dtype)


def _read_record(archive, name):
    """The bytes of a record, which torch stores uncompressed (deflated ones are read too)."""
    method = archive.getinfo(name).compress_type
    if method not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise _Malformed(
            f"a record {_short(name)} compressed with method {method}; expected stored or deflated"
        )
    return archive.read(name)


def _load_legacy(data):
    """The state dict and key -> storage array of a legacy stream (PyTorch < 1.6).

    The stream holds five pickles (magic number, protocol version, system
    info, state dict, storage keys), then each storage as an 8-byte
    little-endian element count and its elements.
    """
    stream = io.BytesIO(data)
    try:
        magic = _unpickle(stream, "magic number")
    except _Malformed as error:
        raise _Malformed(f"a file that is not a PyTorch checkpoint: {error}") from error.__cause__
    if magic != _LEGACY_MAGIC:
        raise _Malformed(
            f"a file that is not a PyTorch checkpoint: its first pickle is a "
            f"{type(magic).__name__}, not torch's magic number"
        )
    protocol = _unpickle(stream, "protocol version")
    if protocol != _LEGACY_PROTOCOL:
        raise _Malformed(f"protocol version {_short(protocol)}; expected {_LEGACY_PROTOCOL}")
    if not isinstance(_unpickle(stream, "system info"), dict):
        raise _Malformed("a system info pickle that is not a dict")
    refs = {}
    state = _unpickle(stream, "state dict", refs, legacy=True)
    keys = _unpickle(stream, "storage keys")
    if not isinstance(keys, list):
        raise _Malformed(f"storage keys of type {type(keys).__name__}; expected a list")
    return state, _legacy_storages(data, stream.tell(), keys, refs)


def _legacy_storages(data, position, keys, refs):
    """Reads the storages after the legacy stream's pickles, checking each against the file.

    Args:
        data: bytes. The whole file.
        position: int. Where the first storage starts.
        keys: list. The storage keys, in the order the storages follow.
        refs: dict. Key -> `_Storage` for each storage the state dict refers to.

    Returns:
        A dict of key -> 1-D array, one for each key of `refs`.

    Raises:
        _Malformed: for a key the state dict does not refer to, a key given
            twice, a count that differs from the state dict's or runs past
            the end of the file, or a storage with no data.
    """
    storages = {}
    for key in keys:
        storage = refs.get(key) if isinstance(key, str) else None
        if storage is None or key in storages:
            raise _Malformed(
                f"storage key {_short(key)}, which the state dict does not refer to "
                "or which is given twice"
            )
        if len(data) - position < 8:
            raise _Malformed(f"a file that ends before the element count of storage {_short(key)}")
        (count,) = struct.unpack_from("<q", data, position)
        position += 8
        nbytes = count * storage.dtype.itemsize
        if not 0 <= nbytes <= len(data) - position:
            raise _Malformed(
                f"storage {_short(key)} of {count} {storage.dtype} elements "
                f"({nbytes} bytes), but {len(data) - position} bytes remain "
                "in the file"
            )
        if count != storage.numel:
            raise _Malformed(
                f"storage {_short(key)} of {count} elements; the state dict says {storage.numel}"
            )
        storages[key] = np.frombuffer(data, storage.dtype, count, position)
        position += nbytes
    missing = sorted(refs.keys() - storages.keys())
    if missing:
        raise _Malformed(f"no data for storages {_short(missing)} that the state dict refers to")
    return storages


def _materialise(state, storages):
    """The flat ordered dict of name -> value, each tensor record made an array."""
    if not isinstance(state, dict):
        raise _Malformed(f"a state dict pickle that holds a {type(state).__name__}, not a dict")
    return collections.OrderedDict(
        (name, _value(name, value, storages)) for name, value in _flatten(state, "", set(), 0)
    )


def _flatten(state, prefix, seen, depth):
    """Yields (dotted name, value) for the leaves of nested dicts, each dict visited once."""
    # A crafted pickle can share or nest dicts to make the names cost exponential time.
    if id(state) in seen or depth > _MAX_NESTING:
        raise _Malformed(
            f"a dict at {_short(prefix)} that contains itself, appears twice, "
            f"or is nested deeper than {_MAX_NESTING}"
        )
    seen.add(id(state))
    for key, value in state.items():
        if isinstance(value, dict):
            yield from _flatten(value, f"{prefix}{key}.", seen, depth + 1)
        else:
            yield f"{prefix}{key}", value


def _value(name, value, storages):
    """A state dict value as it is returned: tensor records and storages become arrays."""
    if isinstance(value, _Tensor):
        return _tensor_array(name, value, storages)
    if isinstance(value, _Storage):
        return storages[value.key].copy()
    return value


def _tensor_array(name, tensor, storages):
    """The numpy array of a tensor record, after checking it lies inside its storage.

    A tensor that repeats elements (zero strides, as `expand` makes) and so
    has more elements than its storage comes back as a read-only view: a
    crafted size cannot make the reader allocate more than the file holds.

    Raises:
        _Malformed: if the offset, size or strides reach outside the storage.
    """
    if not isinstance(tensor.storage, _Storage):
        raise _Malformed(
            f"tensor {_short(name)} whose storage is a {type(tensor.storage).__name__}"
        )
    storage = storages[tensor.storage.key]
    offset, size, stride = tensor.offset, tensor.size, tensor.stride
    problem = _layout_problem(offset, size, stride, len(storage))
    if problem:
        raise _Malformed(
            f"tensor {_short(name)} with offset {_short(offset)}, size {_short(size)} "
            f"and stride {_short(stride)}, whose {problem}"
        )
    strides = tuple(s * storage.itemsize if n > 1 else 0 for n, s in zip(size, stride))
    try:
        if 0 in size:
            return np.zeros(size, storage.dtype)
        view = np.lib.stride_tricks.as_strided(
            storage[offset:], shape=size, strides=strides, writeable=False
        )
    except _ARRAY_ERRORS as error:
        raise _Malformed(
            f"tensor {_short(name)} of size {_short(size)} that numpy refuses "
            f"({type(error).__name__}: {error})"
        ) from error
    return view if view.size > len(storage) else view.copy()


def _layout_problem(offset, size, stride, length):
    """Why a tensor's offset, size and strides reach outside a storage of `length`, or None.

    The largest element a non-empty tensor reads is
    `offset + sum((size_i - 1) * stride_i)`; it must be below `length`.
    """
    if not _is_count(offset):
        return "offset is not an int >= 0"
    if not (isinstance(size, tuple) and isinstance(stride, tuple) and len(size) == len(stride)):
        return "size and stride are not tuples of one length"
    if not all(_is_count(n) for n in size):
        return "size has an entry that is not an int >= 0"
    if not all(_is_count(s) for s in stride):
        return "stride has an entry that is not an int >= 0 (negative strides are not supported)"
    if 0 in size:
        if offset > length:
            return f"offset is past the end of a storage of {length} elements"
        return None
    last = offset + sum((n - 1) * s for n, s in zip(size, stride))
    if last >= length:
        return f"last element {last} is past the end of a storage of {length} elements"
    return None


def _is_count(value):
    return type(value) is int and value >= 0


def load_state_dict(path):
    """Reads a PyTorch `.pth` state dict as an ordered dict of name -> numpy array.

    Nested dicts are flattened to dotted names ("bn.running_mean"); other
    plain values (ints, strings) are returned as they are. No code in the file
    is run, whatever it holds.

    Args:
        path: str or path-like. A file written by `torch.save(state_dict)`, in
            the zip or the legacy format.

    Returns:
        A `collections.OrderedDict` of name -> numpy array (or plain value),
        in the order of the file.

    Raises:
        ValueError: if the file is not a PyTorch state dict of tensors, refers
            to anything else (code included), or is malformed or truncated.
            The message names the file and the problem.
        OSError: if the file cannot be read.
    """
    with open(path, "rb") as f:
        data = f.read()
    try:
        if not data:
            raise _Malformed("an empty file")
        state, storages = _load_zip(data) if data[:4] in _ZIP_SIGNATURES else _load_legacy(data)
        return _materialise(state, storages)
    except _Malformed as error:
        message, cause = str(error), error.__cause__
    raise ValueError(
        f"Expected a PyTorch state dict of tensors in {path}. Received: {message}"
    ) from cause
