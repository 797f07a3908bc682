"""tensorflow-datasets downloads that fail fast without a network and leave nothing half-written.

tensorflow-datasets retries a download it cannot start ten times with exponential back-off
(about 205 s offline), raises a `requests` traceback of some 140 lines, and leaves its temporary
download folders and an empty dataset folder behind. `download_and_prepare(builder)` first opens
one TCP connection to each server the dataset's registered URLs name (or to the proxy the
environment names for them), a few seconds at most, and after a failed attempt removes what that
attempt left half-written.
"""

import contextlib
import os
import shutil
import socket
import urllib.parse
import urllib.request

CONNECT_TIMEOUT = 3.0
_DEFAULT_PORTS = {"http": 80, "https": 443}


class DownloadUnavailableError(ConnectionError):
    """A server that a dataset downloads from cannot be reached from this machine."""


def connection_endpoint(url):
    """`(host, port)` that downloading `url` connects to first: its server or the proxy for it.

    Returns:
        the pair, or None for a URL that is not http(s) (tensorflow-datasets reads those by
        other means, e.g. `gs://` through `tf.io.gfile`).
    """
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    proxy = urllib.request.getproxies().get(parts.scheme)
    if proxy and not urllib.request.proxy_bypass(parts.hostname):
        proxy_parts = urllib.parse.urlsplit(proxy if "://" in proxy else f"http://{proxy}")
        return proxy_parts.hostname, proxy_parts.port or _DEFAULT_PORTS.get(proxy_parts.scheme, 80)
    return parts.hostname, parts.port or _DEFAULT_PORTS[parts.scheme]


def check_reachable(urls, timeout=CONNECT_TIMEOUT):
    """Opens and closes a TCP connection to the server of each of `urls` (each server once).

    Args:
        urls: download URLs; those that are not http(s) are skipped.
        timeout: seconds to wait for each server.

    Raises:
        DownloadUnavailableError: naming the first server (or proxy) that did not answer, and why.
    """
    servers = {}
    for url in urls:
        endpoint = connection_endpoint(url)
        if endpoint is not None:
            servers.setdefault(endpoint, urllib.parse.urlsplit(url).hostname)
    for (host, port), server in sorted(servers.items()):
        try:
            socket.create_connection((host, port), timeout=timeout).close()
        except OSError as error:
            via = "" if host == server else f" (the proxy the environment names for {server})"
            raise DownloadUnavailableError(
                f"no connection to {host}:{port}{via} within {timeout:g} s ({error})."
            ) from None


def download_and_prepare(builder, advice="", timeout=CONNECT_TIMEOUT):
    """`builder.download_and_prepare()`, failing fast offline and cleaning up after a failure.

    Args:
        builder: a tensorflow-datasets `DatasetBuilder`.
        advice: what to do instead, appended to the offline error's message.
        timeout: seconds to wait for each server before giving up.

    Raises:
        DownloadUnavailableError: when a server of the dataset's registered URLs does not
            answer; nothing has been written then. A dataset that registers no URLs is
            not checked beforehand.
        Exception: whatever the download raises; the half-written files and the folders it
            left empty (only those this attempt created) are removed first.
    """
    try:
        check_reachable(list(getattr(builder, "url_infos", None) or ()), timeout)
    except DownloadUnavailableError as error:
        message = f"Cannot download the dataset {builder.name!r}: {error}"
        raise DownloadUnavailableError(f"{message} {advice}".strip()) from None
    root = os.fspath(builder.data_dir_root)
    root_existed = os.path.isdir(root)
    before = _listing(root)
    try:
        builder.download_and_prepare()
    except BaseException:  # Ctrl-C included: it leaves the same half-written files
        _remove_partial(root, before, root_existed)
        raise


def _listing(root, depth=3):
    """The paths below `root` down to `depth` levels (the dataset and download folders)."""
    paths, level = set(), [root]
    for _ in range(depth):
        below = []
        for directory in level:
            try:
                with os.scandir(directory) as entries:
                    for entry in entries:
                        paths.add(entry.path)
                        if entry.is_dir(follow_symlinks=False):
                            below.append(entry.path)
            except OSError:  # absent, or not a local folder (gs://)
                continue
        level = below
    return paths


def _is_half_written(name):
    # tensorflow-datasets writes a download to `<file>.tmp.<uuid>` and a dataset to
    # `incomplete.<id>_<version>`, and renames each when it is complete.
    return ".tmp." in name or name.startswith("incomplete.")


def _remove_partial(root, before, root_existed):
    """Removes the half-written paths and the emptied folders below `root` that are not in `before`."""
    for path in sorted(_listing(root) - before, key=lambda p: p.count(os.sep), reverse=True):
        if _is_half_written(os.path.basename(path)):
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path, ignore_errors=True)
            else:
                with contextlib.suppress(OSError):
                    os.remove(path)
        elif os.path.isdir(path) and not os.listdir(path):
            with contextlib.suppress(OSError):
                os.rmdir(path)
    if not root_existed and os.path.isdir(root) and not os.listdir(root):
        with contextlib.suppress(OSError):
            os.rmdir(root)
