"""torch.func spectra against the NumPy R-operator MLP (an independent implementation of the same
network) and basic properties of the Figure-1 ConvNet."""

import numpy as np
import pytest

pytestmark = pytest.mark.torch
torch = pytest.importorskip("torch")

from lemmata.numerics.mlp import MLP, teacher_data  # noqa: E402


@pytest.fixture(autouse=True)
def _double():
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


@pytest.mark.parametrize("scheme", ["ntp", "mup"])
def test_torch_hvp_and_ntk_match_the_numpy_mlp(scheme):
    from lemmata.numerics import torch_spectra as ts

    widths = [6, 20, 20, 4]
    ref = MLP(widths, "relu", scheme, base_width=8)
    theta = ref.init(1)
    net = ts.scaled_mlp(widths, scheme, base_width=8)
    with torch.no_grad():
        linears = [m for m in net if isinstance(m, ts.ScaledLinear)]
        for layer, W in zip(linears, ref.unpack(theta)):
            layer.weight.copy_(torch.from_numpy(W))
    X, y = teacher_data(9, 6, 4, seed=2)
    np.testing.assert_allclose(ts.lr_multipliers(net), ref.multipliers())
    loss = torch.nn.functional.cross_entropy
    hvp, dim = ts.hvp_operator(net, loss, torch.from_numpy(X), torch.from_numpy(y))
    assert dim == ref.n_params
    v = np.random.default_rng(0).standard_normal(dim)
    np.testing.assert_allclose(hvp(v), ref.operator(theta, X, y)(v), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ts.empirical_ntk(net, torch.from_numpy(X)), ref.ntk(theta, X), rtol=1e-10, atol=1e-12)
    res = ts.sharpness(net, loss, torch.from_numpy(X), torch.from_numpy(y), tol=1e-10)
    from lemmata.numerics.spectra import top_eigenvalues
    assert res.converged
    assert abs(res.values[0] - top_eigenvalues(ref.operator(theta, X, y), dim, tol=1e-10).values[0]) < 1e-8


def test_convnet_shapes_and_sharpness():
    from lemmata.numerics import torch_spectra as ts

    net = ts.scaled_convnet(8, "mup", base_width=4)
    x = torch.randn(4, 3, 32, 32)
    y = torch.tensor([0, 1, 2, 3])
    assert net(x).shape == (4, 10)
    res = ts.sharpness(net, torch.nn.functional.cross_entropy, x, y, tol=1e-6)
    assert res.converged and res.values[0] > 0
    with pytest.raises(ValueError, match="`scheme`"):
        ts.scaled_convnet(8, "sp")
