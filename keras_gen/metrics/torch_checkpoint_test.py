import collections
import io
import os
import pickle
import random
import shlex
import struct
import zipfile

import numpy as np
import pytest

from keras_gen.metrics import torch_checkpoint

# Written by scripts/make_inception_parity_fixture.py with torch.save in both formats.
TESTDATA = os.path.join(os.path.dirname(__file__), "testdata")
MAGIC = 0x1950A86A20F9469CFC6C
SYS_INFO = {
    "protocol_version": 1001,
    "little_endian": True,
    "type_sizes": {"short": 2, "int": 4, "long": 4},
}
LEGACY_PARTS = ("magic", "protocol", "sys_info", "state", "keys")


@pytest.mark.parametrize("name", ["zip", "legacy"])
def test_torch_checkpoint_reader(name):
    state = torch_checkpoint.load_state_dict(os.path.join(TESTDATA, f"state_{name}.pth"))
    assert list(state) == ["conv.weight", "transposed", "bn.running_mean", "steps"]
    np.testing.assert_array_equal(
        state["conv.weight"], np.arange(24, dtype="float32").reshape(2, 3, 2, 2)
    )
    np.testing.assert_array_equal(state["transposed"], np.arange(12.0).reshape(3, 4).T)
    assert state["transposed"].dtype == np.float64
    np.testing.assert_array_equal(state["bn.running_mean"], [0.5, -0.5])
    assert state["steps"].dtype == np.int64 and int(state["steps"]) == 7


def test_other_files_are_refused(tmp_path):
    path = tmp_path / "not_torch.pth"
    path.write_bytes(pickle.dumps({"a": 1}))
    with pytest.raises(ValueError, match="not a PyTorch checkpoint"):
        torch_checkpoint.load_state_dict(str(path))


def test_pickled_code_is_not_run(tmp_path):
    class Evil:
        def __reduce__(self):
            return (os.system, ("echo hacked",))

    path = tmp_path / "evil.pth"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", pickle.dumps({"x": Evil()}))
    _assert_refused(path, "only tensor state dicts")


# Stand-ins for torch's names in the pickles the tests write; `_dumps` renames them.
class FloatStorage:
    pass


def _rebuild_tensor_v2(*args):
    pass


def _rebuild_tensor(*args):
    pass


class Storage:
    """A float32 storage, pickled as torch's persistent id (or as `pid`, when given)."""

    def __init__(self, key, values, numel=None, pid=None):
        self.key = key
        self.data = np.asarray(values, "<f4").tobytes()
        self.numel = len(values) if numel is None else numel
        self.pid = pid


class Tensor:
    """A tensor record, pickled as torch pickles one: `_rebuild_tensor_v2(storage, ...)`."""

    def __init__(self, storage, offset, size, stride, v1=False, args=None, state=None):
        self.storage, self.offset, self.size, self.stride = storage, offset, size, stride
        self.v1, self.args, self.state = v1, args, state

    def __reduce__(self):
        if self.v1:
            return (_rebuild_tensor, (self.storage, self.offset, self.size, self.stride))
        args = self.args or (
            self.storage,
            self.offset,
            self.size,
            self.stride,
            False,
            collections.OrderedDict(),
        )
        return (_rebuild_tensor_v2, args) + ((self.state,) if self.state else ())


class Payload:
    """Creates `marker` when a plain unpickler reads it."""

    def __init__(self, marker, how):
        self.marker, self.how = str(marker), how

    def __reduce__(self):
        if self.how == "system":
            return (os.system, ("touch " + shlex.quote(self.marker),))
        return (open, (self.marker, "w"))


class _TorchPickler(pickle.Pickler):
    def __init__(self, file, legacy):
        super().__init__(file, protocol=2)
        self.legacy = legacy

    def persistent_id(self, obj):
        if not isinstance(obj, Storage):
            return None
        if obj.pid is not None:
            return obj.pid
        pid = ("storage", FloatStorage, obj.key, "cpu", obj.numel)
        return pid + (None,) if self.legacy else pid


def _dumps(obj, legacy=False):
    """Protocol-2 pickle of `obj` as torch.save writes it, stand-ins renamed to torch's names."""
    buffer = io.BytesIO()
    _TorchPickler(buffer, legacy).dump(obj)
    here = f"c{__name__}\n".encode()
    return (
        buffer.getvalue()
        .replace(here + b"FloatStorage\n", b"ctorch\nFloatStorage\n")
        .replace(here + b"_rebuild_tensor_v2\n", b"ctorch._utils\n_rebuild_tensor_v2\n")
        .replace(here + b"_rebuild_tensor\n", b"ctorch._utils\n_rebuild_tensor\n")
    )


def _legacy_bytes(state, storages, tail=None, **pickles):
    """A legacy stream: five pickles, then each storage as its int64 count and its data."""
    parts = {
        "magic": MAGIC,
        "protocol": 1001,
        "sys_info": SYS_INFO,
        "state": state,
        "keys": [storage.key for storage in storages],
        **pickles,
    }
    if tail is None:
        tail = b"".join(struct.pack("<q", s.numel) + s.data for s in storages)
    return b"".join(_dumps(parts[part], legacy=True) for part in LEGACY_PARTS) + tail


def _zip_bytes(state, storages, data_pkl=None, names=("archive/data.pkl",)):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in names:
            archive.writestr(name, _dumps(state) if data_pkl is None else data_pkl)
        for storage in storages:
            archive.writestr(f"archive/data/{storage.key}", storage.data)
    return buffer.getvalue()


def _file_bytes(kind, state, storages):
    return _zip_bytes(state, storages) if kind == "zip" else _legacy_bytes(state, storages)


def _write(tmp_path, data, name="crafted.pth"):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _assert_refused(path, match, marker=None):
    """Checks that reading `path` raises a ValueError naming it, and ran no payload."""
    with pytest.raises(ValueError, match=match) as info:
        torch_checkpoint.load_state_dict(str(path))
    assert str(path) in str(info.value)
    if marker is not None:
        assert not os.path.exists(marker)


@pytest.mark.parametrize("kind", ["zip", "legacy"])
def test_crafted_checkpoint_round_trip(tmp_path, kind):
    storage, big = Storage("0", range(6)), Storage("1", [1.5])
    state = collections.OrderedDict(
        [
            ("w", Tensor(storage, 0, (2, 3), (3, 1))),
            ("w_t", Tensor(storage, 0, (3, 2), (1, 3))),
            ("tail", Tensor(storage, 4, (2,), (1,), v1=True)),
            ("scalar", Tensor(storage, 5, (), ())),
            ("empty", Tensor(storage, 6, (0, 3), (3, 1))),
            ("row", Tensor(storage, 3, (1, 3), (2**70, 1))),  # a size-1 dim's stride is unused
            ("expanded", Tensor(big, 0, (4, 5), (0, 0))),
            ("nested", {"count": 3}),
        ]
    )
    path = _write(tmp_path, _file_bytes(kind, state, [storage, big]))
    loaded = torch_checkpoint.load_state_dict(str(path))
    values = np.arange(6, dtype="float32")
    assert list(loaded) == [
        "w",
        "w_t",
        "tail",
        "scalar",
        "empty",
        "row",
        "expanded",
        "nested.count",
    ]
    np.testing.assert_array_equal(loaded["w"], values.reshape(2, 3))
    np.testing.assert_array_equal(loaded["w_t"], values.reshape(2, 3).T)
    np.testing.assert_array_equal(loaded["tail"], [4, 5])
    assert loaded["scalar"].shape == () and loaded["scalar"] == 5
    assert loaded["empty"].shape == (0, 3) and loaded["empty"].dtype == np.float32
    np.testing.assert_array_equal(loaded["row"], [[3, 4, 5]])
    np.testing.assert_array_equal(loaded["expanded"], np.full((4, 5), 1.5))
    assert not loaded["expanded"].flags.writeable  # a view: not 20 floats from 1 in the file
    assert loaded["w"].flags.writeable
    assert loaded["nested.count"] == 3


@pytest.mark.parametrize("how", ["system", "open"])
@pytest.mark.parametrize("part", LEGACY_PARTS + ("zip",))
def test_code_in_any_pickle_is_not_run(tmp_path, part, how):
    marker = tmp_path / "marker"
    storage = Storage("0", range(6))
    tensor = Tensor(storage, 0, (6,), (1,))
    payload = Payload(marker, how)
    if part == "zip":
        data = _zip_bytes({"w": tensor, "x": payload}, [storage])
    elif part == "state":
        data = _legacy_bytes({"w": tensor, "x": payload}, [storage])
    else:
        data = _legacy_bytes({"w": tensor}, [storage], **{part: payload})
    _assert_refused(
        _write(tmp_path, data), r"refers to .*(system|open).*only tensor state dicts", marker
    )


LAYOUTS = {
    "oversize": (0, (3, 3), (3, 1), "last element 8 is past the end of a storage of 6"),
    "huge_stride": (0, (2, 3), (2**62, 1), "past the end of a storage of 6"),
    "negative_stride": (5, (2, 3), (-3, 1), "negative strides are not supported"),
    "negative_offset": (-1, (2,), (1,), "offset is not an int >= 0"),
    "offset_past_end": (6, (1,), (1,), "last element 6 is past the end"),
    "empty_offset_past_end": (7, (0,), (1,), "offset is past the end"),
    "negative_size": (0, (-1, 3), (3, 1), "size has an entry"),
    "float_offset": (0.5, (2,), (1,), "offset is not an int"),
    "rank_mismatch": (0, (2, 3), (3,), "tuples of one length"),
    "list_size": (0, [6], [1], "tuples of one length"),
}


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
@pytest.mark.parametrize("kind", ["zip", "legacy"])
def test_tensor_outside_its_storage_is_refused(tmp_path, kind, layout):
    offset, size, stride, match = LAYOUTS[layout]
    storage = Storage("0", range(6))
    data = _file_bytes(kind, {"w": Tensor(storage, offset, size, stride)}, [storage])
    _assert_refused(_write(tmp_path, data), "tensor 'w' .*" + match)


@pytest.mark.parametrize("kind", ["zip", "legacy"])
def test_missing_storage_is_refused(tmp_path, kind):
    state = {"w": Tensor(Storage("0", range(6)), 0, (6,), (1,))}
    data = _zip_bytes(state, []) if kind == "zip" else _legacy_bytes(state, [], keys=[])
    _assert_refused(_write(tmp_path, data), "without the record|no data for storages")


STREAM_PROBLEMS = {
    "count_beyond_file": ({"tail": struct.pack("<q", 10**6) + bytes(24)}, "24 bytes remain"),
    "huge_count": ({"tail": struct.pack("<q", 2**62)}, "0 bytes remain"),
    "negative_count": ({"tail": struct.pack("<q", -1) + bytes(24)}, "-1 float32 elements"),
    "count_is_not_numel": ({"tail": struct.pack("<q", 5) + bytes(24)}, "the state dict says 6"),
    "no_count": ({"tail": b"\x06\x00"}, "ends before the element count"),
    "unreferenced_key": ({"keys": ["0", "9"]}, "'9', which the state dict does not refer to"),
    "key_twice": (
        {"keys": ["0", "0"], "tail": 2 * (struct.pack("<q", 6) + bytes(24))},
        "given twice",
    ),
    "keys_not_a_list": ({"keys": "0"}, "expected a list"),
    "wrong_protocol": ({"protocol": 1000}, "protocol version 1000"),
    "sys_info_not_a_dict": ({"sys_info": [1]}, "system info pickle that is not a dict"),
    "wrong_magic": ({"magic": 7}, "not a PyTorch checkpoint"),
    "state_not_a_dict": ({"state": [1, 2], "keys": [], "tail": b""}, "holds a list, not a dict"),
}


@pytest.mark.parametrize("problem", sorted(STREAM_PROBLEMS))
def test_malformed_legacy_stream_is_refused(tmp_path, problem):
    changes, match = STREAM_PROBLEMS[problem]
    changes, storage = dict(changes), Storage("0", range(6))
    state = changes.pop("state", {"w": Tensor(storage, 0, (6,), (1,))})
    _assert_refused(_write(tmp_path, _legacy_bytes(state, [storage], **changes)), match)


PERSISTENT_IDS = {
    "too_short": (("storage", FloatStorage, "0"), "persistent id"),
    "not_storage": (("module", FloatStorage, "0", "cpu", 6), "persistent id"),
    "type_not_storage": (("storage", "FloatStorage", "0", "cpu", 6), "persistent id"),
    "key_not_str": (("storage", FloatStorage, 0, "cpu", 6), "persistent id"),
    "negative_numel": (("storage", FloatStorage, "0", "cpu", -1), "persistent id"),
    "a_string": ("storage", "persistent id"),
    "view": (("storage", FloatStorage, "0", "cpu", 6, ("0", 0, 6)), "view of storage '0'"),
}


@pytest.mark.parametrize("case", sorted(PERSISTENT_IDS))
def test_malformed_persistent_id_is_refused(tmp_path, case):
    pid, match = PERSISTENT_IDS[case]
    storage = Storage("0", range(6), pid=pid)
    data = _legacy_bytes({"w": Tensor(storage, 0, (6,), (1,))}, [storage])
    _assert_refused(_write(tmp_path, data), match)


def test_storage_referred_to_with_two_sizes_is_refused(tmp_path):
    storage, same_key = Storage("0", range(6)), Storage("0", range(6), numel=7)
    state = {"a": Tensor(storage, 0, (6,), (1,)), "b": Tensor(same_key, 0, (6,), (1,))}
    _assert_refused(_write(tmp_path, _zip_bytes(state, [storage])), "referred to as 6")


@pytest.mark.parametrize(
    "case",
    ["too_few_args", "record_state", "storage_not_a_storage", "contains_itself", "shared_dict"],
)
def test_malformed_records_are_refused(tmp_path, case):
    storage = Storage("0", range(6))
    if case == "too_few_args":
        state, match = {"w": Tensor(storage, 0, (6,), (1,), args=(storage, 0))}, "TypeError"
    elif case == "record_state":
        state = {"w": Tensor(storage, 0, (6,), (1,), state={"offset": -5})}
        match = "sets the state of a Tensor record"
    elif case == "storage_not_a_storage":
        state, match = {"w": Tensor([1.0], 0, (1,), (1,))}, "whose storage is a list"
    else:
        inner = {"w": Tensor(storage, 0, (6,), (1,))}
        state = {"a": inner, "b": inner}
        if case == "contains_itself":
            inner["self"], state = inner, inner
        match = "contains itself, appears twice"
    _assert_refused(_write(tmp_path, _zip_bytes(state, [storage])), match)


@pytest.mark.parametrize(
    "names, match",
    [
        ((), "0 <folder>/data.pkl records"),
        (("archive/data.pkl", "other/data.pkl"), "2 <folder>/data.pkl records"),
        (("data.pkl",), "0 <folder>/data.pkl records"),
    ],
)
def test_zip_without_one_data_pkl_is_refused(tmp_path, names, match):
    storage = Storage("0", range(6))
    data = _zip_bytes({"w": Tensor(storage, 0, (6,), (1,))}, [storage], names=names)
    _assert_refused(_write(tmp_path, data), match)


@pytest.mark.parametrize("numel, match", [(6, "of 22 bytes"), (5, "holds 5 float32 elements")])
def test_zip_storage_of_wrong_length_is_refused(tmp_path, numel, match):
    storage = Storage("0", range(6), numel=numel)
    if numel == 6:
        storage.data = storage.data[:-2]  # not a whole number of float32 elements
    data = _zip_bytes({"w": Tensor(storage, 0, (1,), (1,))}, [storage])
    _assert_refused(_write(tmp_path, data), match)


@pytest.mark.parametrize("kind", ["zip", "legacy"])
@pytest.mark.parametrize(
    "pickled, match",
    [
        # LONG_BINPUT 2**31 - 1: the C unpickler would first grow its memo to 16 GiB.
        (b"\x80\x02K\x01r\xff\xff\xff\x7f.", "stores memo entry 2147483647 at its opcode 2"),
        # BINBYTES8 of 1 TiB: the C unpickler would allocate it before reading.
        (b"\x80\x04\x8e" + struct.pack("<Q", 2**40) + b".", "expected 1099511627776 bytes"),
    ],
)
def test_pickle_sizes_cannot_exhaust_memory(tmp_path, kind, pickled, match):
    if kind == "zip":
        data = _zip_bytes(None, [], data_pkl=pickled)
    else:
        data = b"".join(_dumps(part, legacy=True) for part in (MAGIC, 1001, SYS_INFO)) + pickled
    _assert_refused(_write(tmp_path, data), match)


def test_empty_file_is_refused(tmp_path):
    _assert_refused(_write(tmp_path, b""), "an empty file")


@pytest.mark.parametrize("name", ["legacy", "zip"])
def test_every_truncation_of_the_fixtures_is_refused(tmp_path, name):
    with open(os.path.join(TESTDATA, f"state_{name}.pth"), "rb") as f:
        data = f.read()
    path = tmp_path / "truncated.pth"
    # Every byte of the legacy stream; in the zip, the end record (the last 22 bytes) decides.
    cuts = (
        range(len(data))
        if name == "legacy"
        else [*range(0, len(data) - 64, 16), *range(len(data) - 64, len(data))]
    )
    for cut in cuts:
        path.write_bytes(data[:cut])
        with pytest.raises(ValueError) as info:
            torch_checkpoint.load_state_dict(str(path))
        assert str(path) in str(info.value), cut


@pytest.mark.parametrize("name", ["legacy", "zip"])
def test_corrupted_fixtures_give_a_state_dict_or_value_error(tmp_path, name):
    with open(os.path.join(TESTDATA, f"state_{name}.pth"), "rb") as f:
        data = f.read()
    path, rng = tmp_path / "corrupted.pth", random.Random(0)
    for _ in range(300):
        corrupted = bytearray(data)
        for _ in range(rng.randint(1, 4)):
            corrupted[rng.randrange(len(data))] = rng.randrange(256)
        path.write_bytes(bytes(corrupted))
        try:
            state = torch_checkpoint.load_state_dict(str(path))
        except ValueError as error:
            assert str(path) in str(error)
        else:
            assert isinstance(state, collections.OrderedDict)
