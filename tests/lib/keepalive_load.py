#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""A test client: HTTP GETs on keep-alive connections, several at once.

    keepalive_load.py URL --until FILE [--conns N] [--retry] [--think MS]

Each of --conns threads keeps one HTTP/1.1 connection and sends a GET on
it, waits a random 0 to --think ms, and sends the next; a connection the
server closes (or that fails) is replaced by a new one for the next
request. Runs until FILE exists, at most --max-time seconds.

--retry: a request whose reused connection closes under it (the server
closed it while the request was on its way: reset, or end of file
before any answer) is sent once more on a new connection, as browsers
and Python's urllib3 do for idempotent requests. Without it, every
failure counts.

Prints one JSON object: "requests", "ok", "failed" (requests that got no
answer: after the retry with --retry), "retried", "fresh_failed" (failures
on a connection's first request, which no client retries: a new
connection must never fail), "reused_failed", "connections", "by" (answers
counted by their first two words), "errors" (the first few, with the time
since the start).
"""
import argparse
import http.client
import json
import os
import random
import sys
import threading
import time
import urllib.parse

# What a reused connection that the server closed raises, depending on
# when the close met the request: an end of file before the status line,
# a reset, a write to a closed socket.
CLOSED = (http.client.RemoteDisconnected, http.client.BadStatusLine,
          ConnectionResetError, BrokenPipeError, ConnectionAbortedError)


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.n = {k: 0 for k in ("requests", "ok", "failed", "retried",
                                 "fresh_failed", "reused_failed",
                                 "connections")}
        self.by = {}
        self.errors = []
        self.start = time.monotonic()

    def add(self, key, n=1):
        with self.lock:
            self.n[key] += n

    def answer(self, who):
        with self.lock:
            self.n["ok"] += 1
            self.by[who] = self.by.get(who, 0) + 1

    def error(self, what, e):
        with self.lock:
            if len(self.errors) < 10:
                self.errors.append("%.2fs: %s: %s: %s" % (
                    time.monotonic() - self.start, what, type(e).__name__, e))


class Client:
    """One keep-alive connection, reopened when it closes."""

    def __init__(self, args, stats):
        self.args, self.stats = args, stats
        self.conn = None
        self.used = 0  # requests answered on self.conn

    def close(self):
        if self.conn:
            self.conn.close()
        self.conn = None
        self.used = 0

    def get(self):
        """One GET on the current connection (a new one if there is none):
        the answer's first two words. Raises what the request raised."""
        a = self.args
        if not self.conn:
            self.conn = http.client.HTTPConnection(a.host, a.port, timeout=a.timeout)
            self.stats.add("connections")
        try:
            self.conn.request("GET", a.path)
            resp = self.conn.getresponse()
            body = resp.read().decode(errors="replace")
        except Exception:
            self.close()
            raise
        if resp.status != 200:
            self.close()
            raise RuntimeError("HTTP %d" % resp.status)
        self.used += 1
        if resp.will_close:  # Connection: close, the server's last answer
            self.close()
        return " ".join(body.split()[:2])

    def one(self):
        reused = self.used > 0
        self.stats.add("requests")
        try:
            self.stats.answer(self.get())
            return
        except CLOSED as e:
            if not (reused and self.args.retry):
                self.fail(reused, e)
                return
            self.stats.add("retried")
        except Exception as e:  # timeouts, refusals: never retried
            self.fail(reused, e)
            return
        try:
            self.stats.answer(self.get())
        except Exception as e:
            self.fail(False, e)

    def fail(self, reused, e):
        self.stats.add("failed")
        self.stats.add("reused_failed" if reused else "fresh_failed")
        self.stats.error("reused" if reused else "new connection", e)

    def run(self, deadline):
        a = self.args
        while not os.path.exists(a.until) and time.monotonic() < deadline:
            self.one()
            if a.think:
                time.sleep(random.uniform(0, a.think / 1000))
        self.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("--until", required=True)
    ap.add_argument("--conns", type=int, default=4)
    ap.add_argument("--retry", action="store_true")
    ap.add_argument("--think", type=float, default=20.0)
    ap.add_argument("--timeout", type=float, default=5.0)
    ap.add_argument("--max-time", type=float, default=300.0)
    args = ap.parse_args()
    u = urllib.parse.urlsplit(args.url)
    args.host, args.port, args.path = u.hostname, u.port or 80, u.path or "/"
    stats = Stats()
    deadline = time.monotonic() + args.max_time
    threads = [threading.Thread(target=Client(args, stats).run, args=(deadline,))
               for _ in range(args.conns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    report = dict(stats.n, by=stats.by, errors=stats.errors)
    json.dump(report, sys.stdout)
    print()


if __name__ == "__main__":
    main()
