r"""Logistic-regression data sets for the large-step GD study (arXiv:2406.05033): validation
(non-separability, rank), solution quantities, and the constructions of datasets whose GD has a
stable cycle below the critical step.

All step sizes are reported through the invariant :math:`\eta\lambda`, :math:`\lambda` the top
Hessian eigenvalue at the minimiser.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lemmata.analysis import logistic as symbolic
from lemmata.analysis.errors import AssumptionError

from .arrays import ArrayTypeError, InvalidArrayError, as_array, integer, real_scalar

__all__ = ["LogisticData", "logistic_data", "wall_dataset_1d", "two_wall_dataset_2d", "gd_orbits_1d",
           "random_dataset_1d"]


@dataclass(frozen=True)
class LogisticData:
    """Absorbed samples ``z`` (n, d) with weights ``p`` (n,), and the solution quantities:
    ``minimizer``, ``lam`` (top Hessian eigenvalue at it), ``eigenvector``, ``smoothness``
    L = lambda_max(sum p z z^T)/4, computed at 40 digits by :func:`lemmata.analysis.logistic.solution`."""

    z: np.ndarray
    p: np.ndarray
    minimizer: np.ndarray
    lam: float
    eigenvector: np.ndarray
    smoothness: float

    @property
    def dim(self) -> int:
        return self.z.shape[1]

    def gd_map(self):
        """The GD map as a Derivation (:func:`lemmata.analysis.logistic.gd_map`)."""
        return symbolic.gd_map(self.z.tolist(), weights=self.p.tolist())

    def eta(self, eta_lambda: float) -> float:
        """The step size with the given invariant eta * lambda."""
        return real_scalar("eta_lambda", eta_lambda, positive=True) / self.lam


def logistic_data(X=None, y=None, *, z=None, p=None) -> LogisticData:
    """Build and validate a data set from features ``X`` and labels ``y`` in {-1, +1}, or from
    absorbed samples ``z = y x`` and weights ``p`` (default equal).

    It refuses what :mod:`lemmata.analysis.logistic` refuses: labels other than -1 and +1
    (NaN included), ``X`` and ``y`` of different lengths, non-finite features. ``X`` may be a
    list, a NumPy array or a pandas DataFrame (rows are samples); ``y`` a list, array or Series.

    Raises
    ------
    ValueError
        Empty data, labels outside {-1, +1}, mismatched lengths, weights that are not positive,
        non-finite values.
    AssumptionError
        Separable data (no finite minimiser), or samples that do not span R^d.
    """
    if z is None:
        if X is None or y is None:
            raise InvalidArrayError("`logistic_data` needs features `X` and labels `y`, or absorbed samples `z`.")
        X = as_array(X, name="X", ndim=(1, 2), min_size=0)
        y = as_array(y, name="y", ndim=1, finite=False, min_size=0)
        if X.ndim == 1:
            X = X[:, None]
        if X.size == 0:
            raise InvalidArrayError(f"`X` must be a non-empty (n, d) array; got shape {X.shape}.")
        if y.shape != (X.shape[0],):
            raise InvalidArrayError(f"`y` must have one label per row of `X` ({X.shape[0]}); got {y.shape[0]}.")
        bad = ~np.isin(y, (-1, 1))
        if bad.any():
            raise InvalidArrayError(f"`y` must hold {X.shape[0]} labels in {{-1, +1}}; got values "
                                    f"{np.unique(y[bad])[:5].tolist()}.")
        z = X * y[:, None]
    elif X is not None or y is not None:
        raise InvalidArrayError("pass either (`X`, `y`) or `z`, not both.")
    z = as_array(z, name="z", ndim=(1, 2), finite=False, min_size=0)
    if z.ndim == 1:
        z = z[:, None]
    if z.size == 0:
        raise InvalidArrayError("the data set is empty: `z` (or `X`) must be a non-empty (n, d) array.")
    if not np.all(np.isfinite(z)):
        raise InvalidArrayError(f"the data must be finite; `z` (or `X`) holds {int((~np.isfinite(z)).sum())} "
                                "NaN or infinite entries.")
    p = np.full(z.shape[0], 1.0 / z.shape[0]) if p is None else as_array(p, name="p", ndim=1, finite=False)
    if p.shape != (z.shape[0],) or np.any(~(p > 0)) or not np.all(np.isfinite(p)):
        raise InvalidArrayError(f"`p` must hold one positive finite weight per sample ({z.shape[0]}); got "
                                f"shape {p.shape}.")
    p = p / p.sum()
    if np.linalg.matrix_rank(z) < z.shape[1]:
        raise AssumptionError("the samples do not span R^d: the minimiser is not unique.")
    sol = symbolic.solution(z.tolist(), p.tolist())     # refuses separable data (exact LP)
    smooth = float(np.linalg.eigvalsh((z.T * p) @ z).max() / 4)
    return LogisticData(z, p, np.array([float(v) for v in sol["minimizer"]]), float(sol["lambda"]),
                        np.array([float(v) for v in sol["eigenvector"]]), smooth)


def random_dataset_1d(rng, n: int = 6) -> LogisticData:
    """A random non-separable 1-D data set: magnitudes log-uniform in [0.1, 10], both signs."""
    if not isinstance(rng, np.random.Generator):
        raise ArrayTypeError(f"`rng` must be a numpy.random.Generator (np.random.default_rng(seed)); got "
                             f"{type(rng).__name__}.")
    n = integer("n", n, minimum=2)
    while True:
        magnitudes = np.exp(rng.uniform(np.log(0.1), np.log(10.0), n))
        signs = np.where(rng.random(n) < 0.5, -1.0, 1.0)
        if signs.min() < 0 < signs.max():
            return logistic_data(z=(magnitudes * signs)[:, None], p=rng.dirichlet(np.ones(n)))


def _check_construction(bulk_p, safety, saturation):
    bulk_p = real_scalar("bulk_p", bulk_p)
    if not 0.5 < bulk_p < 1:
        raise InvalidArrayError(f"`bulk_p` must lie in (0.5, 1) (so that the minimiser w* > 0); got {bulk_p!r}.")
    real_scalar("safety", safety, positive=True)
    real_scalar("saturation", saturation, positive=True)


def wall_dataset_1d(eta_lambda: float, *, bulk_p: float = 0.52, safety: float = 2.0,
                    saturation: float = 40.0) -> LogisticData:
    r"""A 1-D data set whose GD has a stable 2-cycle at :math:`\eta\lambda` = ``eta_lambda`` in
    (1, 2), where the minimiser is also stable (L7's mechanism, a construction of lemmata): a bulk
    :math:`z=\pm1` with weights :math:`(p, 1-p)` sets :math:`\lambda` and :math:`w^*>0`; one rare
    "wall" sample :math:`z=A`, saturated at :math:`w^*` (:math:`Aw^*=` ``saturation``), adds
    :math:`F\max(-w,0)` with :math:`F=qA` chosen ``safety`` times the activation threshold
    :math:`\lambda(2-\eta\lambda)w^*/(\eta\lambda-1)`."""
    eta_lambda = real_scalar("eta_lambda", eta_lambda)
    if not (1 < eta_lambda < 2):
        raise InvalidArrayError(f"`eta_lambda` must lie in (1, 2) for this construction; got {eta_lambda!r}.")
    _check_construction(bulk_p, safety, saturation)
    w_star = np.log(bulk_p / (1 - bulk_p))
    lam = bulk_p * (1 - bulk_p)
    F = safety * lam * (2 - eta_lambda) * w_star / (eta_lambda - 1)
    A = saturation / w_star
    q = F / A
    z = np.array([[1.0], [-1.0], [A]])
    p = np.array([(1 - q) * bulk_p, (1 - q) * (1 - bulk_p), q])
    return logistic_data(z=z, p=p)


def two_wall_dataset_2d(eta_lambda: float, *, c: float | None = None, bulk_p: float = 0.52,
                        safety: float = 2.0, saturation: float = 40.0) -> LogisticData:
    r"""A 2-D data set whose GD has a stable cycle at :math:`\eta\lambda` = ``eta_lambda`` < 1
    (L8's isotropic two-wall mechanism, a construction of lemmata): bulk :math:`\pm e_1` with
    weights :math:`(p,1-p)` (minimiser on the :math:`e_1` axis) and :math:`\pm e_2` with equal
    weights sized so that the Hessian is nearly isotropic; two rare walls :math:`An_{1,2}`,
    :math:`n_{1,2}=(c,\pm s)`, :math:`c^2<\eta\lambda/2`, with
    :math:`F=` ``safety`` :math:`\times\lambda(2-\eta\lambda)cx^*/(\eta\lambda-2c^2)`."""
    eta_lambda = real_scalar("eta_lambda", eta_lambda)
    if not (0 < eta_lambda < 2):
        raise InvalidArrayError(f"`eta_lambda` must lie in (0, 2); got {eta_lambda!r}.")
    _check_construction(bulk_p, safety, saturation)
    c = np.sqrt(eta_lambda / 4) if c is None else real_scalar("c", c)
    if not (0 < c * c < eta_lambda / 2):
        raise ValueError(f"`c` must satisfy 0 < c^2 < eta_lambda/2 = {eta_lambda / 2}; got {c!r}.")
    s = np.sqrt(1 - c * c)
    x_star = np.log(bulk_p / (1 - bulk_p))
    lam1 = bulk_p * (1 - bulk_p)
    # +-e2 with total weight b2 contribute b2/4 of curvature at w2 = 0; 0.97 keeps lambda simple
    b2 = 0.97 * 4 * lam1
    F = safety * lam1 * (2 - eta_lambda) * c * x_star / (eta_lambda - 2 * c * c)
    A = saturation / (c * x_star)
    q = F / A            # per wall
    bulk = 1 - 2 * q
    z = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0], [A * c, A * s], [A * c, -A * s]])
    w1 = bulk / (1 + b2)
    p = np.array([w1 * bulk_p, w1 * (1 - bulk_p), bulk * b2 / (1 + b2) / 2, bulk * b2 / (1 + b2) / 2, q, q])
    return logistic_data(z=z, p=p)


def gd_orbits_1d(z, p, etas, inits, n_steps: int, *, backend: str = "numpy"):
    r"""Batched 1-D logistic GD over many data sets at once (NumPy or CuPy):
    ``z``, ``p`` of shape (n_sets, n) (pad with zero weights), ``etas`` (n_sets, n_eta),
    ``inits`` (n_sets, n_init) or (n_sets, n_eta, n_init); returns the final iterates
    (n_sets, n_eta, n_init).
    :math:`w\leftarrow w+\eta\sum_ip_iz_i/(1+e^{z_iw})`.

    Raises
    ------
    ValueError
        Shapes that do not fit, non-finite data, step sizes that are not positive and finite,
        negative weights, a negative ``n_steps``.
    """
    from . import backends
    xp = backends.get(backend).xp
    z = as_array(z, name="z", ndim=2)
    p = as_array(p, name="p", ndim=2)
    etas = as_array(etas, name="etas", ndim=2, finite=False)
    inits = as_array(inits, name="inits", ndim=(2, 3))
    n_steps = integer("n_steps", n_steps, minimum=0)
    if p.shape != z.shape:
        raise InvalidArrayError(f"`p` must have the shape of `z` {z.shape} (n_sets, n); got {p.shape}.")
    if np.any(p < 0):
        raise InvalidArrayError(f"`p` must be non-negative (pad with zero weights); got min {float(p.min())!r}.")
    if etas.shape[0] != z.shape[0] or etas.shape[1] < 1:
        raise InvalidArrayError(f"`etas` must have shape ({z.shape[0]}, n_eta); got {etas.shape}.")
    if not np.all(np.isfinite(etas)) or np.any(etas <= 0):
        raise InvalidArrayError(f"`etas` must hold positive finite step sizes; got {int(np.sum(~(etas > 0) | ~np.isfinite(etas)))} "
                                "that are not.")
    if inits.shape[0] != z.shape[0] or (inits.ndim == 3 and inits.shape[1] != etas.shape[1]):
        raise InvalidArrayError(f"`inits` must have shape ({z.shape[0]}, n_init) or ({z.shape[0]}, "
                                f"{etas.shape[1]}, n_init); got {inits.shape}.")
    z = xp.asarray(z)[:, None, None, :]
    p = xp.asarray(p)[:, None, None, :]
    etas = xp.asarray(etas)[:, :, None]
    inits = xp.asarray(inits)
    if inits.ndim == 2:                       # (n_sets, n_init): the same starts for every eta
        inits = inits[:, None, :]
    w = xp.broadcast_to(inits, etas.shape[:2] + (inits.shape[-1],)).copy()
    pz = p * z
    with np.errstate(over="ignore"):
        for _ in range(n_steps):
            w = w + etas * xp.sum(pz / (1.0 + xp.exp(z * w[..., None])), axis=-1)
    return w.get() if backend == "cupy" else w
