"""streamsgns_tools.planted: the pair renaming of the planted-change experiment."""

import pytest

from streamsgns_tools.planted import rename_tokens, swap_mapping


def test_swap_is_an_involution_and_leaves_other_words():
    m = swap_mapping([("king", "water"), ("city", "life")])
    s = [["the", "king", "of", "the", "city"], ["water", "is", "life", "kingdom"]]
    once = list(rename_tokens(s, m))
    assert once == [["the", "water", "of", "the", "life"], ["king", "is", "city", "kingdom"]]
    assert list(rename_tokens(once, m)) == s          # renaming twice gives the text back
    assert s[0][1] == "king"                           # the input lists are not modified
    assert sorted(w for t in once for w in t) == sorted(w for t in s for w in t)   # counts exchanged only


@pytest.mark.parametrize("pairs", [[("a", "a")], [("a", "b"), ("b", "c")]])
def test_bad_pairs_are_refused(pairs):
    with pytest.raises(ValueError):
        swap_mapping(pairs)
