"""Writes the fixture that checks InceptionFID against pytorch-fid's network in CI.

Run beside torch and pytorch-fid (not TensorFlow), in a separate environment:

    python -m venv /tmp/torchenv && /tmp/torchenv/bin/pip install torch torchvision pytorch-fid
    /tmp/torchenv/bin/python scripts/make_inception_parity_fixture.py

It draws seeded random weights for every tensor of pytorch-fid's FID Inception
network with `keras_gen/metrics/random_weights.py` (numpy only), loads them
into pytorch-fid's `InceptionV3` (no weights are downloaded), runs one seeded
random 299x299 input through it and saves the seeds, the 2048-d pool3 features
and the 1008 bias-free logits to `keras_gen/metrics/testdata/inception_parity.npz`,
and writes two small state dicts (zip and legacy torch.save formats) for the
test of the `.pth` reader.
The test rebuilds the same weights and input without torch and compares.
"""

import importlib.util
import os

import numpy as np
import torch
from pytorch_fid import inception as fid_inception

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WEIGHT_SEED, IMAGE_SEED = 2015, 1205


def _random_weights_module():
    path = os.path.join(ROOT, "keras_gen", "metrics", "random_weights.py")
    spec = importlib.util.spec_from_file_location("random_weights", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main():
    random_weights = _random_weights_module()
    skeleton = fid_inception._inception_v3(num_classes=1008, aux_logits=False, weights=None)
    own = skeleton.state_dict()
    # Every float tensor of the FID network but the logits' bias, in PyTorch layout.
    shapes = {
        k: tuple(v.shape) for k, v in own.items() if v.dtype == torch.float32 and k != "fc.bias"
    }
    drawn = random_weights.random_state_dict(shapes, WEIGHT_SEED)
    state = {
        k: torch.from_numpy(drawn[k])
        if k in drawn
        else torch.zeros_like(v)
        if k == "fc.bias"
        else v
        for k, v in own.items()
    }
    fid_inception.load_state_dict_from_url = lambda *args, **kwargs: state
    network = fid_inception.InceptionV3(
        [fid_inception.InceptionV3.BLOCK_INDEX_BY_DIM[2048]],
        resize_input=False,
        normalize_input=False,
        use_fid_inception=True,
    ).eval()
    images = random_weights.random_images(IMAGE_SEED, count=1)
    with torch.no_grad():
        x = torch.from_numpy(images).permute(0, 3, 1, 2)
        features = network(x)[0][:, :, 0, 0]
        logits = features @ state["fc.weight"].T
    out = os.path.join(ROOT, "keras_gen", "metrics", "testdata", "inception_parity.npz")
    np.savez(
        out,
        weight_seed=WEIGHT_SEED,
        image_seed=IMAGE_SEED,
        features=features.numpy().astype(np.float32),
        logits=logits.numpy().astype(np.float32),
        torch_version=torch.__version__,
    )
    print(
        f"wrote {out}: features {features.shape}, |features| mean "
        f"{features.abs().mean():.4f}, logits {logits.shape}"
    )
    write_checkpoint_fixtures()


def write_checkpoint_fixtures():
    """Small state dicts in both torch.save formats, for the .pth reader's test."""
    from collections import OrderedDict

    state = OrderedDict(
        [
            ("conv.weight", torch.arange(24, dtype=torch.float32).reshape(2, 3, 2, 2)),
            ("transposed", torch.arange(12, dtype=torch.float64).reshape(3, 4).t()),
            ("bn.running_mean", torch.tensor([0.5, -0.5])),
            ("steps", torch.tensor(7)),
        ]
    )
    testdata = os.path.join(ROOT, "keras_gen", "metrics", "testdata")
    torch.save(state, os.path.join(testdata, "state_zip.pth"))
    torch.save(
        state, os.path.join(testdata, "state_legacy.pth"), _use_new_zipfile_serialization=False
    )


if __name__ == "__main__":
    main()
