#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""Connected UDP DNS clients that check where each answer comes from.

    dns_client.py VIP --clients N (--count M | --until FILE) [--timeout S]
                  [--progress FILE]

Opens N UDP sockets, each connect()ed to VIP port 53 (one flow each, as a
resolver's or a QUIC client's socket is), and has each ask, one query at
a time and taking turns, for the TXT record of w.test, which each server
answers with its own name. An answer counts when it comes from the VIP's
address and port (recvfrom's peer; the kernel delivers nothing else to a
connected socket, so a reply from elsewhere shows up as a lost query)
and carries the query's id. A query without such an answer within the
time-out is lost, and the socket asks its next one. Stops after M rounds,
or at the end of the round in which FILE appears (and at least one round);
--progress rewrites its FILE with the number of rounds done after each.
Prints one JSON object: "ok", "lost", "wrong_source" (answers from another
address or port, which an unconnected socket would see), "by" (answers
counted by server name) and "flows": for each socket, the servers that
answered it, in order, with repeats collapsed (["worker1"] for a flow that
stayed on one server; ["worker1", "worker2"] for one that moved once).
"""
import argparse
import json
import os
import random
import socket
import struct
import sys


def query(qid):
    """A DNS query for w.test TXT, recursion desired."""
    head = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    name = b"".join(bytes([len(p)]) + p for p in (b"w", b"test")) + b"\0"
    return head + name + struct.pack(">HH", 16, 1)


def txt_of(data, qid):
    """The first TXT string of an answer to query qid, or None."""
    if len(data) < 12:
        return None
    rid, flags, qd, an = struct.unpack(">HHHH", data[:8])
    if rid != qid or not flags & 0x8000 or an < 1:
        return None
    pos = 12
    for _ in range(qd):  # the question: name, type, class
        while data[pos]:
            pos += data[pos] + 1
        pos += 5
    # The answer's name is a pointer to the question's (2 bytes).
    pos += 2
    rtype, _, _, rdlen = struct.unpack(">HHIH", data[pos:pos + 10])
    if rtype != 16 or rdlen < 1:
        return None
    pos += 10
    return data[pos + 1:pos + 1 + data[pos]].decode(errors="replace")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("vip")
    ap.add_argument("--clients", type=int, required=True)
    ap.add_argument("--count", type=int)
    ap.add_argument("--until")
    ap.add_argument("--timeout", type=float, default=1.0)
    ap.add_argument("--progress")
    a = ap.parse_args()
    family = socket.AF_INET6 if ":" in a.vip else socket.AF_INET
    vip = socket.getaddrinfo(a.vip, 53, family, socket.SOCK_DGRAM)[0][4]
    socks = []
    for _ in range(a.clients):
        s = socket.socket(family, socket.SOCK_DGRAM)
        s.settimeout(a.timeout)
        s.connect(vip)
        socks.append(s)
    ok = lost = wrong = 0
    by, flows = {}, [[] for _ in socks]
    rounds = 0
    while True:
        for i, s in enumerate(socks):
            qid = random.randrange(65536)
            try:
                s.send(query(qid))
                while True:
                    data, peer = s.recvfrom(512)
                    if peer[:2] != vip[:2]:
                        wrong += 1
                        continue
                    name = txt_of(data, qid)
                    if name is not None:
                        break
            except (socket.timeout, ConnectionRefusedError):
                lost += 1
                continue
            ok += 1
            by[name] = by.get(name, 0) + 1
            if not flows[i] or flows[i][-1] != name:
                flows[i].append(name)
        rounds += 1
        if a.progress:
            with open(a.progress + ".tmp", "w") as f:
                f.write("%d\n" % rounds)
            os.replace(a.progress + ".tmp", a.progress)
        if a.count is not None and rounds >= a.count:
            break
        if a.until and os.path.exists(a.until):
            break
    json.dump({"ok": ok, "lost": lost, "wrong_source": wrong, "by": by, "flows": flows},
              sys.stdout)


if __name__ == "__main__":
    main()
