"""Sharpness of a ~1e5-parameter MLP (arXiv:2402.17457 tools): lemmata's Lanczos and power iteration
on exact R-operator Hessian-vector products, against PyHessian 0.1 (power iteration, defaults
maxIter=100, tol=1e-3) and hessian-eigenthings (Lanczos, defaults) on torch double-backward HVPs of
the same network and batch. Reference: ARPACK eigsh at tol 1e-12.

    python benchmarks/bench_spectra.py            (PyHessian / hessian-eigenthings skipped when absent)

Network: 3-layer ReLU MLP 64 -> 288 -> 288 -> 10 under NTP (SGD multipliers 1, so the preconditioned
and raw Hessians coincide and every tool computes the same lambda_max), 104 k parameters, after 20
SGD steps; cross-entropy on a fixed batch of 128 teacher-labelled points. One thread for BLAS and
torch (the shared machine's load makes two threads slower).
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import time  # noqa: E402

import numpy as np  # noqa: E402

from _harness import best_of, table  # noqa: E402
from lemmata.numerics.mlp import MLP, teacher_data, train  # noqa: E402
from lemmata.numerics.spectra import top_eigenvalues  # noqa: E402

TARGET = 1e-6


def _problem():
    X, labels = teacher_data(2048, 64, 10, seed=0)
    model = MLP([64, 288, 288, 10], "relu", "ntp")
    theta = train(model, model.init(0), X, labels, eta=4.0, n_steps=20, batch_size=128, seed=0).theta
    return model, theta, X[:128], labels[:128]


def _first_below(history, ref):
    err = np.abs(np.asarray(history) - ref) / abs(ref)
    hit = np.nonzero(err <= TARGET)[0]
    return (int(hit[0]) + 1 if hit.size else None), err


def _torch_model(model, theta):
    import torch

    torch.set_default_dtype(torch.float64)
    torch.set_num_threads(1)

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = torch.nn.ModuleList(torch.nn.Linear(b, a, bias=False) for a, b in model.shapes)
            with torch.no_grad():
                for layer, W in zip(self.layers, model.unpack(theta)):
                    layer.weight.copy_(torch.from_numpy(W))
            self.mult = [float(a) for a in model._a]

        def forward(self, x):
            for i, (layer, a) in enumerate(zip(self.layers, self.mult)):
                x = a * layer(x)
                if i < len(self.layers) - 1:
                    x = torch.relu(x)
            return x

    return Net()


def main() -> str:
    model, theta, X, y = _problem()
    dim = model.n_params
    op = model.operator(theta, X, y)
    rows, notes = [], []

    ref = top_eigenvalues(op, dim, method="eigsh", tol=1e-12, max_hvp=5000, seed=1)
    lam = float(ref.values[0])
    rows.append(["ARPACK eigsh tol 1e-12 (reference)", ref.n_hvp, f"{lam:.12g}", "-", "-"])

    lan = top_eigenvalues(op, dim, tol=1e-14, max_hvp=80, seed=2, check=False)
    n_lan, err_lan = _first_below(lan.history, lam)
    t_lan = best_of(lambda: top_eigenvalues(op, dim, tol=1e-14, max_hvp=n_lan or 80, seed=2, check=False), 3)
    default = top_eigenvalues(op, dim, seed=2, check=False)          # tol 1e-8 on the error bound
    rows.append(["lemmata Lanczos (full reorth.)", n_lan, f"{lan.history[(n_lan or 80) - 1]:.12g}",
                 f"{err_lan[(n_lan or 80) - 1]:.1e}", f"{t_lan:.3f}"])
    rows.append(["lemmata Lanczos, default tol=1e-8 (stops itself)", default.n_hvp, f"{default.values[0]:.12g}",
                 f"{abs(default.values[0] - lam) / lam:.1e}", "-"])
    pw = top_eigenvalues(op, dim, method="power", tol=1e-14, max_hvp=1000, seed=2, check=False)
    n_pw, err_pw = _first_below(pw.history, lam)
    t_pw = best_of(lambda: top_eigenvalues(op, dim, method="power", tol=1e-14, max_hvp=n_pw or 1000, seed=2,
                                           check=False), 1)
    rows.append(["lemmata power iteration", n_pw if n_pw else "> 1000", f"{pw.history[(n_pw or 1000) - 1]:.12g}",
                 f"{err_pw[(n_pw or 1000) - 1]:.1e}", f"{t_pw:.3f}"])

    v = np.random.default_rng(0).standard_normal(dim)
    raw = model.operator(theta, X, y, preconditioned=False)
    ratios = []
    for _ in range(5):                        # interleaved repetitions: the machine is shared
        t_h = best_of(lambda: raw(v), 3)
        t_g = best_of(lambda: model.grad(theta, X, y), 3)
        t_s = best_of(lambda: model.hvp(theta, X, y, v), 3)
        ratios.append((t_h / t_g, t_s / t_g, t_h, t_g))
    r_op, r_single, t_h, t_g = np.median(np.array(ratios), axis=0)
    notes.append(f"lemmata HVP in an eigensolve (forward pass shared at fixed theta) {1e3 * t_h:.1f} ms vs gradient "
                 f"{1e3 * t_g:.1f} ms: ratio {r_op:.2f} (target <= 3); a stand-alone MLP.hvp call (own forward "
                 f"pass) {r_single:.2f}x a gradient (medians of 5 interleaved repetitions)")
    notes.append(f"lemmata Lanczos reached {TARGET:g} in {n_lan} HVPs (target <= 35); power iteration in "
                 f"{n_pw if n_pw else '> 1000'}; gap ratio of the spectrum lambda_2/lambda_1 = "
                 f"{top_eigenvalues(op, dim, k=2, tol=1e-10, seed=3, check=False).values[1] / lam:.4f}")

    try:
        import torch
        from pyhessian import hessian as pyh
    except ImportError as exc:
        notes.append(f"PyHessian skipped ({exc})")
    else:
        net = _torch_model(model, theta)
        Xt, yt = torch.from_numpy(X), torch.from_numpy(np.asarray(y))
        crit = torch.nn.CrossEntropyLoss()
        with torch.no_grad():
            gap = float(crit(net(Xt), yt)) - model.loss(theta, X, y)
        import sys

        module = sys.modules["pyhessian.hessian"]          # the package re-exports the class under the module's name
        calls = [0]
        original = module.hessian_vector_product

        def counted(*args, **kwargs):
            calls[0] += 1
            return original(*args, **kwargs)

        module.hessian_vector_product = counted
        torch.manual_seed(0)
        start = time.perf_counter()
        comp = pyh(net, crit, data=(Xt, yt), cuda=False)
        value = comp.eigenvalues()[0][0]
        t_default = time.perf_counter() - start
        rows.append(["PyHessian 0.1 defaults (maxIter=100, tol=1e-3)", calls[0], f"{value:.12g}",
                     f"{abs(value - lam) / lam:.1e}", f"{t_default:.3f}"])
        calls[0] = 0
        torch.manual_seed(0)
        start = time.perf_counter()
        value = pyh(net, crit, data=(Xt, yt), cuda=False).eigenvalues(maxIter=1000, tol=1e-9)[0][0]
        t_tight = time.perf_counter() - start
        rows.append(["PyHessian 0.1, maxIter=1000, tol=1e-9", calls[0], f"{value:.12g}",
                     f"{abs(value - lam) / lam:.1e}", f"{t_tight:.3f}"])
        module.hessian_vector_product = original
        notes.append(f"torch network = lemmata network: loss difference {gap:.1e}")
        params = list(net.parameters())
        loss = crit(net(Xt), yt)
        grads = torch.autograd.grad(loss, params, create_graph=True)
        vt = [torch.randn_like(p) for p in params]
        t_th = best_of(lambda: torch.autograd.grad(grads, params, vt, retain_graph=True), 7)
        t_tg = best_of(lambda: torch.autograd.grad(crit(net(Xt), yt), params), 7)
        notes.append(f"torch double-backward HVP {1e3 * t_th:.1f} ms (graph kept) vs torch gradient "
                     f"{1e3 * t_tg:.1f} ms")
    try:
        import hessian_eigenthings as he
    except ImportError as exc:
        notes.append(f"hessian-eigenthings skipped ({exc})")
    else:
        import torch

        net = _torch_model(model, theta)
        Xt, yt = torch.from_numpy(X), torch.from_numpy(np.asarray(y))
        crit = torch.nn.CrossEntropyLoss()
        hop = he.HessianOperator(net, [(Xt, yt)], lambda m, b: crit(m(b[0]), b[1]))
        count = [0]
        inner = hop.matvec

        def matvec(v):
            count[0] += 1
            return inner(v)

        hop.matvec = matvec
        start = time.perf_counter()
        res = he.lanczos(hop, seed=0)
        t_d = time.perf_counter() - start
        top = float(max(np.asarray(res.eigenvalues, dtype=float)))
        rows.append(["hessian-eigenthings lanczos defaults (k=10, 20 steps, LM)", count[0], f"{top:.12g}",
                     f"{abs(top - lam) / lam:.1e}", f"{t_d:.3f}"])
        for steps in (20, 35):
            count[0] = 0
            start = time.perf_counter()
            res = he.lanczos(hop, k=1, max_iter=steps, tol=1e-12, which="LA", reorthogonalize=True, seed=0)
            t_k = time.perf_counter() - start
            top = float(np.asarray(res.eigenvalues, dtype=float)[0])
            rows.append([f"hessian-eigenthings lanczos k=1, LA, {steps} steps, reorth.", count[0], f"{top:.12g}",
                         f"{abs(top - lam) / lam:.1e}", f"{t_k:.3f}"])
    out = table(rows, ["method", "HVPs", "lambda_max", "rel. error", "seconds"])
    return out + "\n\n" + "\n".join(f"- {n}" for n in notes)


if __name__ == "__main__":
    print(main())
