"""Reads the FID Inception weights out of the original `inception-2015-12-05.tgz`.

That archive (the one the TTUR code and TF-GAN load) holds
`classify_image_graph_def.pb`, a frozen TensorFlow graph whose weights are
`Const` nodes: `<scope>/conv2d_params` (HWIO kernels) and
`<scope>/batchnorm/{gamma,beta,moving_mean,moving_variance}` for each
convolution, and `softmax/weights` (2048 x 1008) for the classifier. The
graph's scopes are named by position (`mixed_4/tower_1/conv_2`), the Keras
network's layers by pytorch-fid's module names (`Mixed_6b.branch7x7dbl_3`);
`graph_name_map` spells out the correspondence, block by block.

The tensors are returned as a pytorch-fid state dict (name -> numpy array in
PyTorch layout), so both weight files go through the same loader and the same
shape checks.
"""

import tarfile

import numpy as np
import tensorflow as tf

GRAPH_MEMBER = "classify_image_graph_def.pb"

# Stem convolutions in graph order.
_STEM = ("Conv2d_1a_3x3", "Conv2d_2a_3x3", "Conv2d_2b_3x3", "Conv2d_3b_1x1", "Conv2d_4a_3x3")

# Per block kind: graph tower (None for the block's own first conv) -> branch
# modules in the order of the tower's convolutions (`conv`, `conv_1`, ...).
# A nested `mixed` inside a tower is the pair of parallel 1x3 / 3x1 convs of
# the E blocks.
_TOWERS = {
    "a": {
        None: ("branch1x1",),
        "tower": ("branch5x5_1", "branch5x5_2"),
        "tower_1": ("branch3x3dbl_1", "branch3x3dbl_2", "branch3x3dbl_3"),
        "tower_2": ("branch_pool",),
    },
    "b": {None: ("branch3x3",), "tower": ("branch3x3dbl_1", "branch3x3dbl_2", "branch3x3dbl_3")},
    "c": {
        None: ("branch1x1",),
        "tower": ("branch7x7_1", "branch7x7_2", "branch7x7_3"),
        "tower_1": tuple(f"branch7x7dbl_{i}" for i in range(1, 6)),
        "tower_2": ("branch_pool",),
    },
    "d": {
        "tower": ("branch3x3_1", "branch3x3_2"),
        "tower_1": tuple(f"branch7x7x3_{i}" for i in range(1, 5)),
    },
    "e": {
        None: ("branch1x1",),
        "tower": ("branch3x3_1",),
        "tower/mixed": ("branch3x3_2a", "branch3x3_2b"),
        "tower_1": ("branch3x3dbl_1", "branch3x3dbl_2"),
        "tower_1/mixed": ("branch3x3dbl_3a", "branch3x3dbl_3b"),
        "tower_2": ("branch_pool",),
    },
}

# Graph block scope -> (pytorch-fid block, block kind).
_BLOCKS = (
    ("mixed", "Mixed_5b", "a"),
    ("mixed_1", "Mixed_5c", "a"),
    ("mixed_2", "Mixed_5d", "a"),
    ("mixed_3", "Mixed_6a", "b"),
    ("mixed_4", "Mixed_6b", "c"),
    ("mixed_5", "Mixed_6c", "c"),
    ("mixed_6", "Mixed_6d", "c"),
    ("mixed_7", "Mixed_6e", "c"),
    ("mixed_8", "Mixed_7a", "d"),
    ("mixed_9", "Mixed_7b", "e"),
    ("mixed_10", "Mixed_7c", "e"),
)


def _conv_scope(index):
    return "conv" if index == 0 else f"conv_{index}"


def graph_name_map():
    """Graph convolution scope -> pytorch-fid module prefix, e.g. `mixed_9/tower/mixed/conv_1`
    -> `Mixed_7b.branch3x3_2b`."""
    names = {_conv_scope(i): name for i, name in enumerate(_STEM)}
    for scope, block, kind in _BLOCKS:
        for tower, branches in _TOWERS[kind].items():
            prefix = scope if tower is None else f"{scope}/{tower}"
            for i, branch in enumerate(branches):
                names[f"{prefix}/{_conv_scope(i)}"] = f"{block}.{branch}"
    return names


def read_graph_constants(path):
    """Name -> numpy array of every `Const` node of the graph in a `.tgz` or `.pb` file."""
    path = str(path)
    if tarfile.is_tarfile(path):
        with tarfile.open(path) as archive:
            members = [m for m in archive.getmembers() if m.name.endswith(GRAPH_MEMBER)]
            if not members:
                raise ValueError(
                    f"{path} has no {GRAPH_MEMBER}; it is not the inception-2015-12-05 archive"
                )
            serialized = archive.extractfile(members[0]).read()
    else:
        with open(path, "rb") as f:
            serialized = f.read()
    graph = tf.compat.v1.GraphDef()
    try:
        graph.ParseFromString(serialized)
    except Exception as error:  # protobuf's DecodeError has no stable import path
        raise ValueError(f"{path} is not a serialized TensorFlow GraphDef: {error}") from error
    return {
        node.name: tf.make_ndarray(node.attr["value"].tensor)
        for node in graph.node
        if node.op == "Const"
    }


def graph_state_dict(path):
    """The FID Inception weights of the original graph as a pytorch-fid state dict.

    Args:
        path: `inception-2015-12-05.tgz` or the `classify_image_graph_def.pb` inside it.

    Returns:
        A dict from pytorch-fid tensor names to numpy arrays in PyTorch layout
        (`OIHW` kernels, `fc.weight` of shape (1008, 2048)).

    Raises:
        ValueError: when the file is not a graph or lacks one of the tensors.
    """
    constants = read_graph_constants(path)
    state, missing = {}, []

    def take(name):
        if name not in constants:
            missing.append(name)
            return None
        return constants[name]

    for scope, module in graph_name_map().items():
        kernel = take(f"{scope}/conv2d_params")
        if kernel is not None:
            state[f"{module}.conv.weight"] = np.transpose(kernel, (3, 2, 0, 1))
        for graph_key, torch_key in (
            ("gamma", "weight"),
            ("beta", "bias"),
            ("moving_mean", "running_mean"),
            ("moving_variance", "running_var"),
        ):
            value = take(f"{scope}/batchnorm/{graph_key}")
            if value is not None:
                state[f"{module}.bn.{torch_key}"] = value
    fc = take("softmax/weights")
    if fc is not None:
        state["fc.weight"] = np.transpose(fc)
    if missing:
        raise ValueError(
            f"{path} lacks {len(missing)} tensors of the FID Inception graph, "
            f"e.g. {missing[:3]}; it is not inception-2015-12-05"
        )
    return state
