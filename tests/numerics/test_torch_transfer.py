"""Tiny backbones, the source task, pretraining cache and ILM-VP (lemmata.numerics.torch_transfer).

References: the torch S6 scan against lemmata.numerics.cde.selective_scan (NumPy, an
independent implementation through the linear-scan engine); the Adam probe against the L-BFGS
optimum of the same convex objective; the VP accuracy recomputed here from the returned prompt
and mapping in the documented pre-processing order.
"""

import numpy as np
import pytest

pytestmark = pytest.mark.torch
torch = pytest.importorskip("torch")

from lemmata.numerics import transfer as tr  # noqa: E402
from lemmata.numerics import torch_transfer as tt  # noqa: E402
from lemmata.numerics.cde import selective_scan  # noqa: E402


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.mark.parametrize("method", ["sequential", "parallel"])
@pytest.mark.parametrize("discretization", ["zoh", "euler"])
def test_s6_scan_matches_the_numpy_selective_scan(method, discretization):
    rng = np.random.default_rng(0)
    T, E, n = 11, 4, 3
    d = rng.uniform(0.05, 0.8, (T, E))
    A = -rng.uniform(0.3, 2.0, (E, n))
    B, x = rng.normal(size=(T, n)), rng.normal(size=(T, E))
    ref = selective_scan(d, A, B, x, discretization=discretization, backend="numpy")
    got = tt.s6_scan(*(torch.tensor(v) for v in (d, A, B, x)), discretization=discretization, method=method)
    assert np.max(np.abs(got.numpy() - ref)) < 1e-12
    C = rng.normal(size=(T, n))
    y = tt.s6_scan(*(torch.tensor(v) for v in (d, A, B, x, C)), discretization=discretization, method=method)
    assert np.max(np.abs(y.numpy() - np.einsum("ten,tn->te", ref, C))) < 1e-12


def test_vim_block_is_bidirectional():
    """Output token 0 depends on the last input token (the backward scan); a forward-only scan
    could not see it."""
    torch.manual_seed(0)
    block = tt.BiS6Block(8)
    tokens = torch.randn(1, 6, 8, requires_grad=True)
    block(tokens)[0, 0].sum().backward()
    assert tokens.grad[0, -1].abs().sum() > 0
    tokens.grad = None
    block(tokens)[0, -1].sum().backward()
    assert tokens.grad[0, 0].abs().sum() > 0


def test_backbones_expose_features_and_logits():
    x = torch.rand(3, 3, 32, 32)
    for backbone in tt.SIZES:
        sizes = [tt.parameter_count(tt.build_backbone(backbone, s)) for s in tt.SIZES[backbone]]
        assert sizes == sorted(sizes)                               # sizes grow
        m = tt.build_backbone(backbone, "t")
        assert m.features(x).shape == (3, m.feature_dim) and m.logits(x).shape == (3, tt.N_SOURCE)


def test_tasks_are_seeded_and_target_splits_disjoint():
    a, ya = tt.render_source_task(2, seed=3)
    b, _ = tt.render_source_task(2, seed=3)
    assert a.shape == (128, 3, 32, 32) and np.array_equal(a, b) and 0 <= a.min() and a.max() <= 1
    assert np.bincount(ya).tolist() == [2] * 64
    for name in ("glyphs", "textures"):
        images, labels, split = tt.target_split(name, n_train=6, n_test=4, seed=0)
        assert images.shape == (100, 3, 32, 32) and np.bincount(labels[split.test]).tolist() == [4] * 10
        assert np.intersect1d(split.train, split.test).size == 0


def test_pretraining_is_cached_by_config_and_seed(tmp_path, monkeypatch):
    monkeypatch.setenv("LEMMATA_CACHE_DIR", str(tmp_path))
    m1, info1 = tt.pretrain("vit", "t", seed=0, n_per_class=2, epochs=1)
    m2, info2 = tt.pretrain("vit", "t", seed=0, n_per_class=2, epochs=1)
    assert not info1["cached"] and info2["cached"] and info1["path"] == info2["path"]
    for p, q in zip(m1.state_dict().values(), m2.state_dict().values()):
        assert torch.equal(p, q)
    _, info3 = tt.pretrain("vit", "t", seed=1, n_per_class=2, epochs=1)
    assert info3["path"] != info1["path"] and not info3["cached"]
    assert all(not p.requires_grad for p in m2.parameters())


def test_visual_prompt_follows_the_documented_order(tmp_path, monkeypatch):
    monkeypatch.setenv("LEMMATA_CACHE_DIR", str(tmp_path))
    model, info = tt.pretrain("vim", "t", seed=0, n_per_class=2, epochs=1)
    images, labels, split = tt.target_split("glyphs", n_train=4, n_test=3, seed=0)
    train = tr.few_shot_pool(split, labels, 2, seed=0)
    mean, std = np.array(info["mean"], dtype=np.float32), np.array(info["std"], dtype=np.float32)
    res = tt.train_visual_prompt(model, images[train], labels[train], images[split.test], labels[split.test],
                                 n_classes=10, image_size=16, mean=mean, std=std, epochs=3, seed=0)
    assert len(set(res.mapping)) == 10 and res.active_parameters == 3 * (32 ** 2 - 16 ** 2)
    g = tr.frame_prompt_geometry(16, 32)
    inner = res.prompt[:, g.pad_before:g.pad_before + 16, g.pad_before:g.pad_before + 16]
    assert np.all(inner == 0) and np.all(res.prompt[:, 0, :] > 0)
    # recompute: resize -> pad -> + prompt -> normalise -> source logits -> mapped columns
    x = torch.nn.functional.interpolate(torch.tensor(images[split.test]), size=(16, 16), mode="bilinear",
                                        align_corners=False, antialias=True)
    x = torch.tensor(tr.pad_to_canvas(x.numpy(), 32), dtype=torch.float32) + torch.tensor(res.prompt)
    x = (x - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1)
    with torch.no_grad():
        pred = model.logits(x)[:, list(res.mapping)].argmax(1).numpy()
    assert np.mean(pred == labels[split.test]) == pytest.approx(res.test_accuracy, abs=1e-12)


def test_adam_schedule_approaches_the_lbfgs_optimum():
    """Same convex objective: L-BFGS's optimum is the global minimum, so the Adam schedule's
    final loss is no lower (up to float64 round-off) and, on separable-ish data, close to it."""
    rng = np.random.default_rng(1)
    y = np.repeat(np.arange(4), 30)
    X = rng.normal(size=(120, 6)) + 2.0 * np.eye(4, 6)[y]
    lb = tr.linear_probe(X, y, X, y, l2=1e-2)
    ad = tr.linear_probe(X, y, X, y, l2=1e-2, method="adam", epochs=200, lr=0.01, batch_size=32)
    assert ad.loss >= lb.loss - 1e-9
    assert ad.loss - lb.loss < 0.02 * lb.loss
