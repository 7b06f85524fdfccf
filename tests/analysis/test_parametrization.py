"""Parametrisation tables against the brief's per-layer SGD view (a table derived independently
from the official code's convention), and the two-layer linear closed form against its
definitions: conservation, the fixed point, and the limits stated in the brief (section 2.7)."""

import sympy as sp
import pytest

from lemmata.analysis import parametrization as P
from lemmata.analysis.parametrization import d, gamma0, n, n0, table, two_layer_linear


# brief, "Per-layer view for SGD" (base width 1, gain 1): (init var of W_eff, SGD lr on W_eff)
BRIEF = {
    "sp": [(1 / d, 1), (1 / n, 1), (1 / n, 1)],
    "ntp": [(1 / d, 1 / d), (1 / n, 1 / n), (1 / n, 1 / n)],
    "mup": [(1 / d, gamma0 ** 2 * n / d), (1 / n, gamma0 ** 2), (1 / (gamma0 ** 2 * n ** 2), 1 / n)],
}


@pytest.mark.parametrize("scheme", sorted(BRIEF))
def test_effective_rules_match_the_brief(scheme):
    t = table(scheme, 3, gain=1)
    for layer, (var, lr) in zip(t.layers, BRIEF[scheme]):
        assert sp.simplify(layer.effective_init_variance.subs(n0, 1) - var) == 0, (scheme, layer.kind)
        assert sp.simplify(layer.effective_sgd_lr.subs(n0, 1) - lr) == 0, (scheme, layer.kind)


def test_mup_equals_ntp_at_the_base_width():
    mup, ntp = table("mup", 4), table("ntp", 4)
    for a, b in zip(mup.layers, ntp.layers):
        at = {n0: n, gamma0: 1}
        assert sp.simplify((a.multiplier - b.multiplier).subs(at)) == 0
        assert sp.simplify((a.sgd_lr - b.sgd_lr).subs(at)) == 0


def test_mup_adam_effective_rates_are_those_of_tensor_programs_v():
    # Yang & Hu TP5 Table 3: Adam rate on W_eff 1 (input), 1/fan_in (hidden, readout) at n0 = 1
    t = table("mup", 3)
    wanted = [1, 1 / n, 1 / n]
    for layer, w in zip(t.layers, wanted):
        assert sp.simplify(layer.effective_adam_lr.subs(n0, 1) - w) == 0
    deep = table("depth_mup", 4)
    assert sp.simplify(deep.layers[1].effective_adam_lr * sp.sqrt(P.L) - t.layers[1].effective_adam_lr) == 0
    assert deep.residual_multiplier == P.beta / sp.sqrt(P.L)


def test_evaluate_and_derivation():
    rows = table("mup", 3).evaluate(width=256, input_dim=32, base_width=64, gamma_0=2.0, gain=2 ** 0.5)
    assert rows[2]["multiplier"] == pytest.approx(1 / (16 * 2 * 2))       # 1/(sqrt(n) gamma), gamma = 2*2
    assert rows[0]["sgd_lr"] == pytest.approx(16.0)                        # gamma^2
    der = table("depth_mup", 3).derivation()
    assert "effective_sgd_lr_2_hidden" in der.expressions
    assert "tabular" in table("sp", 2).latex()


@pytest.mark.parametrize("scheme", ["mup", "ntp"])
def test_two_layer_linear_closed_form(scheme):
    der = two_layer_linear(scheme, components=3)
    e = der.expressions
    assert e["d_balance_dt"] == 0 and e["d_invariant_dt"] == 0
    p, q = der.inputs
    # the fixed point of the (p, q) system: dp/dt = 0 at p = p*
    assert sp.simplify(e["dp_dt"].subs(p, e["p_star"])) == 0
    # q^2 - 4p^2 conserved along the reduced (p, q) flow as well
    assert sp.simplify(2 * q * e["dq_dt"] - 8 * p * e["dp_dt"]) == 0
    assert sp.simplify(e["S"] - q / n) == 0                       # S = q / n in both schemes
    y = sp.Symbol("y", real=True)
    expected = 2 * sp.sqrt(1 + gamma0 ** 2 * y ** 2) if scheme == "mup" else 2
    assert sp.simplify(e["S_star_limit"] - expected) == 0
    # NTP: no sharpening: S* - S_0 = O(1/n) from the typical start q_0 = 2n, p_0 = 0
    if scheme == "ntp":
        gap = (e["S_star"] - e["S"].subs(q, 2 * n)).subs({sp.Symbol("q_0", real=True): 2 * n,
                                                            sp.Symbol("p_0", real=True): 0})
        assert sp.limit(gap * n, n, sp.oo) == y ** 2


def test_bad_input():
    with pytest.raises(ValueError, match="`scheme`"):
        table("xyz", 3)
    with pytest.raises(ValueError, match="`n_layers`"):
        table("mup", 1)
    with pytest.raises(ValueError, match="`scheme`"):
        two_layer_linear("sp")
