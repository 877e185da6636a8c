"""Disjoint sets over item ids: pairs of duplicates become groups, transitively.

Union by size with path halving keeps every operation near O(1), so
grouping a million confirmed pairs costs well under a second.
"""
import numpy as np


class UnionFind:
    def __init__(self, n):
        self.parent = np.arange(n, dtype=np.int64)
        self.size = np.ones(n, dtype=np.int64)

    def find(self, x):
        parent = self.parent
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return int(x)

    def union(self, a, b):
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return ra
        if self.size[ra] < self.size[rb]:
            ra, rb = rb, ra
        self.parent[rb] = ra
        self.size[ra] += self.size[rb]
        return ra

    def groups(self, members=None):
        """Sets of two or more, as sorted lists, ordered by their smallest member."""
        out = {}
        for x in range(len(self.parent)) if members is None else members:
            out.setdefault(self.find(int(x)), []).append(int(x))
        return sorted((sorted(g) for g in out.values() if len(g) > 1), key=lambda g: g[0])


def group_pairs(n, pairs):
    """Groups (lists of ids) formed by `pairs`, an iterable of (a, b)."""
    uf = UnionFind(n)
    touched = set()
    for a, b in pairs:
        uf.union(int(a), int(b))
        touched.update((int(a), int(b)))
    return uf.groups(sorted(touched))
