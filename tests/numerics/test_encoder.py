import numpy as np
import pytest

from lemmata.numerics import encoder


def test_roots_reconstruction_and_dft_identity():
    L = 32
    lam = encoder.nodes("roots", L)
    V = encoder.vandermonde(lam, L)
    np.testing.assert_allclose(V.conj().T @ V, L * np.eye(L), atol=1e-12)   # V^H V = L I
    v = np.random.default_rng(0).normal(size=L)
    x = encoder.encode(lam, v)
    for method in ("idft", "solve", "lstsq"):
        np.testing.assert_allclose(encoder.reconstruct(lam, x, L, method=method), v, atol=1e-12)


def test_radius_condition_law_and_prefixes():
    lam = encoder.nodes("radius", 20, r=0.8)
    assert encoder.condition_number(lam, 20) == pytest.approx(0.8 ** -19, rel=1e-8)
    assert encoder.condition_number(lam, 20, dps=40) == pytest.approx(0.8 ** -19, rel=1e-12)
    wide = encoder.nodes("radius", 30, r=0.99)
    v = np.random.default_rng(1).normal(size=12)
    np.testing.assert_allclose(encoder.reconstruct(wide, encoder.encode(wide, v), 12, method="lstsq"), v, atol=1e-12)


def test_lru_init_ring_and_gamma():
    lam, gamma = encoder.lru_init(20000, r_min=0.5, r_max=0.9, max_phase=1.0, seed=3)
    mod = np.abs(lam)
    assert mod.min() >= 0.5 and mod.max() <= 0.9
    # |lambda|^2 uniform on [0.25, 0.81]: mean 0.53
    assert abs(np.mean(mod ** 2) - 0.53) < 0.01
    assert np.angle(lam).min() >= 0 and np.angle(lam).max() < 1.0
    np.testing.assert_allclose(gamma, np.sqrt(1 - mod ** 2))


def test_multichannel_encoding_and_rank():
    rng = np.random.default_rng(4)
    lam, _ = encoder.lru_init(12, r_min=0.3, seed=5)
    B = rng.normal(size=(12, 3))
    v = rng.normal(size=(4, 3))
    x = encoder.encode(lam, v, B)
    direct = sum(lam ** j * (B @ v[4 - 1 - j]) for j in range(4))
    np.testing.assert_allclose(x, direct, atol=1e-12)
    assert encoder.krylov_rank(lam, B, 4) == 12
    assert encoder.krylov_rank(lam[:8], B[:8], 4) == 8


def test_bad_input():
    with pytest.raises(ValueError, match="`family` must be one of"):
        encoder.nodes("legendre", 4)
    with pytest.raises(ValueError, match="`r` must lie in"):
        encoder.nodes("radius", 4, r=1.5)
    with pytest.raises(ValueError, match="N >= L"):
        encoder.reconstruct(encoder.nodes("roots", 4), np.ones(4), 6, method="lstsq")
    with pytest.raises(ValueError, match="roots of unity"):
        encoder.reconstruct(encoder.nodes("real", 4), np.ones(4), 4, method="idft")
    with pytest.raises(ValueError, match="`r_min`, `r_max`"):
        encoder.lru_init(4, r_min=0.9, r_max=0.5)
