#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""A test client: HTTP GETs, each on a new TCP connection, one at a time.

    http_load.py URL --count N
    http_load.py URL --until FILE   (runs until FILE exists, at most 120 s)
        [--min-count N]             (and until it has sent N requests)
    [--source-ports POOL:INDEX]     (with --count: request i from source
                                     port line INDEX+i of file POOL)

Without --source-ports the kernel picks each source port. Its pick skips
ports whose last connection to the same VIP:port is still in TIME_WAIT
here, and whether a connection ends in TIME_WAIT here or at the server
depends on which side closes first: a race that the server's timing (its
CPU, its load) decides. Once earlier connections have used most ports,
the ports left to pick are then those of the backends that closed first,
so a share check after many connections needs ports it chose itself
(live.sh: sport_pool, sport_take).

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


def one(host, port, path, timeout, sport):
    source = ("", sport) if sport else None
    conn = http.client.HTTPConnection(host, port, timeout=timeout,
                                      source_address=source)
    try:
        conn.request("GET", path, headers={"Connection": "close"})
        resp = conn.getresponse()
        body = resp.read().decode(errors="replace")
        if resp.status != 200:
            raise RuntimeError("HTTP %d" % resp.status)
        return " ".join(body.split()[:2])
    finally:
        conn.close()


def source_ports(ap, args):
    """The --count ports from line INDEX of POOL on, or None."""
    if args.source_ports is None:
        return None
    if args.count is None:
        ap.error("--source-ports needs --count")
    pool, _, index = args.source_ports.rpartition(":")
    with open(pool) as f:
        ports = [int(line) for line in f][int(index):][:args.count]
    if len(ports) < args.count:
        ap.error("%s holds fewer than %d ports from %s on" %
                 (pool, args.count, index))
    return ports


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("--count", type=int)
    ap.add_argument("--until")
    ap.add_argument("--min-count", type=int, default=0)
    ap.add_argument("--timeout", type=float, default=2.0)
    ap.add_argument("--source-ports", metavar="POOL:INDEX")
    args = ap.parse_args()
    if (args.count is None) == (args.until is None):
        ap.error("give --count or --until")
    sports = source_ports(ap, args)
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
            who = one(host, port, path, args.timeout,
                      sports[i - 1] if sports else 0)
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
