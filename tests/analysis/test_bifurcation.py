"""The symbolic flip coefficient against hand-derived values: the logistic map at r = 3 (a = -3,
b = 0: kappa = 9), x -> -eta x +- x^3 (kappa = +-1), a 2-D map whose centre manifold y = 2 x^2
gives -x + 3 x^3 (kappa = 3), GD's 1-D coefficient (analysis.logistic.flip_coefficient_1d), and the
d-D GD formula (t^T H^-1 t - D^4 f[q^4] / 3) / lambda of arXiv:2406.05033 (L3)."""

import mpmath
import pytest
import sympy as sp

from lemmata.analysis import bifurcation as B
from lemmata.analysis import logistic as LG
from lemmata.analysis.errors import AssumptionError

x, y, r, e = sp.symbols("x y r e")


def test_one_dimensional_closed_forms():
    assert B.flip_coefficient(r * x * (1 - x), (x,), {x: sp.Rational(2, 3), r: 3}) == 9
    assert B.flip_coefficient(-e * x + x ** 3, (x,), {x: 0, e: 1}) == 1
    assert B.flip_coefficient(-e * x - x ** 3, (x,), {x: 0, e: 1}) == -1
    assert sp.simplify(B.flip_coefficient(r * x * (1 - x), (x,)) - r ** 2) == 0


def test_two_dimensional_centre_manifold():
    T = sp.Matrix([-e * x + x ** 3 + x * y, y / 2 + x ** 2])
    assert B.flip_coefficient(T, (x, y), {x: 0, y: 0, e: 1}) == 3
    assert float(B.flip_coefficient(T, (x, y), {x: 0.0, y: 0.0, e: 1.0})) == pytest.approx(3, rel=1e-40)


def test_composition_and_period_two():
    T2 = B.compose_map(r * x * (1 - x), (x,), 2)
    assert sp.expand(T2[0] - r * (r * x * (1 - x)) * (1 - r * x * (1 - x))) == 0
    rr = 1 + sp.sqrt(6)
    xp = (rr + 1 + sp.sqrt((rr + 1) * (rr - 3))) / (2 * rr)
    kappa = B.flip_coefficient(r * x * (1 - x), (x,), {x: xp, r: rr}, period=2)
    # the same from the 1-D closed form a^2 + b of T^2, evaluated at 50 digits
    closed = B.flip_coefficient(r * x * (1 - x), (x,), period=2).subs({x: xp, r: rr})
    assert abs(float(kappa) - float(sp.N(closed, 30))) < 1e-20 * abs(float(kappa))


def test_gd_flip_coefficient_matches_the_logistic_forms():
    z, p = [[1.0], [-1.0], [2.5]], [0.5, 0.3, 0.2]
    gd = LG.gd_map(z, weights=p)
    sol = LG.solution(z, p, dps=50)
    w = sp.Symbol("w", real=True)
    f, _ = LG.loss_expression(z, [sp.Rational(v) for v in p], (w,))
    kappa_1d = LG.flip_coefficient_1d(f, w).subs(w, sp.Float(str(sol["minimizer"][0]), 50))
    with mpmath.workdps(50):
        point = {"w_1": sp.Float(str(sol["minimizer"][0]), 50), "eta": sp.Float(str(2 / sol["lambda"]), 50)}
    kappa = B.flip_coefficient(gd, point=point, dps=40)
    assert abs(float(kappa) - float(kappa_1d)) < 1e-25 * abs(float(kappa_1d))


def test_gd_flip_coefficient_in_two_dimensions():
    z = [[1.0, 0.2], [-1.0, 0.1], [0.3, 1.0], [-0.2, -1.0], [2.0, 1.5]]
    p = [0.3, 0.2, 0.2, 0.2, 0.1]
    gd = LG.gd_map(z, weights=p)
    sol = LG.solution(z, p, dps=50)
    with mpmath.workdps(50):
        ws, lam, q = sol["minimizer"], sol["lambda"], sol["eigenvector"]
        Z = [[mpmath.mpf(v) for v in row] for row in z]
        P = [mpmath.mpf(v) for v in p]
        H, t, d4 = mpmath.zeros(2, 2), mpmath.zeros(2, 1), mpmath.mpf(0)
        for row, pi in zip(Z, P):
            s = 1 / (1 + mpmath.exp(-(row[0] * ws[0] + row[1] * ws[1])))
            l2, l3, l4 = s * (1 - s), s * (1 - s) * (1 - 2 * s), s * (1 - s) * (1 - 6 * s + 6 * s * s)
            zq = row[0] * q[0] + row[1] * q[1]
            for j in range(2):
                t[j] += pi * l3 * zq ** 2 * row[j]
                for k in range(2):
                    H[j, k] += pi * l2 * row[j] * row[k]
            d4 += pi * l4 * zq ** 4
        brief = ((t.T * mpmath.inverse(H) * t)[0] - d4 / 3) / lam
        point = {"w_1": ws[0], "w_2": ws[1], "eta": 2 / lam}
        point = {k: sp.Float(str(v), 50) for k, v in point.items()}
    kappa = B.flip_coefficient(gd, point=point, dps=40)
    assert abs(float(kappa) - float(brief)) < 1e-25 * abs(float(brief))


def test_bad_input():
    with pytest.raises(AssumptionError, match="not a flip point"):
        B.flip_coefficient(r * x * (1 - x), (x,), {x: sp.Rational(1, 2), r: 3})
    with pytest.raises(AssumptionError, match="not a flip point"):
        B.flip_coefficient(r * x * (1 - x), (x,), {x: 0.5, r: 3.0})
    with pytest.raises(ValueError, match="missing"):
        B.flip_coefficient(r * x * (1 - x), (x,), {x: sp.Rational(2, 3)})
    with pytest.raises(ValueError, match="`period` must be an integer >= 1"):
        B.compose_map(r * x, (x,), 0)
    with pytest.raises(ValueError, match="`point` is required"):
        B.flip_coefficient(sp.Matrix([x, y]), (x, y))
