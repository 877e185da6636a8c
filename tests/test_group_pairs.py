"""Duplicate pairs become groups transitively (curate.duplicates.group_pairs)."""
import numpy as np

from devise.curate.duplicates import group_pairs


def test_groups_are_sorted_and_ordered_by_smallest_member():
    pairs = {(7, 2): 0.99, (2, 9): 0.95, (5, 1): 0.97, (4, 4): 1.0}
    assert group_pairs(10, pairs) == [[1, 5], [2, 7, 9]]
    assert all(type(i) is int for g in group_pairs(10, pairs) for i in g)


def test_no_pairs_and_self_pairs_give_no_groups():
    assert group_pairs(3, []) == []
    assert group_pairs(3, [(1, 1)]) == []


def test_matches_a_plain_transitive_closure():
    rng = np.random.default_rng(0)
    for _ in range(50):
        n = int(rng.integers(2, 40))
        pairs = rng.integers(0, n, (int(rng.integers(0, 40)), 2))
        label = list(range(n))
        for a, b in pairs:  # relabel until stable: slow, obviously right
            old, new = label[a], label[b]
            label = [new if x == old else x for x in label]
        members = {}
        for i, x in enumerate(label):
            members.setdefault(x, []).append(i)
        expected = sorted((g for g in members.values() if len(g) > 1), key=lambda g: g[0])
        assert group_pairs(n, pairs) == expected
        assert group_pairs(n, [tuple(p) for p in pairs.tolist()]) == expected
