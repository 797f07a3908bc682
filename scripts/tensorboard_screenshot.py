"""Screenshots of TensorBoard views from headless Chromium, over the DevTools protocol.

TensorBoard's pages are a JavaScript application. Chromium's own `--screenshot`
flag captures after a fixed time, drawn or not, and cannot touch the settings
that are not in the URL (outlier clipping, the HParams columns). This helper
drives Chromium through `--remote-debugging-pipe` (JSON messages on file
descriptors 3 and 4, so nothing beyond the standard library, Pillow and the
browser is needed), arranges the view, waits until its charts, images or
tables are drawn, and only then captures; a view that never draws is an error
instead of a picture of a spinner.

Usage:
    python scripts/tensorboard_screenshot.py --url http://127.0.0.1:6006 \
        --view scalars --output docs/images/tensorboard_scalars.png
"""

import argparse
import base64
import fcntl
import io
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.parse

# Finds elements through TensorBoard's shadow roots (Polymer and Angular
# components hide their content from a plain `document.querySelectorAll`).
DEEP_QUERY = """
function deepAll(selector, start = document) {
  const found = [];
  const roots = [start.shadowRoot || start];
  while (roots.length) {
    const root = roots.pop();
    found.push(...root.querySelectorAll(selector));
    for (const el of root.querySelectorAll('*')) {
      if (el.shadowRoot) roots.push(el.shadowRoot);
    }
  }
  return found;
}
function spinning() {
  return deepAll('paper-spinner[active], paper-spinner-lite[active], mat-spinner')
    .filter((el) => el.offsetParent !== null).length;
}
"""

# Per view: the settings carried in the URL fragment, a JavaScript condition
# that is true once the view's content is drawn, and optionally JavaScript that
# arranges the view before the capture (then the condition is waited for again).
VIEWS = {
    "scalars": {
        # The tag filter puts every epoch scalar in one grid; smoothing 0 draws
        # the logged values themselves.
        "settings": {"tagFilter": "epoch_", "_smoothingWeight": "0"},
        "ready": """
          deepAll('vz-line-chart2').length > 0 &&
          deepAll('vz-line-chart2').every((chart) => deepAll('path.line', chart).some(
            (line) => (line.getAttribute('d') || '').length > 10))
        """,
        # Runs on different scales share each chart: clipping "outliers" would
        # cut one run's line off (this setting lives in local storage, not the URL).
        "prepare": """
          for (const box of deepAll('paper-checkbox')) {
            if (box.textContent.includes('Ignore outliers') && box.checked) box.click();
          }
        """,
    },
    "images": {
        "settings": {},
        "ready": """
          deepAll('tf-image-loader').length > 0 &&
          deepAll('tf-image-loader').every((card) => deepAll('img', card).some(
            (img) => img.complete && img.naturalWidth > 0))
        """,
    },
    "hparams": {
        "settings": {},
        "ready": """
          deepAll('tf-hparams-table-view').length > 0 &&
          deepAll('vaadin-grid-cell-content', deepAll('tf-hparams-table-view')[0]).length > 0
        """,
        # All hyperparameters do not fit beside the metrics: show the chosen
        # ones (COLUMNS) and every metric (TensorBoard leaves some unticked).
        "prepare": """
          for (const box of deepAll('paper-checkbox.hparam-checkbox')) {
            const wanted = COLUMNS.includes(box.textContent.trim());
            if (box.checked !== wanted) box.click();
          }
          for (const box of deepAll('paper-checkbox.metric-checkbox')) {
            if (!box.checked) box.click();
          }
        """,
    },
    "text": {
        "settings": {},
        "ready": """
          deepAll('tf-text-loader').length > 0 &&
          deepAll('tf-text-loader').every((card) => deepAll('.text', card).length > 0)
        """,
    },
}


class DevTools:
    """One Chromium process spoken to over `--remote-debugging-pipe`."""

    def __init__(self, chromium, width, height, zoom=1.0):
        to_child, self._to_browser = os.pipe()
        self._from_browser, from_child = os.pipe()
        # Above 10 so that the dup2 onto 3 and 4 in the child cannot clobber them.
        child_in = fcntl.fcntl(to_child, fcntl.F_DUPFD_CLOEXEC, 10)
        child_out = fcntl.fcntl(from_child, fcntl.F_DUPFD_CLOEXEC, 10)
        os.close(to_child)
        os.close(from_child)

        def wire_pipes():
            os.dup2(child_in, 3)
            os.dup2(child_out, 4)

        self._profile = tempfile.TemporaryDirectory(prefix="tb-chromium-")
        command = [
            chromium,
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--no-first-run",
            "--no-default-browser-check",
            "--remote-debugging-pipe",
            f"--user-data-dir={self._profile.name}",
            f"--window-size={width},{height}",
            "about:blank",
        ]
        self._process = subprocess.Popen(
            command,
            preexec_fn=wire_pipes,
            close_fds=False,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(child_in)
        os.close(child_out)
        self._buffer = b""
        self._next_id = 0
        self._width, self._height, self._zoom = width, height, zoom

    def call(self, method, params=None, session=None, timeout=60):
        """Sends one command and returns its result (events in between are dropped)."""
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._read(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method} failed: {reply['error']}")
                return reply.get("result", {})

    def _read(self, deadline):
        while b"\0" not in self._buffer:
            if time.monotonic() > deadline:
                raise TimeoutError("Chromium did not answer in time")
            chunk = os.read(self._from_browser, 1 << 20)
            if not chunk:
                raise RuntimeError("Chromium closed the DevTools pipe")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def open_page(self, url):
        """Opens `url` in a new tab of the window's size; returns the session id."""
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"
        ]
        self.call(
            "Emulation.setDeviceMetricsOverride",
            {
                # A page of width / zoom CSS pixels, captured at width x height.
                "width": round(self._width / self._zoom),
                "height": round(self._height / self._zoom),
                "deviceScaleFactor": self._zoom,
                "mobile": False,
            },
            session,
        )
        self.call("Page.enable", session=session)
        self.call("Page.navigate", {"url": url}, session)
        return session

    def evaluate(self, session, expression):
        result = self.call(
            "Runtime.evaluate",
            {"expression": DEEP_QUERY + expression, "returnByValue": True, "awaitPromise": True},
            session,
        )
        if "exceptionDetails" in result:
            raise RuntimeError(f"JavaScript failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def screenshot(self, session):
        data = self.call("Page.captureScreenshot", {"format": "png"}, session)["data"]
        return base64.b64decode(data)

    def close(self):
        try:
            self.call("Browser.close", timeout=10)
        except (RuntimeError, TimeoutError, OSError):
            pass
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._profile.cleanup()


def wait_until(browser, session, condition, timeout):
    """Polls `condition` (JavaScript) until true; raises TimeoutError after `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if browser.evaluate(session, f"Boolean({condition}) && !spinning()"):
            return
        time.sleep(0.5)
    raise TimeoutError(f"the view was not drawn within {timeout} s: {condition.strip()}")


def save_png(png_bytes, output, max_bytes):
    """Writes the PNG, re-encoded with Pillow (fewer colours if still over `max_bytes`)."""
    from PIL import Image

    image = Image.open(io.BytesIO(png_bytes)).convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    if buffer.tell() > max_bytes:
        buffer = io.BytesIO()
        image.quantize(colors=256).save(buffer, format="PNG", optimize=True)
    with open(output, "wb") as f:
        f.write(buffer.getvalue())
    return buffer.tell()


def view_fragment(args):
    """`#<view>&key=value...`: the view and the settings TensorBoard reads from the URL."""
    settings = dict(VIEWS[args.view]["settings"])
    if args.tag_filter is not None:
        settings["tagFilter"] = args.tag_filter
    if args.run_filter:
        settings["regexInput"] = args.run_filter
    pairs = [f"{key}={urllib.parse.quote(value, safe='')}" for key, value in settings.items()]
    return "#" + "&".join([args.view, *pairs])


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="TensorBoard's address")
    parser.add_argument("--view", required=True, choices=sorted(VIEWS))
    parser.add_argument("--output", required=True, help="PNG file to write")
    parser.add_argument("--chromium", default="chromium", help="(default: chromium)")
    parser.add_argument("--width", type=int, default=1400)
    parser.add_argument("--height", type=int, default=900)
    parser.add_argument("--timeout", type=float, default=90, help="seconds (default: 90)")
    parser.add_argument(
        "--settle", type=float, default=2.0, help="seconds after the view is drawn (default: 2)"
    )
    parser.add_argument("--run-filter", default="", help="regular expression for the runs shown")
    parser.add_argument(
        "--tag-filter", default=None, help="regular expression for the tags shown (one grid)"
    )
    parser.add_argument(
        "--zoom", type=float, default=1.0, help="below 1 fits more of the page (default: 1)"
    )
    parser.add_argument("--max-bytes", type=int, default=300_000)
    parser.add_argument(
        "--hparams-columns",
        default="model,dataset",
        help="hyperparameters shown as columns in the hparams view (comma-separated)",
    )
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    view = VIEWS[args.view]
    browser = DevTools(args.chromium, args.width, args.height, args.zoom)
    try:
        session = browser.open_page(args.url.rstrip("/") + "/" + view_fragment(args))
        wait_until(browser, session, view["ready"], args.timeout)
        if "prepare" in view:
            columns = json.dumps(args.hparams_columns.split(","))
            browser.evaluate(session, f"const COLUMNS = {columns};" + view["prepare"])
            wait_until(browser, session, view["ready"], args.timeout)
        # Charts and image cards fade in; let the last frame finish.
        time.sleep(args.settle)
        size = save_png(browser.screenshot(session), args.output, args.max_bytes)
    finally:
        browser.close()
    sys.stdout.write(f"{args.output}: {args.view}, {size // 1000} kB\n")


if __name__ == "__main__":
    main()
