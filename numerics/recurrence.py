r"""Numerics of the curse of memory (arXiv:2405.21064): AR(1) inputs, Monte Carlo and exact
(Lyapunov) second moments of diagonal recurrences and their sensitivities, and the Gauss-Newton
Hessian of a diagonal complex student.

The exact reference is independent of the series in :mod:`lemmata.analysis.recurrence`: the input, the
state and its tangent form one linear Gaussian system
:math:`z_{t+1}=Fz_t+G\varepsilon_{t+1}` with :math:`z=(x,h,\dot h)`,

.. math::

    F=\begin{pmatrix}\rho&0&0\\\gamma\rho&\lambda&0\\\dot\gamma\rho&\dot\lambda&\lambda\end{pmatrix},
    \qquad G=\sqrt{1-\rho^2}\,(1,\gamma,\dot\gamma)^\top,

whose stationary covariance solves the discrete Lyapunov equation :math:`P=FPF^H+GG^H`.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.linalg import solve_discrete_lyapunov

from lemmata.analysis.errors import AssumptionError

from .arrays import InvalidArrayError, as_array, integer, real_scalar
from .scan import diagonal_sensitivity, linear_scan, sensitivity_coefficients
from .stats import child_seed, mean_estimate

__all__ = ["ar1_input", "burn_in", "lyapunov_moments", "simulate_moments",
           "gauss_newton_hessian", "gauss_newton_hessian_mc", "CHUNK"]

#: paths per random stream: chunk c of the paths draws from child_seed(seed, c)
CHUNK = 256


def _check_rho(rho):
    x = real_scalar("rho", rho, finite=False)
    if not (0.0 <= x <= 1.0):
        raise InvalidArrayError(f"`rho` must lie in [0, 1]; got {rho!r}.")
    return x


def _check_stable(lam):
    lam = as_array(lam, name="lam", complex_ok=True, dtype=None, finite=False)
    if not np.all(np.isfinite(lam)):
        raise InvalidArrayError("`lam` must be finite.")
    if np.any(np.abs(lam) >= 1):
        raise AssumptionError(f"stationary moments need |lam| < 1; got max |lam| = {float(np.max(np.abs(lam)))!r}.")
    return lam


def _normals(seed, T: int, n_paths: int, complex_: bool = False) -> np.ndarray:
    out = np.empty((T, n_paths), dtype=complex if complex_ else float)
    for c, lo in enumerate(range(0, n_paths, CHUNK)):
        hi = min(n_paths, lo + CHUNK)
        rng = np.random.default_rng(child_seed(seed, c))
        out[:, lo:hi] = rng.standard_normal((T, hi - lo))
    return out


def ar1_input(T: int, n_paths: int, rho: float, seed) -> np.ndarray:
    r"""Stationary AR(1) inputs of unit variance, :math:`x_t=\rho x_{t-1}+\sqrt{1-\rho^2}\varepsilon_t`
    with :math:`x_{-1}\sim N(0,1)`; shape ``(T, n_paths)``; autocorrelation :math:`\rho^{|\Delta|}`.
    Paths draw from streams keyed by (seed, chunk of :data:`CHUNK` paths)."""
    T = integer("T", T, minimum=1)
    n_paths = integer("n_paths", n_paths, minimum=1)
    rho = _check_rho(rho)
    noise = _normals(seed, T + 1, n_paths)
    return linear_scan(np.full(n_paths, rho), math.sqrt(1 - rho * rho) * noise[1:], noise[0])


def burn_in(lam, rho: float, factor: float = 30.0) -> int:
    """Steps after which the transient from a zero state is negligible: ``factor/(1-|lam|)`` plus
    ``factor/(1-rho)`` for the input (the brief's pitfall 1).

    Raises
    ------
    AssumptionError
        If some ``|lam| >= 1`` (no transient decays: there is no burn-in).
    """
    lam = _check_stable(lam)
    rho = _check_rho(rho)
    factor = real_scalar("factor", factor, positive=True)
    steps = factor / (1 - float(np.max(np.abs(lam))))
    if rho < 1:
        steps += factor / (1 - rho) if rho > 0 else 0
    if not math.isfinite(steps) or steps > 1e9:
        raise AssumptionError(f"the burn-in would be {steps:.3g} steps (|lam| or rho too close to 1); use an "
                              "explicit `steps`.")
    return int(math.ceil(round(steps, 9)))


def lyapunov_moments(lam, rho: float, *, wrt="lambda", normalization="none",
                     parametrization="none") -> dict:
    r"""Exact stationary :math:`\mathbb E|h|^2` and :math:`\mathbb E|\dot h|^2` (and the input
    variance, 1) from the discrete Lyapunov equation of the augmented system (module docstring)."""
    rho = _check_rho(rho)
    lam = _check_stable(lam)
    lam_ = np.atleast_1d(lam)[:1]
    gamma, gamma_dot, lambda_dot = (complex(np.asarray(c).reshape(-1)[0]) for c in sensitivity_coefficients(
        lam_, wrt=wrt, normalization=normalization, parametrization=parametrization))
    lam_ = complex(lam_[0])
    F = np.array([[rho, 0, 0], [gamma * rho, lam_, 0], [gamma_dot * rho, lambda_dot, lam_]], dtype=complex)
    G = math.sqrt(1 - rho * rho) * np.array([[1.0], [gamma], [gamma_dot]], dtype=complex)
    if rho == 1:
        raise AssumptionError("rho = 1 (a constant input) has no stationary AR(1) noise; use rho < 1.")
    P = solve_discrete_lyapunov(F, G @ G.conj().T)
    return {"E_x2": float(P[0, 0].real), "E_h2": float(P[1, 1].real), "E_dh2": float(P[2, 2].real)}


def simulate_moments(lam, rho: float, *, n_paths: int = 20_000, seed=0, wrt="lambda",
                     normalization="none", parametrization="none", steps: int | None = None) -> dict:
    r"""Monte Carlo :math:`\mathbb E|h_T|^2` and :math:`\mathbb E|\dot h_T|^2` with standard
    errors, from ``n_paths`` independent paths run for ``steps`` (default :func:`burn_in`) steps
    from a zero state; one sample per path (the last step), so samples are independent."""
    rho = _check_rho(rho)
    lam = _check_stable(lam)
    n_paths = integer("n_paths", n_paths, minimum=2)
    T = burn_in(lam, rho) if steps is None else integer("steps", steps, minimum=1)
    x = ar1_input(T, n_paths, rho, seed)
    lam_paths = np.full(n_paths, np.atleast_1d(lam)[0])
    h, s = diagonal_sensitivity(lam_paths, x, wrt=wrt, normalization=normalization,
                                parametrization=parametrization)
    return {"E_h2": mean_estimate(np.abs(h[-1]) ** 2), "E_dh2": mean_estimate(np.abs(s[-1]) ** 2),
            "steps": T}


def _lams_and_z(lams, z):
    lams = as_array(lams, name="lams", ndim=1, dtype=np.complex128, complex_ok=True)
    z = as_array(z, name="z", ndim=1, dtype=np.complex128, complex_ok=True)
    if z.shape != lams.shape:
        raise InvalidArrayError(f"`z` must have one weight per eigenvalue in `lams` ({lams.size}); got {z.size}.")
    _check_stable(lams)
    return lams, z


def gauss_newton_hessian(lams, z, rho: float, S) -> np.ndarray:
    r"""The Gauss-Newton Hessian :math:`\mathbb E[\partial y\,\partial y^\top]` of
    :math:`y=\mathrm{Re}\sum_iz_ih_i(\lambda_i)` in coordinates :math:`(\mathrm{Re}\lambda_i,
    \mathrm{Im}\lambda_i)`, ordered ``[Re_1..Re_n, Im_1..Im_n]``, from the mixed kernel:
    :math:`A_{ij}=z_iz_jS(\lambda_i,\lambda_j)`, :math:`B_{ij}=z_i\bar z_jS(\lambda_i,\bar\lambda_j)`,
    :math:`H_{RR}=\tfrac12\mathrm{Re}(A+B)`, :math:`H_{II}=\tfrac12\mathrm{Re}(B-A)`,
    :math:`H_{RI}=\tfrac12\mathrm{Im}(B-A)`, :math:`H_{IR}=-\tfrac12\mathrm{Im}(A+B)`.

    ``S(a, b, rho)`` is a compiled kernel of :func:`lemmata.analysis.recurrence.mixed_kernel`.
    """
    lams, z = _lams_and_z(lams, z)
    rho = _check_rho(rho)
    if not callable(S):
        raise InvalidArrayError(f"`S` must be a compiled kernel S(a, b, rho) of mixed_kernel; got {type(S).__name__}.")
    li, lj = np.meshgrid(lams, lams, indexing="ij")
    A = np.outer(z, z) * np.asarray(S(li, lj, rho), dtype=complex)
    B = np.outer(z, z.conj()) * np.asarray(S(li, lj.conj(), rho), dtype=complex)
    top = np.hstack([0.5 * (A + B).real, 0.5 * (B - A).imag])
    bottom = np.hstack([-0.5 * (A + B).imag, 0.5 * (B - A).real])
    return np.vstack([top, bottom])


def gauss_newton_hessian_mc(lams, z, rho: float, *, n_paths: int = 20_000, seed=0) -> tuple:
    r"""Monte Carlo estimate of the same Hessian: :math:`\partial y/\partial\mathrm{Re}\lambda_i
    =\mathrm{Re}(z_ih_i')` and :math:`\partial y/\partial\mathrm{Im}\lambda_i=\mathrm{Re}(iz_ih_i')`
    with :math:`h'` from the tangent scan; returns ``(mean, stderr)`` matrices."""
    lams, z = _lams_and_z(lams, z)
    rho = _check_rho(rho)
    n_paths = integer("n_paths", n_paths, minimum=2)
    T = burn_in(lams, rho)
    x = ar1_input(T, n_paths, rho, seed)                              # (T, paths), shared input
    n = lams.size
    grads = np.empty((n_paths, 2 * n))
    for i in range(n):
        lam_i = np.full(n_paths, lams[i])
        h, hdot = diagonal_sensitivity(np.abs(lam_i) * np.exp(1j * np.angle(lam_i)), x + 0j, wrt="nu")
        # holomorphic derivative h'(lambda) from the nu-tangent: d/dnu h = e^{i theta} h'
        hprime = hdot[-1] * np.exp(-1j * np.angle(lams[i]))
        grads[:, i] = (z[i] * hprime).real
        grads[:, n + i] = (1j * z[i] * hprime).real
    products = grads[:, :, None] * grads[:, None, :]
    mean = products.mean(axis=0)
    stderr = products.std(axis=0, ddof=1) / math.sqrt(n_paths)
    return mean, stderr

