"""Exact linear-CDE algebra: the signature expansion (and what a wrong word order gives), and
Wick moments against N = 1, where every entry is one Gaussian with known moments."""

import itertools

import pytest
import sympy as sp

from lemmata.analysis import cde
from lemmata.analysis.signature import signature

POINTS = [(0, 0), (1, 0), (sp.Rational(1, 2), 2), (3, -1)]


def test_expansion_terminates_and_is_exact_for_nilpotent_matrices():
    A, z0, B = cde.nilpotent_example(4, 2, seed=3)
    for forcing in (None, B):
        flow = cde.flow(A, POINTS, z0, forcing)
        assert cde.expansion_from_points(A, POINTS, z0, 3, forcing) == flow
        assert cde.expansion_from_points(A, POINTS, z0, 2, forcing) != flow      # depth N-1 is needed


def test_the_first_letter_acts_first():
    A, z0, _ = cde.nilpotent_example(4, 2, seed=3)
    S = signature(POINTS, 3)
    wrong = sp.zeros(4, 1)
    for k in range(4):
        for word in itertools.product((1, 2), repeat=k):
            M = sp.eye(4)
            for letter in word:                    # A_{i_1} ... A_{i_k}: reversed order
                M = M * A[letter - 1]
            wrong += M * z0 * (S.get(word, 0) if word else 1)
    assert sp.simplify(wrong - cde.flow(A, POINTS, z0)) != sp.zeros(4, 1)


def test_flow_of_commuting_matrices_depends_on_the_total_increment_only():
    A = [sp.diag(1, 2, -1), sp.diag(sp.Rational(1, 2), 0, 3)]
    z0 = sp.Matrix([1, 1, 1])
    one = cde.flow(A, [(0, 0), (1, 0), (1, 1)], z0)
    other = cde.flow(A, [(0, 0), (0, 1), (1, 1)], z0)
    assert sp.simplify(one - other) == sp.zeros(3, 1)


def _double_factorial(n):
    return 1 if n <= 0 else n * _double_factorial(n - 2)


@pytest.mark.parametrize("I,J", [((1,), (1,)), ((1, 1), ()), ((1, 1), (1, 1)), ((1, 2), (2, 1)),
                                 ((1, 1, 1), (1,)), ((1, 2, 1), (2, 1, 1)), ((1,), (2,)), ((1, 1, 2), (2,))])
def test_wick_sum_at_n_equal_one_is_the_product_of_gaussian_moments(I, J):
    # N = 1: <A_I z, A_J z> = z^2 prod_i a_i^{n_i} with a_i ~ N(0, 1): E = z^2 prod (n_i - 1)!! (0 if odd)
    counts = {letter: (I + J).count(letter) for letter in set(I + J)}
    expected = 1
    for n in counts.values():
        expected *= 0 if n % 2 else _double_factorial(n - 1)
    value = cde.gaussian_word_moment(I, J, sp.Integer(1))
    assert value.subs({cde.NORM_Z2: 1, cde.SUM_Z2: 1}) == expected


def test_gram_of_words_tends_to_the_identity():
    N = sp.Symbol("N", positive=True)
    G = cde.gram_moments([(), (1,), (2,), (1, 1), (1, 2)], N)
    limit = G.applyfunc(lambda e: sp.limit(e, N, sp.oo))
    assert limit == sp.eye(5)
    assert G[0, 3] == 1 / N                          # E[z' A^2 z] = |z|^2 / N


def test_symbolic_expansion_with_symbolic_matrices():
    a, b, c = sp.symbols("a b c")
    A = [sp.Matrix([[0, 0], [a, 0]]), sp.Matrix([[0, 0], [b, c]])]
    S = cde.signature_symbols(2, 2)
    Z = cde.expansion(A, sp.Matrix([1, 0]), S, 1)
    # level 1: A_1 z0 S^1 + A_2 z0 S^2 = (0, a S^1 + b S^2)
    assert sp.simplify(Z - sp.Matrix([1, a * S[(1,)] + b * S[(2,)]])) == sp.zeros(2, 1)
    Z2 = cde.expansion(A, sp.Matrix([1, 0]), S, 2)
    # A_2 A_1 z0 = (0, c a): the word (1, 2) (first letter 1 acts first)
    assert sp.expand(Z2[1] - Z[1]).coeff(S[(1, 2)]) == a * c
