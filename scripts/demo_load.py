#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""The demo's client: HTTP GETs, each on a new TCP connection, one at a
time, a few dozen a second, until a file exists.

    demo_load.py URL LOG STOPFILE [--rate N] [--timeout S]

Appends one line per request to LOG, written as soon as it is done:

    TIME OK NAME        NAME: who answered ("worker0" for "worker 0 pid N",
                        "b1" for "py b1 pid N")
    TIME FAIL REASON

TIME is the Unix time in seconds, with milliseconds. Stops by itself after
300 s, so that nothing outlives a demo that was killed hard.
"""
import argparse
import http.client
import os
import time
import urllib.parse


def one(host, port, path, timeout):
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request("GET", path, headers={"Connection": "close"})
        resp = conn.getresponse()
        body = resp.read().decode(errors="replace")
        if resp.status != 200:
            raise RuntimeError("HTTP %d" % resp.status)
        words = body.split()
        if len(words) < 2:
            raise RuntimeError("unexpected answer %r" % body[:40])
        # "py b1 pid 42" is backend b1; "worker 0 pid 43" is worker0.
        return words[1] if words[0] == "py" else words[0] + words[1]
    finally:
        conn.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("log")
    ap.add_argument("stop")
    ap.add_argument("--rate", type=float, default=50.0,
                    help="requests per second at most (default 50)")
    ap.add_argument("--timeout", type=float, default=2.0)
    args = ap.parse_args()
    u = urllib.parse.urlsplit(args.url)
    host, port, path = u.hostname, u.port or 80, u.path or "/"
    period = 1.0 / args.rate
    start = time.monotonic()
    with open(args.log, "a", buffering=1) as log:
        while not os.path.exists(args.stop) and time.monotonic() - start < 300:
            t0 = time.monotonic()
            try:
                line = "OK " + one(host, port, path, args.timeout)
            except Exception as e:  # every failure counts, whatever its kind
                line = "FAIL " + (" ".join(str(e).split()) or type(e).__name__)
            log.write("%.3f %s\n" % (time.time(), line))
            rest = period - (time.monotonic() - t0)
            if rest > 0:
                time.sleep(rest)


if __name__ == "__main__":
    main()
