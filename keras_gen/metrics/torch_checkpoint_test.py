import os

import numpy as np
import pytest

from keras_gen.metrics import torch_checkpoint

# Written by scripts/make_inception_parity_fixture.py with torch.save in both formats.
TESTDATA = os.path.join(os.path.dirname(__file__), "testdata")
@pytest.mark.parametrize("name", ["zip", "legacy"])
def test_torch_checkpoint_reader(name):
    state = torch_checkpoint.load_state_dict(os.path.join(TESTDATA, f"state_{name}.pth"))
    assert list(state) == ["conv.weight", "transposed", "bn.running_mean", "steps"]
    np.testing.assert_array_equal(state["conv.weight"],
                                  np.arange(24, dtype="float32").reshape(2, 3, 2, 2))
    np.testing.assert_array_equal(state["transposed"], np.arange(12.0).reshape(3, 4).T)
    assert state["transposed"].dtype == np.float64
    np.testing.assert_array_equal(state["bn.running_mean"], [0.5, -0.5])
    assert state["steps"].dtype == np.int64 and int(state["steps"]) == 7


def test_other_files_are_refused(tmp_path):
    import pickle

    path = tmp_path / "not_torch.pth"
    path.write_bytes(pickle.dumps({"a": 1}))
    with pytest.raises(ValueError, match="not a PyTorch checkpoint"):
        torch_checkpoint.load_state_dict(str(path))


def test_pickled_code_is_not_run(tmp_path):
    import pickle
    import zipfile

    class Evil:
        def __reduce__(self):
            return (os.system, ("echo hacked",))

    path = tmp_path / "evil.pth"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", pickle.dumps({"x": Evil()}))
    with pytest.raises(pickle.UnpicklingError, match="only tensor state dicts"):
        torch_checkpoint.load_state_dict(str(path))
