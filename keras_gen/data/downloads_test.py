import os
import socket
import time

import pytest

from keras_gen import data
from keras_gen.data import downloads


def _closed_port():
    """A port on 127.0.0.1 that nothing listens on (it was free a moment ago)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def unreachable_proxy(monkeypatch):
    """Every http(s) download goes through a proxy that refuses connections: offline, anywhere."""
    port = _closed_port()
    for name in ("no_proxy", "NO_PROXY", "HTTP_PROXY", "HTTPS_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("http_proxy", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("https_proxy", f"http://127.0.0.1:{port}")
    return port


def _tree(root):
    return sorted(
        os.path.relpath(os.path.join(directory, name), root)
        for directory, folders, files in os.walk(root)
        for name in folders + files
    )


def test_offline_download_fails_within_seconds_says_what_to_do_and_writes_nothing(
    tmp_path, unreachable_proxy
):
    data_dir = tmp_path / "tfds"
    start = time.monotonic()
    with pytest.raises(data.DownloadUnavailableError) as failure:
        data.load("tfds:mnist", data_dir=str(data_dir), download=True)
    assert time.monotonic() - start < 10  # tensorflow-datasets alone retries for ~205 s
    message = str(failure.value)
    assert f"127.0.0.1:{unreachable_proxy}" in message and "'mnist'" in message
    assert "tfds build mnist" in message and "mnist5k" in message
    assert not data_dir.exists()


class _FailingBuilder:
    """Stands in for a tfds builder whose download breaks off, leaving what tfds leaves."""

    name = "broken"
    url_infos = None  # nothing to check beforehand: the download itself fails

    def __init__(self, data_dir_root):
        self.data_dir_root = data_dir_root

    def download_and_prepare(self):
        root = self.data_dir_root
        partial = os.path.join(root, "downloads", "broken", "b.gz.tmp.0123abcd")
        os.makedirs(partial)
        with open(os.path.join(partial, "b.gz"), "wb") as file:
            file.write(b"half of it")
        with open(os.path.join(root, "downloads", "broken", "a.gz"), "wb") as file:
            file.write(b"a complete download")
        os.makedirs(os.path.join(root, "downloads", "extracted"))
        os.makedirs(os.path.join(root, "broken", "incomplete.AB12CD_1.0.0"))
        raise ConnectionError("the network went away")


def test_failed_download_removes_what_it_left_half_written_and_keeps_the_rest(tmp_path):
    kept = ["downloads/other/data.gz", "downloads/stale.tmp.99", "mnist/3.0.1/info.json"]
    for path in kept:
        os.makedirs(os.path.dirname(tmp_path / path), exist_ok=True)
        (tmp_path / path).write_bytes(b"there before")
    with pytest.raises(ConnectionError, match="went away"):
        downloads.download_and_prepare(_FailingBuilder(str(tmp_path)))
    assert _tree(tmp_path) == [
        "downloads",
        "downloads/broken",
        "downloads/broken/a.gz",  # complete: not half-written
        "downloads/other",
        "downloads/other/data.gz",
        "downloads/stale.tmp.99",  # half-written, but not by this attempt
        "mnist",
        "mnist/3.0.1",
        "mnist/3.0.1/info.json",
    ]


def test_failed_download_into_a_new_data_dir_leaves_no_folder(tmp_path):
    class OnlyPartial(_FailingBuilder):
        def download_and_prepare(self):
            os.makedirs(os.path.join(self.data_dir_root, "downloads", "x.tmp.1"))
            raise ConnectionError("the network went away")

    with pytest.raises(ConnectionError):
        downloads.download_and_prepare(OnlyPartial(str(tmp_path / "new")))
    assert not (tmp_path / "new").exists()


@pytest.fixture
def no_proxy(monkeypatch):
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        monkeypatch.delenv(name, raising=False)


def test_check_reachable_passes_for_a_listening_server(no_proxy):
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        downloads.check_reachable([f"http://127.0.0.1:{server.getsockname()[1]}/data.gz"])


def test_check_reachable_names_the_server_that_refused(no_proxy):
    port = _closed_port()
    with pytest.raises(data.DownloadUnavailableError, match=f"no connection to 127.0.0.1:{port} "):
        downloads.check_reachable([f"http://127.0.0.1:{port}/data.gz"])


def test_connection_endpoint_is_the_proxy_unless_no_proxy_names_the_host(monkeypatch):
    monkeypatch.setenv("https_proxy", "http://proxy.example:3128")
    monkeypatch.setenv("no_proxy", "direct.example")
    assert downloads.connection_endpoint("https://data.example/a.gz") == ("proxy.example", 3128)
    assert downloads.connection_endpoint("https://direct.example/a.gz") == ("direct.example", 443)
    assert downloads.connection_endpoint("gs://tfds-data/a") is None
