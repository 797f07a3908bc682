import hashlib
import io
import os
import tarfile

import numpy as np
import pytest
import tensorflow as tf

from keras_gen.metrics import inception, inception_graph, random_weights

TESTDATA = os.path.join(os.path.dirname(__file__), "testdata")


def graph_tensors(state):
    """The Const tensors the 2015-12-05 graph holds for a pytorch-fid state dict (TF layouts)."""
    tensors = {}
    for scope, module in inception_graph.graph_name_map().items():
        tensors[f"{scope}/conv2d_params"] = np.transpose(
            state[f"{module}.conv.weight"], (2, 3, 1, 0)
        )
        for graph_key, torch_key in (
            ("gamma", "weight"),
            ("beta", "bias"),
            ("moving_mean", "running_mean"),
            ("moving_variance", "running_var"),
        ):
            tensors[f"{scope}/batchnorm/{graph_key}"] = state[f"{module}.bn.{torch_key}"]
    tensors["softmax/weights"] = np.transpose(state["fc.weight"])
    tensors["softmax/biases"] = np.zeros(1008, "float32")
    return tensors


def write_graph_archive(path, tensors):
    """A `.tgz` laid out as inception-2015-12-05.tgz: the graph plus non-weight nodes."""
    graph = tf.compat.v1.GraphDef()
    image = graph.node.add(name="DecodeJpeg/contents", op="Placeholder")
    image.attr["dtype"].type = tf.string.as_datatype_enum
    size = graph.node.add(name="ResizeBilinear/size", op="Const")
    size.attr["value"].tensor.CopyFrom(tf.make_tensor_proto(np.array([299, 299], "int32")))
    for name, value in tensors.items():
        node = graph.node.add(name=name, op="Const")
        node.attr["dtype"].type = tf.float32.as_datatype_enum
        node.attr["value"].tensor.CopyFrom(tf.make_tensor_proto(value))
    data = graph.SerializeToString()
    with tarfile.open(path, "w:gz", compresslevel=1) as archive:
        info = tarfile.TarInfo(inception_graph.GRAPH_MEMBER)
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
        readme = b"imagenet_synset_to_human_label_map.txt stands here in the real archive"
        info = tarfile.TarInfo("LICENSE")
        info.size = len(readme)
        archive.addfile(info, io.BytesIO(readme))


@pytest.fixture(scope="module")
def parity_state():
    fixture = np.load(os.path.join(TESTDATA, "inception_parity.npz"))
    shapes = inception.torch_weight_shapes(inception.build_inception_fid())
    return random_weights.random_state_dict(shapes, int(fixture["weight_seed"])), fixture


@pytest.fixture(scope="module")
def graph_archive(parity_state, tmp_path_factory):
    path = tmp_path_factory.mktemp("graph") / "inception-2015-12-05.tgz"
    write_graph_archive(path, graph_tensors(parity_state[0]))
    return path


def test_name_map_covers_every_convolution_once():
    names = inception_graph.graph_name_map()
    shapes = inception.torch_weight_shapes(inception.build_inception_fid())
    convolutions = {
        name[: -len(".conv.weight")] for name in shapes if name.endswith(".conv.weight")
    }
    assert sorted(names.values()) == sorted(convolutions)
    assert len(names) == 94


@pytest.mark.parametrize(
    "scope, module",
    [
        # Scopes of classify_image_graph_def.pb, as published converters of that file list them.
        ("conv", "Conv2d_1a_3x3"),
        ("conv_4", "Conv2d_4a_3x3"),
        ("mixed/tower/conv_1", "Mixed_5b.branch5x5_2"),
        ("mixed_2/tower_1/conv_2", "Mixed_5d.branch3x3dbl_3"),
        ("mixed_3/conv", "Mixed_6a.branch3x3"),
        ("mixed_4/tower_1/conv_4", "Mixed_6b.branch7x7dbl_5"),
        ("mixed_7/tower_2/conv", "Mixed_6e.branch_pool"),
        ("mixed_8/tower_1/conv_3", "Mixed_7a.branch7x7x3_4"),
        ("mixed_9/tower/mixed/conv_1", "Mixed_7b.branch3x3_2b"),
        ("mixed_10/tower_1/mixed/conv", "Mixed_7c.branch3x3dbl_3a"),
    ],
)
def test_graph_scopes_map_to_pytorch_fid_modules(scope, module):
    assert inception_graph.graph_name_map()[scope] == module


def test_graph_archive_gives_pytorch_fid_features(parity_state, graph_archive):
    state, fixture = parity_state
    loaded = inception_graph.graph_state_dict(graph_archive)
    assert set(loaded) == set(state) - {"fc.bias"}
    for name, value in loaded.items():
        np.testing.assert_array_equal(value, state[name], err_msg=name)
    extractor = inception.InceptionFID(weights=str(graph_archive))
    images = random_weights.random_images(int(fixture["image_seed"]), count=1)
    out = extractor.model(images, training=False)
    # The expected values come from pytorch-fid's own network with these weights.
    np.testing.assert_allclose(out["features"].numpy(), fixture["features"], rtol=0, atol=1e-4)
    # Same tensors as a state dict, so the same protocol: stats stay comparable.
    assert extractor.protocol["weights"] == inception.state_dict_hash(state)


def test_missing_tensor_and_non_graph_files_are_named(parity_state, tmp_path):
    tensors = graph_tensors(parity_state[0])
    del tensors["mixed_9/tower/mixed/conv/batchnorm/gamma"]
    path = tmp_path / "partial.tgz"
    write_graph_archive(path, tensors)
    with pytest.raises(ValueError, match="mixed_9/tower/mixed/conv/batchnorm/gamma"):
        inception_graph.graph_state_dict(path)
    junk = tmp_path / "junk.pb"
    junk.write_bytes(b"\xff" * 64)
    with pytest.raises(ValueError, match="junk.pb"):
        inception_graph.graph_state_dict(junk)
    empty = tmp_path / "empty.tgz"
    with tarfile.open(empty, "w:gz"):
        pass
    with pytest.raises(ValueError, match="classify_image_graph_def.pb"):
        inception_graph.graph_state_dict(empty)


def test_fetch_graph_checks_contents_and_sha256(graph_archive, tmp_path):
    cache = tmp_path / "cache"
    digest = hashlib.sha256(graph_archive.read_bytes()).hexdigest()
    with pytest.raises(ValueError, match="not sha256="):
        inception.fetch_weights(
            str(cache), source="tf_graph", url=graph_archive.as_uri(), sha256="0" * 64
        )
    assert not any(cache.iterdir())
    not_inception = tmp_path / "other.tgz"
    write_graph_archive(not_inception, {"softmax/weights": np.zeros((2048, 1008), "float32")})
    with pytest.raises(ValueError, match="not the FID Inception graph"):
        inception.fetch_weights(str(cache), source="tf_graph", url=not_inception.as_uri())
    assert not any(cache.iterdir())
    path = inception.fetch_weights(
        str(cache), source="tf_graph", url=graph_archive.as_uri(), sha256=digest
    )
    assert os.path.basename(path) == inception.GRAPH_FILE
    assert open(path, "rb").read() == graph_archive.read_bytes()


def test_unknown_source_is_an_error():
    with pytest.raises(ValueError, match="source='onnx'"):
        inception.fetch_weights(source="onnx")
