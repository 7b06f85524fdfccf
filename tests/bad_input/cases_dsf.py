"""Bad input of the DSF (issue 15): unknown architectures, shapes that do not fit u_dim / n,
P < 0, a chunk length < 1, NaN in u, and the MQAR generator's limits."""

import numpy as np

from lemmata.analysis import dsf as adsf
from lemmata.numerics import dsf
from lemmata.proofs_checks import cli


def _s6():
    return dsf.from_architecture("s6", dsf.random_params("s6", 3, 2, seed=0), 3)


def _la_params(**change):
    p = dsf.random_params("linear_attention", 3, 2, seed=0)
    p.update(change)
    return p


CASES = [
    ("lemmata.numerics.dsf.from_architecture", lambda: dsf.from_architecture("mamba3", {}, 3), ValueError,
     ["`name`", "linear_attention", "rg_lru_expanded", "mamba3"]),
    ("lemmata.numerics.dsf.from_architecture",
     lambda: dsf.from_architecture("linear_attention", _la_params(W_V=np.eye(4)), 3), ValueError,
     ["`params['W_V']`", "(3, 3)", "(4, 4)"]),
    ("lemmata.numerics.dsf.from_architecture",
     lambda: dsf.from_architecture("linear_attention", _la_params(W_K=np.ones((5, 3))), 3), ValueError,
     ["`params['W_K']`", "(2, 3)", "(5, 3)"]),
    ("lemmata.numerics.dsf.from_architecture",
     lambda: dsf.from_architecture("softmax_taylor", _la_params(order=-1), 3), ValueError,
     ["`params['order']`", "non-negative", "-1"]),
    ("lemmata.numerics.dsf.from_architecture",
     lambda: dsf.from_architecture("linear_attention", _la_params(W_Q=np.full((2, 3), np.nan)), 3), ValueError,
     ["`params['W_Q']`", "finite"]),
    ("lemmata.numerics.dsf.from_architecture",
     lambda: dsf.from_architecture("linear_attention", _la_params(gamma=0.5), 3), ValueError,
     ["`params`", "gamma"]),
    ("lemmata.numerics.dsf.from_architecture",
     lambda: dsf.from_architecture("s6", dict(dsf.random_params("s6", 3, 2, seed=0), A=np.ones((3, 2))), 3),
     ValueError, ["`params['A']`", "<= 0"]),
    ("lemmata.numerics.dsf.DSF.run", lambda: _s6().run(np.ones((5, 3)), "chunked", chunk=0), ValueError,
     ["`chunk`", "positive", "0"]),
    ("lemmata.numerics.dsf.DSF.run", lambda: _s6().run(np.array([[1.0, np.nan, 0.0]])), ValueError,
     ["`u`", "finite", "NaN"]),
    ("lemmata.numerics.dsf.DSF.run", lambda: _s6().run(np.ones((5, 4))), ValueError,
     ["`u`", "(L, 3)", "(5, 4)"]),
    ("lemmata.numerics.dsf.DSF.run", lambda: _s6().run(np.ones((5, 3)), "fft"), ValueError,
     ["`method`", "recurrent", "'fft'"]),
    ("lemmata.numerics.dsf.DSF.materialize", lambda: _s6().materialize(), ValueError,
     ["`u`", "required", "depend on the input"]),
    ("lemmata.numerics.dsf.DSF.matrices", lambda: _s6().matrices(np.ones((2, 5, 3))), ValueError,
     ["`u`", "one sequence", "(2, 5, 3)"]),
    ("lemmata.numerics.dsf.DSF.from_matrices",
     lambda: dsf.DSF.from_matrices(np.ones(4), np.ones((4, 6, 2)), np.ones((4, 2, 5))), ValueError,
     ["`C`", "(4, 2, 6)", "(4, 2, 5)"]),
    ("lemmata.numerics.dsf.DSF.auto_method", lambda: _s6().auto_method(0), ValueError,
     ["`L`", "positive", "0"]),
    ("lemmata.numerics.dsf.random_params", lambda: dsf.random_params("qlstm", 3, 4, seed=0), ValueError,
     ["`n`", "1", "4"]),
    ("lemmata.numerics.dsf.random_params", lambda: dsf.random_params("gru", 3, 4, seed=0), ValueError,
     ["`name`", "qlstm", "'gru'"]),
    ("lemmata.numerics.dsf.taylor_features", lambda: dsf.taylor_features(np.ones(3), -2), ValueError,
     ["`order`", "non-negative", "-2"]),
    ("lemmata.numerics.dsf.mqar", lambda: dsf.mqar(4, 16, 8, 64, seed=0), ValueError,
     ["`L`", "32", "16"]),
    ("lemmata.numerics.dsf.mqar", lambda: dsf.mqar(4, 64, 8, 10, seed=0), ValueError,
     ["`vocab`", "n_kv = 8", "10"]),
]

CASES += [
    ("lemmata.analysis.dsf.taylor_identity", lambda: adsf.taylor_identity(-1, 2), adsf.LemmataError,
     ["`order`", "non-negative", "-1"]),
    ("lemmata.analysis.dsf.taylor_identity", lambda: adsf.taylor_identity(2, 0), adsf.LemmataError,
     ["`m`", "positive", "0"]),
    ("lemmata.analysis.dsf.taylor_remainder_bound", lambda: adsf.taylor_remainder_bound(-3), adsf.LemmataError,
     ["`order`", "-3"]),
    ("lemmata.analysis.dsf.dsf_matrices", lambda: adsf.dsf_matrices("gru", 3), adsf.LemmataError,
     ["`--arch`", "s6", "'gru'"]),
    ("lemmata.analysis.dsf.phi_matrix", lambda: adsf.phi_matrix("s6", 0), adsf.LemmataError,
     ["`--L`", "positive", "0"]),
    ("lemmata.analysis.dsf.derive_dsf", lambda: adsf.derive_dsf("softmax_taylor", 2, order=-1), adsf.LemmataError,
     ["`order`", "-1"]),
    ("cli:derive dsf", lambda: cli.main(["derive", "dsf", "--arch", "s6", "--L", "0"]), 2, ["`--L`", "0"]),
    ("cli:derive dsf", lambda: cli.main(["derive", "dsf", "--arch", "softmax_taylor", "--order", "-1"]), 2,
     ["`--order`", "-1"]),
]

EXEMPT = {
    "lemmata.analysis.dsf.softplus": "a symbolic map applied to any SymPy expression",
    "lemmata.analysis.dsf.sigmoid": "a symbolic map applied to any SymPy expression",
    "lemmata.analysis.dsf.reversed_sigmoid_identity": "takes no arguments",
    "lemmata.analysis.dsf.rg_lru_identity": "takes no arguments",
    "lemmata.analysis.dsf.matching_conditions": "takes no arguments",
    "lemmata.numerics.dsf.DSFMatrices": "a result container built by DSF.matrices from validated arrays",
    "lemmata.numerics.dsf.MQARData": "a result container built by mqar from validated arguments",
    "lemmata.numerics.dsf.DSF": "constructed through from_architecture / from_matrices, which validate",
}

try:                                   # the deep extra's models, where torch is installed
    from lemmata.numerics import torch_dsf
except ImportError:
    torch_dsf = None
if torch_dsf is not None:
    CASES += [
        ("lemmata.numerics.torch_dsf.DSFMixer", lambda: torch_dsf.DSFMixer("mamba", 4, 2), ValueError,
         ["`kind`", "softmax", "'mamba'"]),
        ("lemmata.numerics.torch_dsf.MQARModel", lambda: torch_dsf.MQARModel("s6", 0, 4, 2), ValueError,
         ["`vocab`", "positive", "0"]),
        ("lemmata.numerics.torch_dsf.train_mqar",
         lambda: torch_dsf.train_mqar("s6", d=4, n=2, L=16, n_kv=2, lr=-1.0), ValueError, ["`lr`", "positive", "-1.0"]),
    ]
