r"""The Dynamical Systems Framework symbolically (arXiv:2405.15731): the DSF matrices
:math:`(\Lambda_i,B_i,C_i)` of each architecture for one channel and one state (n = d = 1, the
scalar case that shows the structure), the entries of :math:`\Phi` in closed form, and the
identities of the brief:

* reversed sigmoid: :math:`e^{-\mathrm{softplus}(z)}=\sigma(-z)` (S6's transition with A = -1 is
  an LSTM forget gate);
* RG-LRU: :math:`\sigma(\Lambda)^{cr}=e^{-cr\,\mathrm{softplus}(-\Lambda)}`;
* the Taylor feature identity :math:`\sum_{p\le P}\langle q^{\otimes p},k^{\otimes p}\rangle
  /(m^{p/2}p!)=\sum_{p\le P}(q^\top k/\sqrt m)^p/p!` (exact, for symbolic q, k in R^m);
* the linear-attention <-> S6/SSD matching conditions, solved for :math:`\Delta_i` given
  :math:`\eta_i` and :math:`a`.

SymPy only (no numeric backend).
"""

from __future__ import annotations

import sympy as sp

from .derivation import Assumption, Derivation
from .errors import LemmataError

__all__ = ["ARCHITECTURES", "softplus", "sigmoid", "reversed_sigmoid_identity", "rg_lru_identity",
           "taylor_identity", "taylor_remainder_bound", "matching_conditions", "dsf_matrices", "phi_matrix",
           "derive_dsf"]

SOURCE = "arXiv:2405.15731 (DSF), section 3 as in the brief"
ARCHITECTURES = ("linear_attention", "normalized_attention", "softmax_taylor", "softmax", "s6", "ssd", "retnet",
                 "qlstm", "rg_lru", "rg_lru_expanded")


def softplus(x):
    """softplus(x) = log(1 + e^x)."""
    return sp.log(1 + sp.exp(x))


def sigmoid(x):
    """sigma(x) = 1 / (1 + e^{-x})."""
    return 1 / (1 + sp.exp(-x))


def reversed_sigmoid_identity() -> dict:
    r""":math:`e^{-\mathrm{softplus}(z)}` and :math:`\sigma(-z)` for real z, and their difference
    simplified (0: the identity holds for all real z)."""
    z = sp.Symbol("z", real=True)
    lhs, rhs = sp.exp(-softplus(z)), sigmoid(-z)
    return {"z": z, "lhs": lhs, "rhs": rhs, "difference": sp.simplify(lhs - rhs)}


def rg_lru_identity() -> dict:
    r""":math:`\log\sigma(\Lambda)^{cr}` and :math:`-cr\,\mathrm{softplus}(-\Lambda)` (c, r > 0,
    :math:`\Lambda` real), and the simplified difference of the logarithms (0: the two forms of
    the RG-LRU transition are equal)."""
    lam = sp.Symbol("Lambda", real=True)
    c, r = sp.symbols("c r", positive=True)
    lhs, rhs = sigmoid(lam) ** (c * r), sp.exp(-c * r * softplus(-lam))
    log_difference = sp.simplify(sp.expand_log(sp.log(lhs), force=True) - sp.expand_log(sp.log(rhs), force=True))
    return {"Lambda": lam, "c": c, "r": r, "lhs": lhs, "rhs": rhs, "log_difference": log_difference}


def taylor_identity(order: int, m: int) -> dict:
    r"""The order-P Taylor features of :math:`\exp(q^\top k/\sqrt m)` for symbolic
    :math:`q,k\in\mathbb R^m`: ``features`` (the inner product of the weighted tensor powers,
    :math:`\sum_p\sum_{|w|=p}q_wk_w/(m^{p/2}p!)`), ``truncated_exp``
    (:math:`\sum_p(q^\top k/\sqrt m)^p/p!`), ``difference`` expanded (0), and ``n`` =
    :math:`\sum_pm^p`."""
    import itertools

    if not isinstance(order, int) or isinstance(order, bool) or order < 0:
        raise LemmataError(f"`order` (the Taylor order P) must be a non-negative integer; got {order!r}.")
    if not isinstance(m, int) or isinstance(m, bool) or m < 1:
        raise LemmataError(f"`m` must be a positive integer; got {m!r}.")
    q = sp.symbols(f"q_1:{m + 1}", real=True)
    k = sp.symbols(f"k_1:{m + 1}", real=True)
    features = sp.Integer(0)
    for p in range(order + 1):
        weight = 1 / (sp.Integer(m) ** sp.Rational(p, 2) * sp.factorial(p))
        features += weight * sum((sp.Mul(*(q[i] * k[i] for i in word)) for word in
                                  itertools.product(range(m), repeat=p)), sp.Integer(0))
    x = sum(qi * ki for qi, ki in zip(q, k)) / sp.sqrt(m)
    truncated = sum(x ** p / sp.factorial(p) for p in range(order + 1))
    return {"q": q, "k": k, "features": features, "truncated_exp": truncated,
            "difference": sp.expand(features - truncated), "n": sum(m ** p for p in range(order + 1))}


def taylor_remainder_bound(order: int):
    r"""Lagrange's bound :math:`|e^x-\sum_{p\le P}x^p/p!|\le|x|^{P+1}e^{|x|}/(P+1)!`, as an
    expression in ``x`` (a symbol, nonnegative: it stands for :math:`|x|`)."""
    if not isinstance(order, int) or isinstance(order, bool) or order < 0:
        raise LemmataError(f"`order` (the Taylor order P) must be a non-negative integer; got {order!r}.")
    x = sp.Symbol("x", nonnegative=True)
    return x ** (order + 1) * sp.exp(x) / sp.factorial(order + 1)


def matching_conditions() -> dict:
    r"""When does a (one-head, scalar-a) S6 / SSD equal normalised linear attention in the DSF?

    Normalised attention (transition form): :math:`\Lambda_i=(\eta_{i-1}/\eta_i)I`,
    :math:`B_i=(I\otimes k_i)W_V/\eta_i`, :math:`C_i=I\otimes q_i^\top`. SSD:
    :math:`\Lambda_i=e^{a\Delta_i}I`, :math:`B_i=\Delta_i(I\otimes b_i)W_V`,
    :math:`C_i=I\otimes c_i^\top`. Equal matrices need :math:`c_i=q_i`,

    .. math::

        \Delta_i=\frac{1}{a}\log\frac{\eta_{i-1}}{\eta_i}\quad(\text{transitions}),\qquad
        b_i=\frac{k_i}{\eta_i\Delta_i}\quad(\text{input gains}),

    and :math:`\Delta_i>0` with :math:`a<0` requires :math:`\eta_i>\eta_{i-1}`: S6 can only
    forget, and a falling :math:`\eta` (a transition above 1) has no S6 counterpart. If instead
    the key is kept (:math:`b_i=k_i`), the gains force :math:`\Delta_i=1/\eta_i` and the
    transitions then agree only when :math:`\eta_{i-1}=\eta_ie^{a/\eta_i}`.

    Returns a dict of SymPy expressions: ``Delta`` (from the transitions), ``b_scale``
    (b_i / k_i), ``Delta_if_b_equals_k``, ``consistency`` (:math:`\eta_{i-1}` required then),
    ``positivity`` (the condition for Delta > 0 when a < 0), and the symbols.
    """
    eta, eta_prev = sp.symbols("eta_i eta_im1", positive=True)
    a = sp.Symbol("a", negative=True)
    Delta = sp.Symbol("Delta_i", positive=True)
    solutions = sp.solve(sp.Eq(sp.exp(a * Delta), eta_prev / eta), Delta)
    if len(solutions) != 1:
        raise LemmataError(f"expected one solution for Delta_i; SymPy gave {solutions}.")
    delta = sp.simplify(solutions[0])
    return {"eta_i": eta, "eta_im1": eta_prev, "a": a, "Delta": delta,
            "b_scale": sp.simplify(1 / (eta * delta)),
            "Delta_if_b_equals_k": 1 / eta,
            "consistency": eta * sp.exp(a / eta),
            "positivity": sp.Gt(eta, eta_prev)}


# ------------------------------------------------------------------------------ DSF matrices, one channel
def _seq(name, L, **assumptions):
    return sp.symbols(f"{name}_1:{L + 1}", **assumptions)


def dsf_matrices(arch: str, L: int, order: int = 2) -> dict:
    r"""Scalar (one channel, one state per channel; m = 1 for attention) DSF matrices of
    ``arch`` for steps 1..L as lists ``Lambda``, ``B``, ``C`` (``D`` = 0 unless S6/SSD's skip
    ``D`` symbol), and ``symbols``. Softmax has no finite DSF: ``Lambda``, ``B``, ``C`` are None
    and ``Phi`` is given directly by :func:`phi_matrix`.

    The input-dependent quantities are symbols per step (``q_i``, ``k_i``, ``Delta_i``,
    ``f_i`` ...), the constants single symbols (``w_v`` = W_V, ``a``, ``gamma``, ``c``)."""
    if arch not in ARCHITECTURES:
        raise LemmataError(f"`--arch` must be one of {', '.join(ARCHITECTURES)}; got {arch!r}.")
    if not isinstance(L, int) or isinstance(L, bool) or L < 1:
        raise LemmataError(f"`--L` must be a positive integer; got {L!r}.")
    if not isinstance(order, int) or isinstance(order, bool) or order < 0:
        raise LemmataError(f"`order` (the Taylor order P) must be a non-negative integer; got {order!r}.")
    wv = sp.Symbol("w_v", real=True)
    q, k = _seq("q", L, real=True), _seq("k", L, real=True)
    zero = sp.Integer(0)
    if arch in ("linear_attention", "softmax_taylor", "normalized_attention"):
        if arch == "linear_attention":
            phi, psi = _seq("phi", L, positive=True), _seq("psi", L, positive=True)    # phi(q_i), psi(k_i)
            eta = [phi[i] * sum(psi[: i + 1]) for i in range(L)]
            symbols = (phi, psi, wv)
        elif arch == "softmax_taylor":
            x = lambda i, j: q[i] * k[j]  # noqa: E731
            taylor = lambda i, j: sum(x(i, j) ** p / sp.factorial(p) for p in range(order + 1))  # noqa: E731
            eta = [sum(taylor(i, j) for j in range(i + 1)) for i in range(L)]
            # one state per power p: phi_p(q) = q^p / sqrt(p!); written through the kernel
            phi, psi = None, None
            symbols = (q, k, wv)
        else:
            phi, psi = q, k
            eta = list(_seq("eta", L, positive=True))                  # eta(u_i)
            symbols = (q, k, tuple(eta), wv)
        previous = [eta[0]] + eta[:-1]
        if arch == "softmax_taylor":
            feats = [[q[i] ** p / sp.sqrt(sp.factorial(p)) for p in range(order + 1)] for i in range(L)]
            keys = [[k[i] ** p / sp.sqrt(sp.factorial(p)) for p in range(order + 1)] for i in range(L)]
            Lambda = [previous[i] / eta[i] for i in range(L)]
            B = [sp.Matrix(keys[i]) * wv / eta[i] for i in range(L)]
            C = [sp.Matrix(feats[i]).T for i in range(L)]
        else:
            Lambda = [previous[i] / eta[i] for i in range(L)]
            B = [psi[i] * wv / eta[i] for i in range(L)]
            C = [phi[i] for i in range(L)]
        return {"Lambda": Lambda, "B": B, "C": C, "D": [zero] * L, "symbols": symbols}
    if arch == "softmax":
        return {"Lambda": None, "B": None, "C": None, "D": None, "symbols": (q, k, wv)}
    if arch in ("s6", "ssd", "rg_lru_expanded"):
        delta = _seq("Delta", L, positive=True)
        b, c = _seq("b", L, real=True), _seq("c", L, real=True)
        Dskip = sp.Symbol("D", real=True)
        if arch == "rg_lru_expanded":
            g = _seq("g", L, positive=True)                            # sigma(W_lambda u_i)
            A, cc = sp.Symbol("A", real=True), sp.Symbol("c_0", positive=True)
            lam = [sp.exp(-cc * g[i] * softplus(A)) for i in range(L)]
            u = _seq("u", L, real=True)
            return {"Lambda": lam, "B": [sp.sqrt(1 - lam[i] ** 2) * b[i] for i in range(L)], "C": list(c),
                    "D": [zero] * L, "symbols": (g, b, c, A, cc), "input_scaled": u}
        a = sp.Symbol("a", nonpositive=True)
        return {"Lambda": [sp.exp(delta[i] * a) for i in range(L)], "B": [delta[i] * b[i] for i in range(L)],
                "C": list(c), "D": [Dskip] * L, "symbols": (delta, b, c, a, Dskip)}
    if arch == "retnet":
        gamma = sp.Symbol("gamma", positive=True)
        return {"Lambda": [gamma] * L, "B": [k[i] * wv for i in range(L)], "C": list(q), "D": [zero] * L,
                "symbols": (q, k, gamma, wv)}
    if arch == "qlstm":
        f, ig, og = _seq("f", L, positive=True), _seq("i", L, positive=True), _seq("o", L, positive=True)
        wc = sp.Symbol("w_c", real=True)
        return {"Lambda": list(f), "B": [ig[i] * wc for i in range(L)], "C": list(og), "D": [zero] * L,
                "symbols": (f, ig, og, wc)}
    # rg_lru
    r, ig = _seq("r", L, positive=True), _seq("i", L, positive=True)
    Lam, cc = sp.Symbol("Lambda", real=True), sp.Symbol("c_0", positive=True)
    a = [sp.exp(-cc * r[i] * softplus(-Lam)) for i in range(L)]
    return {"Lambda": a, "B": [sp.sqrt(1 - a[i] ** 2) * ig[i] for i in range(L)], "C": [sp.Integer(1)] * L,
            "D": [zero] * L, "symbols": (r, ig, Lam, cc)}


_CANCEL = ("linear_attention", "normalized_attention", "softmax_taylor", "s6", "ssd", "retnet", "qlstm")


def phi_matrix(arch: str, L: int, order: int = 2) -> sp.ImmutableMatrix:
    r"""The L x L matrix :math:`\Phi` (one channel) with :math:`\Phi_{ij}=C_i\Lambda_i\cdots
    \Lambda_{j+1}B_j` for :math:`j<i`, :math:`C_iB_i+D_i` on the diagonal, 0 above, simplified
    (the normalisation ratios telescope: :math:`\Phi_{ij}=\phi(q_i)\psi(k_j)w_v/\eta_i`).
    Softmax: :math:`\Phi_{ij}=e^{q_ik_j}w_v/\sum_{l\le i}e^{q_ik_l}` (scale 1/sqrt(m) = 1 for m = 1)."""
    mats = dsf_matrices(arch, L, order)
    Phi = sp.zeros(L, L)
    if arch == "softmax":
        q, k, wv = mats["symbols"]
        for i in range(L):
            norm = sum(sp.exp(q[i] * k[j]) for j in range(i + 1))
            for j in range(i + 1):
                Phi[i, j] = sp.exp(q[i] * k[j]) * wv / norm
        return sp.ImmutableMatrix(Phi)
    Lam, B, C, D = mats["Lambda"], mats["B"], mats["C"], mats["D"]
    for i in range(L):
        for j in range(i + 1):
            transfer = sp.Mul(*Lam[j + 1: i + 1])
            entry = C[i] * transfer * B[j]
            if isinstance(entry, sp.MatrixBase):
                entry = entry[0, 0]
            if i == j:
                entry = entry + D[i]
            entry = sp.powsimp(entry, combine="exp")
            # the normalisation ratios telescope only after cancellation; the gated forms are
            # clearer as products of exponentials than simplified
            Phi[i, j] = sp.simplify(entry) if arch in _CANCEL else entry
    return sp.ImmutableMatrix(Phi)


def derive_dsf(arch: str, L: int = 3, order: int = 2) -> Derivation:
    """The DSF of ``arch`` (one channel) for ``lemmata derive dsf``: ``Lambda``, ``B``, ``C``
    (columns over the L steps; rows of the feature vector for softmax_taylor) and ``Phi``."""
    mats = dsf_matrices(arch, L, order)
    Phi = phi_matrix(arch, L, order)
    exprs = {"Phi": Phi}
    if mats["Lambda"] is not None:
        exprs["Lambda"] = sp.ImmutableMatrix([sp.simplify(x) for x in mats["Lambda"]])
        if isinstance(mats["B"][0], sp.MatrixBase):
            exprs["B"] = sp.ImmutableMatrix(sp.Matrix.hstack(*mats["B"]))
            exprs["C"] = sp.ImmutableMatrix(sp.Matrix.vstack(*mats["C"]))
        else:
            exprs["B"] = sp.ImmutableMatrix(list(mats["B"]))
            exprs["C"] = sp.ImmutableMatrix(list(mats["C"]))
    symbols = []
    for group in mats["symbols"]:
        symbols.extend(group if isinstance(group, tuple) else (group,))
    used = set().union(*(e.free_symbols for e in exprs.values()))
    params = tuple(s for s in dict.fromkeys(symbols) if s in used)
    assumptions = ()
    if arch == "retnet":
        gamma = next(s for s in params if s.name == "gamma")
        assumptions = (Assumption(sp.Le(gamma, 1), "the RetNet decay gamma lies in (0, 1]"),)
    note = {"softmax": "infinite state: Phi only",
            "softmax_taylor": f"order P = {order} Taylor features, m = 1 (n = P + 1 states)"}.get(arch, "n = d = 1")
    return Derivation(f"dsf_{arch}", (), params, exprs, assumptions,
                      f"{SOURCE}: DSF matrices of {arch} for one channel ({note}); "
                      "Phi_ij = C_i Lambda_i ... Lambda_{j+1} B_j")
