"""Bad-input cases of the muP / sharpness tools (arXiv:2402.17457): spectra, MLPs, tables."""

import numpy as np

from lemmata.analysis import parametrization as par
from lemmata.numerics import mlp, spectra
from lemmata.proofs_checks import cli

_A = np.diag([3.0, 2.0, 1.0, 0.5])
_M = mlp.MLP([3, 4, 2])

CASES = [
    ("lemmata.numerics.spectra.top_eigenvalues", lambda: spectra.top_eigenvalues(np.triu(np.ones((4, 4))), 4),
     ValueError, ["`hvp`", "symmetric"]),
    ("lemmata.numerics.spectra.top_eigenvalues", lambda: spectra.top_eigenvalues(lambda v: v[:2], 4),
     ValueError, ["`hvp`", "square", "(2,)"]),
    ("lemmata.numerics.spectra.top_eigenvalues", lambda: spectra.top_eigenvalues(_A, 4, k=4),
     ValueError, ["`k`", "1 <= k < dim", "4"]),
    ("lemmata.numerics.spectra.top_eigenvalues", lambda: spectra.top_eigenvalues(_A, 4, tol=0.0),
     ValueError, ["`tol`", "positive", "0.0"]),
    ("lemmata.numerics.spectra.top_eigenvalues", lambda: spectra.top_eigenvalues(_A, 4, method="arnoldi"),
     ValueError, ["`method`", "'lanczos'", "'arnoldi'"]),
    ("lemmata.numerics.spectra.top_eigenvalues", lambda: spectra.top_eigenvalues(_A, 4, which="SM"),
     ValueError, ["`which`", "'LA'", "'SM'"]),
    ("lemmata.numerics.spectra.top_eigenvalues", lambda: spectra.top_eigenvalues(_A, 4, v0=np.zeros(4)),
     ValueError, ["`v0`", "non-zero"]),
    ("lemmata.numerics.spectra.top_eigenvalues", lambda: spectra.top_eigenvalues(_A, 4, max_hvp=3, tol=1e-14,
                                                                                   throw=True),
     spectra.ConvergenceError, ["lanczos", "max_hvp"]),
    ("lemmata.numerics.spectra.check_operator", lambda: spectra.check_operator(lambda v: np.cumsum(v), 5),
     ValueError, ["`hvp`", "symmetric"]),
    ("lemmata.numerics.spectra.hutchinson_trace", lambda: spectra.hutchinson_trace(_A, 4, n_samples=1),
     ValueError, ["`n_samples`", "at least 2", "1"]),
    ("lemmata.numerics.spectra.spectral_density", lambda: spectra.spectral_density(_A, 4, n_steps=9),
     ValueError, ["`n_steps`", "at most", "9"]),
    ("lemmata.numerics.spectra.SpectralDensity.density",
     lambda: spectra.spectral_density(_A, 4, n_steps=2).density([0.0], -1.0), ValueError, ["`width`", "positive"]),
    ("lemmata.numerics.spectra.preconditioned", lambda: spectra.preconditioned(_A, [1.0, -1.0, 1.0, 1.0]),
     ValueError, ["`multipliers`", "positive"]),
    ("lemmata.numerics.spectra.dense_matrix", lambda: spectra.dense_matrix(_A, 0),
     ValueError, ["`dim`", "positive integer", "0"]),
    ("lemmata.numerics.spectra.relative_movement", lambda: spectra.relative_movement(np.zeros((2, 2)), np.eye(2)),
     ValueError, ["`before`", "non-zero"]),
    ("lemmata.numerics.mlp.MLP", lambda: mlp.MLP([3, 4, 2], "gelu"), ValueError, ["`activation`", "'relu'", "'gelu'"]),
    ("lemmata.numerics.mlp.MLP", lambda: mlp.MLP([3, 4, 2], "relu", "abc"), ValueError, ["`scheme`", "'mup'", "'abc'"]),
    ("lemmata.numerics.mlp.MLP", lambda: mlp.MLP([3, 0, 2]), ValueError, ["`widths`", "integers >= 1"]),
    ("lemmata.numerics.mlp.MLP", lambda: mlp.MLP([3, 4, 2], loss="hinge"), ValueError, ["`loss`", "'xent'"]),
    ("lemmata.numerics.mlp.MLP", lambda: mlp.MLP([3, 4, 2], "relu", "depth_mup"), ValueError, ["`widths`", "depth_mup"]),
    ("lemmata.numerics.mlp.MLP.hvp", lambda: _M.hvp(_M.init(0), np.zeros((2, 3)), [0, 1], np.zeros(3)),
     ValueError, ["`v`", "n_params"]),
    ("lemmata.numerics.mlp.MLP.loss", lambda: _M.loss(_M.init(0), np.zeros((2, 3)), [0, 7]),
     ValueError, ["`Y`", "labels"]),
    ("lemmata.numerics.mlp.MLP.forward", lambda: _M.forward(_M.init(0), np.full((2, 3), np.nan)),
     ValueError, ["`X`", "finite"]),
    ("lemmata.numerics.mlp.MLP.multipliers", lambda: _M.multipliers("rmsprop"), ValueError, ["`optimizer`", "'adam'"]),
    ("lemmata.numerics.mlp.MLP.operator", lambda: _M.operator(_M.init(0), np.zeros((2, 3)), [0, 1], part="diag"),
     ValueError, ["`part`", "'gn'"]),
    ("lemmata.numerics.mlp.train", lambda: mlp.train(_M, _M.init(0), np.zeros((2, 3)), [0, 1], eta=-1.0, n_steps=3),
     ValueError, ["`eta`", "positive", "-1.0"]),
    ("lemmata.numerics.mlp.train", lambda: mlp.train(_M, _M.init(0), np.zeros((2, 3)), [0, 1], eta=0.1, n_steps=3,
                                                     batch_size=5),
     ValueError, ["`batch_size`", "at most", "5"]),
    ("lemmata.numerics.mlp.teacher_data", lambda: mlp.teacher_data(10, n_classes=1), ValueError, ["`n_classes`", "2"]),
    ("lemmata.numerics.mlp.coordinate_check", lambda: mlp.coordinate_check("mup", (64, 128)),
     ValueError, ["`widths`", "at least 3"]),
    ("lemmata.numerics.mlp.proxy_run", lambda: mlp.proxy_run("mup", 0, 1.0), ValueError, ["`width`", "positive"]),
    ("lemmata.analysis.parametrization.table", lambda: par.table("umup", 3), ValueError, ["`scheme`", "'mup'", "'umup'"]),
    ("lemmata.analysis.parametrization.table", lambda: par.table("mup", 1), ValueError, ["`n_layers`", ">= 2", "1"]),
    ("lemmata.analysis.parametrization.two_layer_linear", lambda: par.two_layer_linear("sp"),
     ValueError, ["`scheme`", "'ntp'", "'sp'"]),
    ("cli:derive parametrization",
     lambda: cli.main(["derive", "parametrization", "--scheme", "depth_mup", "--layers", "2"]), 2,
     ["`--layers`", ">= 3", "2"]),
    ("cli:derive parametrization",
     lambda: cli.main(["derive", "parametrization", "--scheme", "sp", "--two-layer-linear"]), 2,
     ["`--two-layer-linear`", "mup or ntp"]),
]

EXEMPT = {
    "lemmata.numerics.spectra.EigenResult": "a result object built by top_eigenvalues, not by users",
    "lemmata.numerics.spectra.SpectralDensity": "a result object built by spectral_density (its density() has a case)",
    "lemmata.numerics.mlp.TrainResult": "a result object built by train, not by users",
    "lemmata.numerics.mlp.CoordinateCheck": "a result object built by coordinate_check, not by users",
    "lemmata.analysis.parametrization.LayerRule": "a table row built by table(), holding SymPy expressions",
    "lemmata.analysis.parametrization.ParametrizationTable": "built by table(); its evaluate() takes numbers "
                                                            "substituted into closed forms",
}

try:                                    # the deep extra's module: cases only where torch is installed
    import torch  # noqa: F401
except ImportError:
    pass
else:
    from lemmata.numerics import torch_spectra as _ts

    CASES += [
        ("lemmata.numerics.torch_spectra.scaled_mlp", lambda: _ts.scaled_mlp([3, 4, 2], "sp"),
         ValueError, ["`scheme`", "'mup'", "'sp'"]),
        ("lemmata.numerics.torch_spectra.scaled_convnet", lambda: _ts.scaled_convnet(0), ValueError, ["`width`"]),
        ("lemmata.numerics.torch_spectra.sharpness",
         lambda: _ts.sharpness(_ts.scaled_mlp([3, 4, 2]), torch.nn.functional.cross_entropy,
                               torch.zeros(2, 3), torch.tensor([0, 1]), tol=-1.0), ValueError, ["`tol`"]),
    ]
    EXEMPT.update({
        "lemmata.numerics.torch_spectra.ScaledLinear": "a layer built by scaled_mlp / scaled_convnet",
        "lemmata.numerics.torch_spectra.ScaledConv2d": "a layer built by scaled_convnet",
        "lemmata.numerics.torch_spectra.lr_multipliers": "reads the multipliers of a module built by lemmata",
        "lemmata.numerics.torch_spectra.hvp_operator": "wraps any module and loss; failures are torch's own",
        "lemmata.numerics.torch_spectra.empirical_ntk": "wraps any module; failures are torch's own",
    })
