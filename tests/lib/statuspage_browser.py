#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""Drives headless Chromium over its DevTools protocol for the status page
test (tests/live/statuspage.sh): loads a URL, then answers commands read
one a line on stdin, one JSON line each on stdout:

    eval EXPR               {"ok": true, "value": V}: EXPR in the page
    wait SECONDS EXPR       {"ok": true, "value": V, "after_s": T}: the first
                            truthy value of EXPR, polled every 50 ms;
                            {"ok": false, "value": LAST} after SECONDS
    screenshot FILE         a PNG of the page as shown
    requests                {"ok": true, "value": [URL, ...]}: every request
                            the page made (the browser's network log)
    problems                {"ok": true, "value": [TEXT, ...]}: CSP
                            violations, uncaught exceptions, console errors
                            and dialogs (alert, confirm, prompt) the page
                            opened
    quit

    statuspage_browser.py URL [--width W] [--height H] [--timeout S]

EXPR runs after a prelude that defines, over the rendered page:
row(vip, backend) the table row, cell(vip, backend, cls) a cell's text,
state(vip, backend) the health word shown. Every wait is bounded; Chromium
is started with --no-sandbox (root in a container refuses it otherwise)
and killed on exit. The bounds, --timeout and each wait's SECONDS, are
multiplied by BOUNCER_TIME_SCALE (as in tests/lib/live.sh: vm/run sets it
under emulation).
"""
import argparse
import base64
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

import websocket  # python3-websocket

TIME_SCALE = float(os.environ.get("BOUNCER_TIME_SCALE") or 1)

PRELUDE = r"""
const card = (v) => [...document.querySelectorAll("section.vip")]
	.find((c) => c.dataset.vip === v);
const row = (v, b) => { const c = card(v);
	return c ? [...c.querySelectorAll("tr[data-backend]")].find((r) => r.dataset.backend === b)
		: undefined; };
const cell = (v, b, cls) => { const r = row(v, b); const x = r && r.querySelector("td." + cls);
	return x ? x.textContent : null; };
const state = (v, b) => { const r = row(v, b); const t = r && r.querySelector(".state");
	return t ? t.textContent : null; };
"""


class Browser:
    def __init__(self, timeout):
        self.timeout = timeout
        self.profile = tempfile.mkdtemp(prefix="bnc-chromium-")
        self.proc = None
        self.ws = None
        self.seq = 0
        self.requests = []
        self.problems = []

    def start(self, width, height):
        chromium = shutil.which("chromium")
        if not chromium:
            raise RuntimeError("chromium not installed: scripts/deps.sh installs it")
        # Port 0: Chromium picks one and writes it to DevToolsActivePort.
        self.proc = subprocess.Popen(
            [chromium, "--headless=new", "--no-sandbox", "--disable-gpu",
             "--no-first-run", "--no-default-browser-check", "--disable-extensions",
             "--disable-background-networking", "--disable-component-update",
             "--disable-sync", "--metrics-recording-only", "--mute-audio",
             "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0",
             "--user-data-dir=" + self.profile, "--window-size=%d,%d" % (width, height),
             "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file = os.path.join(self.profile, "DevToolsActivePort")
        deadline = time.monotonic() + self.timeout
        port = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("chromium exited with status %d" % self.proc.returncode)
            try:
                with open(port_file) as f:
                    port = int(f.readline())
                break
            except (OSError, ValueError):
                time.sleep(0.05)
        if port is None:
            raise RuntimeError("chromium did not open its DevTools port in %d s" % self.timeout)
        with urllib.request.urlopen("http://127.0.0.1:%d/json/list" % port,
                                    timeout=self.timeout) as r:
            pages = [t for t in json.load(r) if t["type"] == "page"]
        self.ws = websocket.create_connection(pages[0]["webSocketDebuggerUrl"],
                                              timeout=self.timeout, suppress_origin=True)
        for domain in ("Page", "Network", "Runtime", "Log"):
            self.call(domain + ".enable")
        # The window's size minus the browser's own frame: set the page's
        # exactly, so that screenshots are the same size on every machine.
        self.call("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})

    def _event(self, m):
        method, p = m.get("method"), m.get("params", {})
        if method == "Network.requestWillBeSent":
            self.requests.append(p["request"]["url"])
        elif method == "Log.entryAdded":
            e = p["entry"]
            if e.get("level") == "error" or "Content Security Policy" in e.get("text", ""):
                self.problems.append("log: " + e.get("text", ""))
        elif method == "Runtime.exceptionThrown":
            d = p["exceptionDetails"]
            self.problems.append("exception: " + d.get("exception", {}).get(
                "description", d.get("text", "")))
        elif method == "Runtime.consoleAPICalled" and p.get("type") == "error":
            self.problems.append("console: " + " ".join(
                str(a.get("value", a.get("description", ""))) for a in p.get("args", [])))
        elif method == "Page.javascriptDialogOpening":
            self.problems.append("dialog: %s %r" % (p.get("type"), p.get("message")))
            # A dialog blocks the page's script: dismiss it and go on.
            self.send("Page.handleJavaScriptDialog", {"accept": False})

    def send(self, method, params=None):
        self.seq += 1
        self.ws.send(json.dumps({"id": self.seq, "method": method, "params": params or {}}))
        return self.seq

    def call(self, method, params=None):
        want = self.send(method, params)
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            m = json.loads(self.ws.recv())
            if m.get("id") == want:
                if "error" in m:
                    raise RuntimeError("%s: %s" % (method, m["error"].get("message")))
                return m.get("result", {})
            if "method" in m:
                self._event(m)
        raise RuntimeError("%s: no answer in %d s" % (method, self.timeout))

    def drain(self):
        """Takes the events that came while nothing was asked."""
        self.ws.settimeout(0.01)
        try:
            while True:
                m = json.loads(self.ws.recv())
                if "method" in m:
                    self._event(m)
        except websocket.WebSocketTimeoutException:
            pass
        finally:
            self.ws.settimeout(self.timeout)

    def evaluate(self, expr):
        r = self.call("Runtime.evaluate", {
            "expression": "(() => {" + PRELUDE + "return (" + expr + ");})()",
            "returnByValue": True})
        if "exceptionDetails" in r:
            return {"error": r["exceptionDetails"].get("exception", {}).get(
                "description", "exception")}
        return r["result"].get("value")

    def navigate(self, url):
        self.call("Page.navigate", {"url": url})

    def screenshot(self, path):
        r = self.call("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": False})
        with open(path, "wb") as f:
            f.write(base64.b64decode(r["data"]))

    def close(self):
        if self.ws:
            try:
                self.ws.close()
            except OSError:
                pass
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            try:
                self.proc.wait(timeout=self.timeout)
            except subprocess.TimeoutExpired:
                pass
        shutil.rmtree(self.profile, ignore_errors=True)


def answer(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def serve(b):
    for line in sys.stdin:
        cmd, _, rest = line.rstrip("\n").partition(" ")
        try:
            b.drain()
            if cmd == "eval":
                answer({"ok": True, "value": b.evaluate(rest)})
            elif cmd == "wait":
                secs, _, expr = rest.partition(" ")
                t0 = time.monotonic()
                deadline = t0 + float(secs) * TIME_SCALE
                value = None
                while True:
                    value = b.evaluate(expr)
                    if value and not (isinstance(value, dict) and "error" in value):
                        answer({"ok": True, "value": value,
                                "after_s": round(time.monotonic() - t0, 2)})
                        break
                    if time.monotonic() >= deadline:
                        answer({"ok": False, "value": value})
                        break
                    time.sleep(0.05)
                    b.drain()
            elif cmd == "screenshot":
                b.screenshot(rest)
                answer({"ok": True, "value": rest})
            elif cmd == "requests":
                answer({"ok": True, "value": b.requests})
            elif cmd == "problems":
                answer({"ok": True, "value": b.problems})
            elif cmd == "quit":
                answer({"ok": True})
                return
            else:
                answer({"ok": False, "error": "unknown command %r" % cmd})
        except Exception as e:  # reported, not fatal: the test decides
            answer({"ok": False, "error": "%s: %s" % (type(e).__name__, e)})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("--width", type=int, default=1120)
    ap.add_argument("--height", type=int, default=900)
    ap.add_argument("--timeout", type=float, default=30,
                    help="bound on Chromium's start and on each DevTools call")
    args = ap.parse_args()
    # The test stops the driver with SIGTERM: leave through the finally
    # below, which kills Chromium, rather than orphan it.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    b = Browser(args.timeout * TIME_SCALE)
    try:
        b.start(args.width, args.height)
        b.navigate(args.url)
        answer({"ok": True, "value": "started"})
        serve(b)
    except Exception as e:
        answer({"ok": False, "error": "%s: %s" % (type(e).__name__, e)})
        return 1
    finally:
        b.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
