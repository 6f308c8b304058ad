"""Debian's Firefox ESR, headless, driven over WebDriver BiDi.

Playwright drives only its own patched Firefox build, which cannot be downloaded here; stock
Firefox speaks the W3C WebDriver BiDi protocol itself (``--remote-debugging-port``), and these
few commands of it are all the tests need: navigate, run a script in the page, read the console.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
import time
from contextlib import ExitStack
from itertools import count
from pathlib import Path

from websockets.sync.client import connect

from tests.waiting import wait_until

FIREFOX = shutil.which("firefox-esr") or shutil.which("firefox") or "/usr/bin/firefox-esr"

# A fresh profile: fake camera and microphone granted without a prompt (Firefox's counterpart of
# Chromium's --use-fake-device-for-media-stream --use-fake-ui-for-media-stream), and none of the
# background traffic that this machine's closed network refuses.
PREFERENCES = {
    "media.navigator.streams.fake": True,
    "media.navigator.permission.disabled": True,
    "media.getusermedia.screensharing.enabled": True,
    "browser.shell.checkDefaultBrowser": False,
    "datareporting.policy.dataSubmissionEnabled": False,
    "toolkit.telemetry.reportingpolicy.firstRun": False,
    "app.update.enabled": False,
    "app.normandy.enabled": False,
    "network.captive-portal-service.enabled": False,
    "network.connectivity-service.enabled": False,
    "browser.safebrowsing.malware.enabled": False,
    "browser.safebrowsing.phishing.enabled": False,
    "extensions.update.enabled": False,
    "messaging-system.rsexperimentloader.enabled": False,
}

LISTENING = re.compile(r"WebDriver BiDi listening on (ws://\S+)")


class BiDiError(RuntimeError):
    pass


class Firefox:
    """One headless Firefox with one tab. ``evaluate`` runs a JavaScript function in the page and
    returns its (JSON-serialisable, possibly awaited) result."""

    def __init__(
        self, *, width: int = 1280, height: int = 800, preferences: dict | None = None, system_access: bool = False
    ):
        self.width, self.height = width, height
        self.preferences = {**PREFERENCES, **(preferences or {})}
        # Lets the test change site permissions as the address bar's site panel does (set_permission).
        self.system_access = system_access
        self.profile = Path(tempfile.mkdtemp(prefix="peerlearn-firefox-"))
        self.log: list[dict] = []
        self._ids = count(1)

    def start(self) -> Firefox:
        prefs = "".join(f"user_pref({json.dumps(k)}, {json.dumps(v)});\n" for k, v in self.preferences.items())
        (self.profile / "user.js").write_text(prefs)
        self.process = subprocess.Popen(
            [
                FIREFOX,
                "--headless",
                "--no-remote",
                "--profile",
                str(self.profile),
                "--remote-debugging-port=0",
                *(["--remote-allow-system-access"] if self.system_access else []),
                f"--width={self.width}",
                f"--height={self.height}",
                "about:blank",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        address, seen, deadline = None, [], time.monotonic() + 60
        while address is None:
            line = self.process.stdout.readline()
            if not line:
                raise RuntimeError(f"Firefox exited before it listened: {''.join(seen)}")
            seen.append(line)
            if (match := LISTENING.search(line)) is not None:
                address = match.group(1)
            if time.monotonic() > deadline:
                raise RuntimeError(f"Firefox did not open WebDriver BiDi within 60 s: {''.join(seen)}")
        # Firefox keeps writing to this pipe; drain it so it never blocks on a full buffer.
        self._drain = subprocess.Popen(["cat"], stdin=self.process.stdout, stdout=subprocess.DEVNULL)
        self._stack = ExitStack()
        self.socket = self._stack.enter_context(connect(address + "/session", max_size=None, open_timeout=30))
        capabilities = self.command("session.new", {"capabilities": {}})["capabilities"]
        self.version = f"{capabilities['browserName']} {capabilities['browserVersion']}"
        self.context = self.command("browsingContext.getTree", {})["contexts"][0]["context"]
        self.command("session.subscribe", {"events": ["log.entryAdded"]})
        self.command(
            "browsingContext.setViewport",
            {"context": self.context, "viewport": {"width": self.width, "height": self.height}},
        )
        return self

    def command(self, method: str, params: dict, timeout: float = 60) -> dict:
        ident = next(self._ids)
        self.socket.send(json.dumps({"id": ident, "method": method, "params": params}))
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"{method}: no answer from Firefox within {timeout} s")
            message = json.loads(self.socket.recv(timeout=left))
            if message.get("type") == "event":
                if message["method"] == "log.entryAdded":
                    self.log.append(message["params"])
                continue
            if message.get("id") != ident:
                continue
            if message.get("type") == "error":
                raise BiDiError(f"{method}: {message.get('error')}: {message.get('message')}")
            return message["result"]

    def add_init_script(self, source: str) -> None:
        """Run ``source`` in every document before the page's own scripts."""
        self.command("script.addPreloadScript", {"functionDeclaration": f"() => {{ {source} }}"})

    def goto(self, url: str) -> None:
        self.command("browsingContext.navigate", {"context": self.context, "url": url, "wait": "complete"})

    def evaluate(self, function: str, *args):
        expression = f"(async () => JSON.stringify(await ({function})(...{json.dumps(list(args))}) ?? null))()"
        result = self.command(
            "script.evaluate",
            {
                "expression": expression,
                "target": {"context": self.context},
                "awaitPromise": True,
                "userActivation": True,
            },
        )
        if result["type"] == "exception":
            details = result["exceptionDetails"]
            raise BiDiError(f"script failed: {details.get('text')}")
        return json.loads(result["result"]["value"])

    def wait_for(self, function: str, *args, timeout: float = 20, message: str = ""):
        """Poll ``function`` in the page until it returns something truthy, and return that."""

        def value():
            try:
                return self.evaluate(function, *args)
            except BiDiError:  # the page may be between two documents
                return None

        return wait_until(value, timeout=timeout, interval=0.1, what=message or function)

    def set_permission(self, origin: str, name: str, allow: bool) -> None:
        """Allow or block ``name`` ("camera", "microphone") for ``origin``, as a person does in the
        site panel of the address bar; the page's PermissionStatus hears the change."""
        chrome = self.command("browsingContext.getTree", {"moz:scope": "chrome"})["contexts"][0]["context"]
        action = "ALLOW_ACTION" if allow else "DENY_ACTION"
        expression = (
            f"(() => {{ const p = Services.scriptSecurityManager.createContentPrincipalFromOrigin({json.dumps(origin)}); "
            f"Services.perms.addFromPrincipal(p, {json.dumps(name)}, Services.perms.{action}); }})()"
        )
        result = self.command(
            "script.evaluate", {"expression": expression, "target": {"context": chrome}, "awaitPromise": False}
        )
        if result["type"] == "exception":
            raise BiDiError(f"could not set {name} for {origin}: {result['exceptionDetails'].get('text')}")

    def reload(self) -> None:
        self.command("browsingContext.reload", {"context": self.context, "wait": "complete"})

    def url(self) -> str:
        return self.evaluate("() => location.href")

    def screenshot(self, path: Path) -> None:
        import base64

        data = self.command("browsingContext.captureScreenshot", {"context": self.context})["data"]
        path.write_bytes(base64.b64decode(data))

    def errors(self) -> list[str]:
        """Console errors and uncaught exceptions the pages logged so far."""
        return [entry.get("text") or "" for entry in self.log if entry.get("level") == "error"]

    def close(self) -> None:
        """Safe at any point of ``start``: ends what was started, removes the profile."""
        if getattr(self, "socket", None) is not None:
            try:
                self.command("session.end", {}, timeout=5)
            except Exception:  # noqa: BLE001 (closing anyway)
                pass
            self._stack.close()
        process = getattr(self, "process", None)
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        if getattr(self, "_drain", None) is not None:
            self._drain.wait(timeout=5)
        shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self) -> Firefox:
        try:
            return self.start()
        except BaseException:
            self.close()
            raise

    def __exit__(self, *exc) -> None:
        self.close()
