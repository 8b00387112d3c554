"""Open pages in Debian's headless chromium and report what a reader would see (used by test_report.py).

Chromium is driven over the DevTools protocol through ``--remote-debugging-pipe`` (it reads
commands on fd 3 and answers on fd 4, NUL-separated JSON), so no browser driver package is needed.
"""
from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import tempfile
import time

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--remote-debugging-pipe",
         "--allow-file-access-from-files"]

# Waits for every <img> to finish (load or error) and for MathJax to typeset, then describes the page
# (MathJax 2 replaces each formula's text by a script[type="math/tex"] beside its rendering).
INSPECT = """(async () => {
  await Promise.all([...document.images].map(i => i.complete ? null :
      new Promise(done => { i.addEventListener('load', done); i.addEventListener('error', done); })));
  const formulas = document.querySelectorAll('span.math, div.math').length;  // before MathJax adds its own
  if (window.MathJax && MathJax.Hub) await new Promise(done => MathJax.Hub.Queue(done));
  const code = [...document.querySelectorAll('div.cell_input')];
  return {
    title: document.title,
    images: [...document.images].map(i => ({src: i.getAttribute('src'), width: i.naturalWidth})),
    code_cells: code.length,
    unfolded_code: code.filter(c => !(c.closest('details') && !c.closest('details').open)).length,
    toc_links: document.querySelectorAll('nav.bd-links a.reference').length,
    formulas: formulas,
    typeset: document.querySelectorAll('script[type^="math/tex"]').length,
    text: document.body.innerText,  // what a reader sees: nothing inside a closed <details>
  };
})()"""


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


class Browser:
    """One headless chromium; ``inspect(url)`` loads a page and returns what :data:`INSPECT` finds, plus
    ``failed`` (requests that did not load) and ``errors`` (uncaught JavaScript exceptions)."""

    def __init__(self, timeout: float = 30.0):
        self.timeout = timeout
        # Chromium's helper processes may still write to the profile for a moment after the browser exits
        self.profile = tempfile.TemporaryDirectory(prefix="harmony-chromium-", ignore_cleanup_errors=True)
        to_child, self._write = os.pipe()
        self._read, from_child = os.pipe()

        def _fds():  # the child's fd 3 and 4 are the protocol pipe (kept open: pass_fds)
            os.dup2(to_child, 3)
            os.dup2(from_child, 4)

        self.process = subprocess.Popen(
            [chromium(), *FLAGS, f"--user-data-dir={self.profile.name}", "about:blank"],
            preexec_fn=_fds, pass_fds=(3, 4), close_fds=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_child)
        os.close(from_child)
        self._buffer, self._id, self._events = b"", 0, []
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Network", "Runtime"):
            self.send(f"{domain}.enable", session=True)

    def _message(self, deadline: float) -> dict:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._read], [], [], left)[0]:
                raise TimeoutError("chromium did not answer in time")
            chunk = os.read(self._read, 1 << 20)
            if not chunk:
                raise RuntimeError("chromium closed the DevTools pipe")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def send(self, method: str, params: dict | None = None, session: bool = False) -> dict:
        self._id += 1
        command = {"id": self._id, "method": method, "params": params or {}}
        if session:
            command["sessionId"] = self.session
        os.write(self._write, json.dumps(command).encode() + b"\0")
        deadline = time.monotonic() + self.timeout
        while True:
            message = self._message(deadline)
            if message.get("id") == self._id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message["result"]
            self._events.append(message)

    def _wait_for(self, method: str) -> None:
        deadline = time.monotonic() + self.timeout
        while not any(e.get("method") == method for e in self._events):
            self._events.append(self._message(deadline))

    def inspect(self, url: str) -> dict:
        self._events = []
        navigation = self.send("Page.navigate", {"url": url}, session=True)
        if navigation.get("errorText"):
            return {"url": url, "failed": [f"{url}: {navigation['errorText']}"], "errors": [], "images": []}
        self._wait_for("Page.loadEventFired")
        result = self.send("Runtime.evaluate", {"expression": INSPECT, "awaitPromise": True, "returnByValue": True},
                           session=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"inspecting {url}: {result['exceptionDetails']}")
        urls = {e["params"]["requestId"]: e["params"]["request"]["url"]
                for e in self._events if e.get("method") == "Network.requestWillBeSent"}
        failed = [f"{urls.get(e['params']['requestId'], '?')}: {e['params']['errorText']}"
                  for e in self._events if e.get("method") == "Network.loadingFailed"]
        errors = [e["params"]["exceptionDetails"].get("text", "?") + " " +
                  str(e["params"]["exceptionDetails"].get("exception", {}).get("description", ""))
                  for e in self._events if e.get("method") == "Runtime.exceptionThrown"]
        return {"url": url, "failed": failed, "errors": errors, **result["result"]["value"]}

    def close(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        for fd in (self._read, self._write):
            os.close(fd)
        self.profile.cleanup()

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
