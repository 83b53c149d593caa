"""streamsgns_tools.twins: the planted twins of ``benchmarks/learning_rule/rare_words.py``."""

from collections import Counter

import numpy as np
import pytest

from streamsgns_tools.twins import occurrence_positions, original_ranks, plant_twins, rename_positions, twin_name

BUDGETS = (5, 10, 20, 50)


def _stream(n_sent=2000, seed=1):
    """Sentences of 3..12 tokens over a small vocabulary; "apple" and "river" are frequent everywhere."""
    rng = np.random.default_rng(seed)
    vocab = ["apple", "river", "the", "of", "stone", "blue", "runs", "quietly"]
    p = np.array([0.15, 0.15, 0.2, 0.2, 0.1, 0.1, 0.05, 0.05])
    return [list(rng.choice(vocab, size=rng.integers(3, 13), p=p)) for _ in range(n_sent)]


@pytest.mark.parametrize("placement", ["spread", "late"])
def test_each_twin_gets_exactly_k_occurrences_taken_from_its_word(placement):
    s = _stream()
    before = [list(x) for x in s]
    pos, n = occurrence_positions(s, ["apple", "river"])
    renames = plant_twins(pos, n, BUDGETS, placement, seed=3)
    out = list(rename_positions(s, renames))
    assert s == before                                             # the input is not modified
    c0, c1 = Counter(t for x in s for t in x), Counter(t for x in out for t in x)
    for w in ("apple", "river"):
        for k in BUDGETS:
            assert c1[twin_name(w, k)] == k
        assert c1[w] == c0[w] - sum(BUDGETS)
    assert sum(c1.values()) == sum(c0.values()) == n               # same length, nothing else renamed
    flat = [t for x in s for t in x]
    assert all(flat[p] == name.split("_twin")[0] for p, name in renames.items())


def test_late_twins_are_all_in_the_last_tenth_and_spread_ones_are_not():
    s = _stream()
    pos, n = occurrence_positions(s, ["apple", "river"])
    late = plant_twins(pos, n, BUDGETS, "late", seed=0)
    spread = plant_twins(pos, n, BUDGETS, "spread", seed=0)
    assert min(late) >= 0.9 * n
    assert min(spread) < 0.5 * n < max(spread)                     # spread over the stream: both halves


def test_deterministic_for_a_seed_and_different_for_another():
    s = _stream()
    pos, n = occurrence_positions(s, ["apple", "river"])
    a = plant_twins(pos, n, BUDGETS, "spread", seed=7)
    assert a == plant_twins(pos, n, BUDGETS, "spread", seed=7)
    assert a != plant_twins(pos, n, BUDGETS, "spread", seed=8)


def test_too_few_eligible_occurrences_is_refused():
    s = _stream(n_sent=60)
    pos, n = occurrence_positions(s, ["apple"])
    with pytest.raises(ValueError, match="eligible"):
        plant_twins(pos, n, BUDGETS, "late", seed=0)
    with pytest.raises(ValueError, match="placement"):
        plant_twins(pos, n, [1], "early")
    with pytest.raises(ValueError, match="budgets"):
        plant_twins(pos, n, [5, 5], "spread")


def test_rank_counts_strictly_nearer_words_and_skips_every_twin():
    words = ["a", "b", "c", "d", "a_twin5", "a_twin10"]
    v = np.array([[1.0, 0.0],      # a: the original, cos 0.6 to a_twin5
                  [0.0, 1.0],      # b: cos 0.8, nearer
                  [0.1, 1.0],      # c: nearer still
                  [-1.0, 0.0],     # d: farther
                  [0.6, 0.8],      # a_twin5
                  [0.6, 0.8]])     # a_twin10: identical to a_twin5, must not count
    r = original_ranks(words, v, {"a_twin5": "a", "a_twin10": "a", "zz_twin5": "zz"})
    assert r == {"a_twin5": 3, "a_twin10": 3, "zz_twin5": None}
    assert original_ranks(words, v, {"a_twin5": "a"}, exclude=["b"])["a_twin5"] == 3   # a_twin10, c nearer; b skipped


def test_centring_removes_the_common_direction():
    # every word shares a large component along x; meaning is in y and z
    words = ["a", "b", "c", "a_twin5"]
    v = np.array([[8.0, 1.0, 0.0],     # a
                  [8.0, -1.0, 0.0],    # b
                  [12.0, 0.0, 0.2],    # c: most aligned with the common direction
                  [9.0, 0.5, 0.0]])    # the twin: the common part and a's meaning (+y)
    assert original_ranks(words, v, {"a_twin5": "a"})["a_twin5"] == 2                  # raw: c wins on the common part
    assert original_ranks(words, v, {"a_twin5": "a"}, center=True)["a_twin5"] == 1     # centred: a is the nearest
