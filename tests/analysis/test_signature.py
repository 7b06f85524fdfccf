"""Exact signatures: Chen's identity, the shuffle identity, known values, and the Lyndon
coordinates of the log-signature."""

import itertools

import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from lemmata.analysis import LemmataError
from lemmata.analysis import signature as S


def test_known_values_of_an_l_shaped_path():
    sig = S.signature([(0, 0), (1, 0), (1, 2)], 2)
    # x moves first, then y: S^{12} = 1 * 2, S^{21} = 0, S^{11} = 1/2, S^{22} = 2
    assert sig[(1, 2)] == 2 and sig.get((2, 1), 0) == 0
    assert sig[(1, 1)] == sp.Rational(1, 2) and sig[(2, 2)] == 2
    # Levy area = (S^{12} - S^{21}) / 2 = 1 is the Lyndon coordinate of [1, 2]
    assert S.lyndon_words(2, 2) == [(1,), (2,), (1, 2)]
    assert S.logsignature([(0, 0), (1, 0), (1, 2)], 2) == [1, 2, 1]


points = st.lists(st.tuples(st.integers(-3, 3), st.integers(-3, 3)), min_size=2, max_size=4)


@settings(max_examples=25, deadline=None)
@given(points, points)
def test_chen_identity(p, q):
    q = [tuple(a + b for a, b in zip(p[-1], qq)) for qq in q]     # start q at p's end
    joined = p + q
    lhs = S.signature(joined, 3)
    rhs = S.product(S.signature(p + [q[0]], 3), S.signature(q, 3), 3)
    assert all(sp.simplify(lhs.get(w, 0) - rhs.get(w, 0)) == 0 for w in S.words(2, 3))


@settings(max_examples=25, deadline=None)
@given(points)
def test_shuffle_identity(p):
    sig = S.signature(p, 4)
    for u, v in itertools.product(S.words(2, 2), repeat=2):
        lhs = sig.get(u, 0) * sig.get(v, 0)
        rhs = sum(c * sig.get(w, 0) for w, c in S.shuffle(u, v).items())
        assert sp.simplify(lhs - rhs) == 0


def test_log_of_exp_and_lie_coordinates():
    x = {(1,): sp.Rational(2, 3), (2,): sp.Rational(-1, 5), (1, 2): sp.Rational(1, 7), (2, 1): -sp.Rational(1, 7)}
    assert all(sp.simplify(c - x.get(w, 0)) == 0 for w, c in S.log(S.exp(x, 3), 3).items())
    # the log-signature of a path rebuilt from its Lyndon coordinates gives back the signature
    path = [(0, 0), (1, 2), (-1, 3), (2, 2)]
    coords = S.logsignature(path, 3)
    lie = {}
    for c, w in zip(coords, S.lyndon_words(2, 3)):
        for word, k in S.lyndon_bracket(w).items():
            lie[word] = lie.get(word, 0) + c * k
    rebuilt = S.exp(lie, 3)
    sig = S.signature(path, 3)
    assert all(sp.simplify(rebuilt.get(w, 0) - sig.get(w, 0)) == 0 for w in S.words(2, 3))


def test_one_point_path_has_the_trivial_signature():
    # a path of zero length: S = 1 + 0 (Chen's identity with no increments), as esig returns
    assert S.signature([(3, 4)], 3) == {(): 1}
    assert S.logsignature([(3, 4)], 3) == [0] * len(S.lyndon_words(2, 3))


def test_bad_input():
    with pytest.raises(LemmataError, match="at least one point"):
        S.signature([], 2)
    with pytest.raises(LemmataError, match=r"`points\[1\]\[0\]` must be finite"):
        S.signature([(0, 0), (float("nan"), 1)], 2)
    with pytest.raises(ValueError, match="`depth` must be a positive integer"):
        S.signature([(0, 0), (1, 1)], 0)
    with pytest.raises(LemmataError, match="same, positive dimension"):
        S.signature([(0, 0), (1,)], 2)
