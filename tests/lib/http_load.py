#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""A test client: HTTP GETs, each on a new TCP connection, one at a time.

    http_load.py URL --count N
    http_load.py URL --until FILE   (runs until FILE exists, at most 120 s)
        [--min-count N]             (and until it has sent N requests)

Prints one JSON object: "ok", "failed", "by" (answers counted by their
first two words, e.g. "worker 3"), "errors" (the first few failures, with
the time since the start).
"""
import argparse
import http.client
import json
import os
import sys
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
        return " ".join(body.split()[:2])
    finally:
        conn.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("--count", type=int)
    ap.add_argument("--until")
    ap.add_argument("--min-count", type=int, default=0)
    ap.add_argument("--timeout", type=float, default=2.0)
    args = ap.parse_args()
    if (args.count is None) == (args.until is None):
        ap.error("give --count or --until")
    u = urllib.parse.urlsplit(args.url)
    host, port, path = u.hostname, u.port or 80, u.path or "/"
    ok, failed, by, errors = 0, 0, {}, []
    start = time.monotonic()
    i = 0
    while True:
        if args.count is not None and i >= args.count:
            break
        if args.until is not None and ((os.path.exists(args.until) and
                                        i >= args.min_count) or
                                       time.monotonic() - start > 120):
            break
        i += 1
        try:
            who = one(host, port, path, args.timeout)
            ok += 1
            by[who] = by.get(who, 0) + 1
        except Exception as e:  # every failure counts, whatever its kind
            failed += 1
            if len(errors) < 10:
                errors.append("%.2fs: %s" % (time.monotonic() - start, e))
    json.dump({"ok": ok, "failed": failed, "by": by, "errors": errors},
              sys.stdout)
    print()


if __name__ == "__main__":
    main()
