#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""Lets a browser on this host reach a TCP port inside a network namespace:
the demo's status page, which bouncerd serves on 127.0.0.1 of the bouncer
host's namespace.

    ns_forward.py NETNS TARGET_PORT LISTEN_PORT PORT_FILE

Listens on 127.0.0.1:LISTEN_PORT in the namespace it was started in (a
free port when that one is taken, or when it is 0) and writes the port to
PORT_FILE; then enters NETNS (a path such as /run/netns/NAME) and connects
each client to 127.0.0.1:TARGET_PORT there. A socket stays in the
namespace it was made in, so the listening one stays outside. Runs until
killed.
"""
import ctypes
import os
import socket
import sys
import threading

CLONE_NEWNET = 0x40000000


def setns(path):
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(path, os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, "setns %s: %s" % (path, os.strerror(err)))
    finally:
        os.close(fd)


def pipe(src, dst):
    """Copies until src ends, then passes the end on to dst."""
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    try:
        dst.shutdown(socket.SHUT_WR)
    except OSError:
        pass


def serve(client, upstream):
    up = threading.Thread(target=pipe, args=(client, upstream), daemon=True)
    up.start()
    pipe(upstream, client)
    up.join()
    client.close()
    upstream.close()


def listen(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind(("127.0.0.1", port))
    except OSError:
        s.bind(("127.0.0.1", 0))
    s.listen(64)
    return s


def main():
    netns, target, port, port_file = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    server = listen(port)
    setns(netns)
    tmp = port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % server.getsockname()[1])
    os.rename(tmp, port_file)
    while True:
        client, _ = server.accept()
        try:
            upstream = socket.create_connection(("127.0.0.1", target), timeout=5)
        except OSError:
            client.close()
            continue
        upstream.settimeout(None)
        threading.Thread(target=serve, args=(client, upstream), daemon=True).start()


if __name__ == "__main__":
    main()
