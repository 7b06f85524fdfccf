"""The derived closed forms against the formulas printed in the paper brief (typed in here as
the published reference) and against independent limits."""

import sympy as sp

from lemmata.analysis import recurrence as R

a, b, rho, lam, nu = R.a, R.b, R.rho, R.lam, R.nu


def same(x, y):
    return sp.simplify(x - y) == 0


def test_kernel_is_the_published_closed_form():
    assert same(R.stationary_kernel(), (1 - rho ** 2 * a * b) / ((1 - a * b) * (1 - rho * a) * (1 - rho * b)))


def test_general_kernel_reduces_to_K_for_ar1():
    expr, Rf, delta = R.general_kernel()
    ar1 = expr.replace(Rf, sp.Lambda(sp.Symbol("d"), rho ** sp.Symbol("d"))).doit()
    ar1 = ar1.replace(lambda e: isinstance(e, sp.Piecewise), lambda e: e.args[0].expr)
    assert same(ar1, R.stationary_kernel())


def test_mixed_kernel_is_the_published_polynomial():
    published = (a**3*b**3*rho**4 + a**2*b**2*rho**4 - 4*a**2*b**2*rho**2 - 2*a**2*b*rho**3 + 2*a**2*b*rho
                 - 2*a*b**2*rho**3 + 2*a*b**2*rho + 4*a*b*rho**2 - a*b - 1) / \
        ((a*b - 1)**3 * (a*rho - 1)**2 * (b*rho - 1)**2)
    assert same(R.mixed_kernel(), published)


def test_variance_and_sensitivity_real_lambda():
    d = R.memory_moments()
    assert same(d["E_h2"], (1 + rho * lam) / ((1 - rho * lam) * (1 - lam ** 2)))
    published = ((1 + lam**2) * (1 - lam**2 * rho**2) + 2 * (1 - lam**2) * lam * rho) / \
        ((1 - lam**2) ** 3 * (1 - lam * rho) ** 2)
    assert same(d["E_dh2"], published)
    assert same(d["E_h2"].subs(rho, 1), 1 / (1 - lam) ** 2)
    assert same(d["E_dh2"].subs(rho, 1), 1 / (1 - lam) ** 4)
    assert same(d["E_dh2_white"], (1 + lam ** 2) / (1 - lam ** 2) ** 3)


def test_leading_terms_of_the_curse_of_memory():
    d = R.memory_moments()
    c, p = R.leading_term(d["E_h2"])
    assert p == -1 and same(c, (1 + rho) / (2 * (1 - rho)))
    c, p = R.leading_term(d["E_dh2"])
    assert p == -3 and same(c, (1 + rho) / (4 * (1 - rho)))
    c, p = R.leading_term(d["E_dh2"].subs(rho, 1))
    assert p == -4


def test_normalisation_and_reparametrisation():
    l2 = R.memory_moments("l2")
    assert same(l2["E_h2"], (1 + rho * lam) / (1 - rho * lam))
    assert same(l2["E_dh2"], (1 + rho * lam) / ((1 - lam ** 2) ** 2 * (1 - rho * lam)))
    assert R.leading_term(l2["E_dh2"])[1] == -2          # normalisation alone does not cure it
    exp = R.memory_moments("l2", "exp")
    assert sp.limit(exp["E_dh2_white"], lam, 1, "-") == sp.Rational(1, 4)
    assert same(sp.limit(exp["E_dh2"], lam, 1, "-"), (1 + rho) / (4 * (1 - rho)))
    assert same(R.memory_moments("l2", "optimal")["E_dh2_white"], 1)


def test_gru_cell():
    g = R.gru_moments()
    assert same(g["E_h2"], (1 - lam) * (1 + rho * lam) / ((1 + lam) * (1 - rho * lam)))
    assert same(g["E_dh2"], 2 * (1 - rho) * (1 + rho * lam ** 2) / ((1 - lam) * (1 + lam) ** 3 * (1 - rho * lam) ** 2))


def test_complex_white_noise_forms():
    c = R.complex_sensitivities("none")
    assert same(c["E_abs_h2_white"], 1 / (1 - nu ** 2))
    assert same(c["E_abs_dnu2_white"], (1 + nu ** 2) / (1 - nu ** 2) ** 3)
    l2 = R.complex_sensitivities("l2")
    assert same(l2["E_abs_dnu2_white"], 1 / (1 - nu ** 2) ** 2)
    assert same(l2["E_abs_dtheta2_white"], nu ** 2 * (1 + nu ** 2) / (1 - nu ** 2) ** 2)
    optimal = R.complex_sensitivities("l2", "optimal")
    assert same(optimal["E_abs_dnu2_white"], 1) and same(optimal["E_abs_dtheta2_white"], 1)


def test_teacher_student_curvature():
    c = R.teacher_student_curvature()
    r = c.inputs[0]
    assert same(c["radial"], (1 + r ** 2) / (1 - r ** 2) ** 3)
    assert same(c["angular"], r ** 2 * (1 + r ** 2) / (1 - r ** 2) ** 3)


def test_teacher_student_loss_vanishes_at_the_teacher_and_matches_the_brief():
    d = R.teacher_student_loss()
    x, y, xs, ys, mu, s = d.symbols
    at_teacher = d["loss"].subs({x: xs, y: ys})
    assert sp.simplify(at_teacher) == 0
    # real lambda: the brief's formula
    lam_, lam_s = sp.Rational(1, 3), sp.Rational(3, 5)
    published = sp.Rational(1, 2) * (mu ** 2 * (1 / (1 - lam_) - 1 / (1 - lam_s)) ** 2
                                     + s ** 2 * (1 / (1 - lam_ ** 2) + 1 / (1 - lam_s ** 2) - 2 / (1 - lam_ * lam_s)))
    assert same(d["loss"].subs({x: lam_, y: 0, xs: lam_s, ys: 0}), published)
