#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""Thresholds for the live tests' share checks, so that none fails by chance.

    share_bound.py N K [--over M] [--ring R] [--max-p P]
        prints T: the largest count such that, with N connections spread
        uniformly at random over a ring of R slots (default 1021) shared by
        M backends (default K), the chance that any of the K backends
        checked gets fewer than T is below P (default 1e-6). A backend's
        share is its slots, floor(R/M) at the least (Maglev gives each of
        M equal backends floor(R/M) or ceil(R/M) slots).

    share_bound.py --prob N K T [--over M] [--ring R]
        prints the false-failure probability of "each of K backends got at
        least T of N": K * P(X < T) for X ~ Binomial(N, floor(R/M)/R).

    share_bound.py --none N K [--over M] [--ring R]
        the same for T = 1 ("each of K backends got some").

--explain adds a line on stderr with T, the fair share and the bound.
Exits 1 when T would be below a quarter of the fair share: N is then too
small for a check that a real skew would fail, and must be raised.
"""
import argparse
import math
import sys


def cdf_below(n, p, t):
    """P(X < t) for X ~ Binomial(n, p), summed exactly."""
    return math.fsum(math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(max(t, 0)))


def share(ring, over):
    return (ring // over) / ring


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("n", type=int)
    ap.add_argument("k", type=int)
    ap.add_argument("t", type=int, nargs="?")
    ap.add_argument("--over", type=int)
    ap.add_argument("--ring", type=int, default=1021)
    ap.add_argument("--max-p", type=float, default=1e-6)
    ap.add_argument("--prob", action="store_true")
    ap.add_argument("--none", action="store_true")
    ap.add_argument("--explain", action="store_true")
    a = ap.parse_args()
    over = a.over or a.k
    p = share(a.ring, over)
    if a.prob or a.none:
        t = 1 if a.none else a.t
        if t is None:
            ap.error("--prob needs T")
        print("%.3g" % (a.k * cdf_below(a.n, p, t)))
        return 0
    t = 0
    while a.k * cdf_below(a.n, p, t + 1) < a.max_p:
        t += 1
    bound = a.k * cdf_below(a.n, p, t)
    fair = a.n / over
    if a.explain:
        print("# at least %d of %d for each of %d (fair share %.1f, p %.4f):"
              " P(false failure) %.2g" % (t, a.n, a.k, fair, p, bound), file=sys.stderr)
    print(t)
    if t * 4 < fair:
        print("share_bound.py: %d of %d is under a quarter of the fair share %.1f:"
              " too few requests" % (t, a.n, fair), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
