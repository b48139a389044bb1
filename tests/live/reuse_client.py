#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""A client that reuses a small set of source ports and moves between CPUs.

    reuse_client.py VIP PORT --src ADDR --ports FIRST-LAST --count N
                    [--max-seconds S] [--timeout S]

Each connection binds the next source port of the set (round robin), is
opened on one CPU and sends its request from the other, so that its
packets reach the load balancer's program on both CPUs (on veth it runs
on the sending CPU). It reads the whole answer (HTTP/1.0, the server
closes) and then aborts with a reset, which leaves no TIME_WAIT on either
side: the port is free for the next connection at once. Makes N
connections (stopping early after --max-seconds), then prints one JSON
object: "ok",
"reset" (the connection was reset by the far end: its packets reached a
backend that did not have it), "failed" (any other error), "by" (answers
counted by body), "errors" (the first few failures).
"""
import argparse
import errno
import json
import os
import socket
import struct
import time


def cpus():
    mine = sorted(os.sched_getaffinity(0))
    if len(mine) < 2:
        raise SystemExit("reuse_client: needs two CPUs, has %s" % mine)
    return mine[0], mine[1]


def one(vip, port, src, sport, first_cpu, then_cpu, timeout):
    os.sched_setaffinity(0, {first_cpu})
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.settimeout(timeout)
        s.bind((src, sport))
        s.connect((vip, port))
        os.sched_setaffinity(0, {then_cpu})
        s.sendall(b"GET / HTTP/1.0\r\nHost: vip\r\n\r\n")
        data = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.0 200"):
            raise RuntimeError("answer %r" % head[:40])
        return body.decode(errors="replace").strip()
    finally:
        # Linger 0: close sends a reset, no TIME_WAIT holds the port.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("vip")
    ap.add_argument("port", type=int)
    ap.add_argument("--src", required=True)
    ap.add_argument("--ports", required=True, help="FIRST-LAST")
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--max-seconds", type=float, default=120)
    ap.add_argument("--timeout", type=float, default=2.0)
    args = ap.parse_args()
    first, last = (int(x) for x in args.ports.split("-"))
    ports = list(range(first, last + 1))
    a, b = cpus()
    ok, reset, failed, by, errors = 0, 0, 0, {}, []
    start = time.monotonic()
    i = 0
    while i < args.count and time.monotonic() - start < args.max_seconds:
        sport = ports[i % len(ports)]
        # Alternate which CPU opens: each CPU sees SYNs and later packets.
        first_cpu, then_cpu = (a, b) if (i // len(ports)) % 2 == 0 else (b, a)
        i += 1
        try:
            body = one(args.vip, args.port, args.src, sport, first_cpu, then_cpu, args.timeout)
            ok += 1
            by[body] = by.get(body, 0) + 1
        except OSError as e:
            if e.errno in (errno.ECONNRESET, errno.ECONNREFUSED, errno.EPIPE):
                reset += 1
            else:
                failed += 1
            if len(errors) < 10:
                errors.append("%.2fs port %d: %s" % (time.monotonic() - start, sport, e))
        except RuntimeError as e:
            failed += 1
            if len(errors) < 10:
                errors.append("%.2fs port %d: %s" % (time.monotonic() - start, sport, e))
    print(json.dumps({"ok": ok, "reset": reset, "failed": failed, "by": by, "errors": errors}))


if __name__ == "__main__":
    main()
