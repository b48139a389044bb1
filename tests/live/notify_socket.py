#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""A service manager's notification socket, for tests/live/notify.sh.

Usage: notify_socket.py SOCKET CONTROL_SOCKET

Binds a datagram socket at SOCKET (what NOTIFY_SOCKET names) and writes one
line to stdout per datagram received: CLOCK_MONOTONIC in microseconds at
receipt, then the message with its newlines written as " | ". On every
READY=1 it at once sends a status request to bouncerd's CONTROL_SOCKET and
writes "probe ok" or "probe failed: WHY": READY=1 must not come before the
control socket answers. Runs until killed.
"""
import json
import os
import socket
import sys
import time


def probe(path):
    """One status request over the control socket; None if it answered."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(5)
            s.connect(path)
            s.sendall(b'{"cmd": "status"}\n')
            buf = b""
            while not buf.endswith(b"\n"):
                chunk = s.recv(65536)
                if not chunk:
                    return "closed without a reply"
                buf += chunk
        reply = json.loads(buf)
        return None if reply.get("ok") else "error reply: %s" % buf.decode()
    except (OSError, ValueError) as e:
        return str(e)


def main():
    path, control = sys.argv[1], sys.argv[2]
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    # Read by the test as soon as it appears: the socket is bound.
    print("listening", flush=True)
    while True:
        msg = sock.recv(4096).decode(errors="replace")
        now = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
        print("%d %s" % (now, msg.replace("\n", " | ")), flush=True)
        if "READY=1" in msg.split("\n"):
            why = probe(control)
            print("probe ok" if why is None else "probe failed: %s" % why, flush=True)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
    finally:
        # The socket's path goes with the test's directory.
        sys.stdout.flush()
        os._exit(0)
