"""The PyTorch MQAR mixers (deep extra) are the numerics.dsf models with the same parameters:
forward passes agree to 1e-12 with ``dsf.from_architecture(...).run`` (an independent
implementation: factored recurrences / chunked / materialised NumPy code); training runs."""

import numpy as np
import pytest

pytestmark = pytest.mark.torch


@pytest.mark.parametrize("kind", ["softmax", "linear", "normalized", "s6", "ssd"])
def test_mixer_equals_the_dsf_model(kind):
    torch = pytest.importorskip("torch")
    from lemmata.numerics import dsf, torch_dsf

    torch.manual_seed(0)
    mixer = torch_dsf.DSFMixer(kind, 6, 3)
    with torch.no_grad():                       # move the parameters off their initial values
        for p in mixer.parameters():
            p.add_(0.3 * torch.randn_like(p))
    x = torch.randn(2, 13, 6, dtype=torch.float64)
    with torch.no_grad():
        y = mixer(x).numpy()
    model = dsf.from_architecture(torch_dsf.MIXERS[kind], mixer.dsf_params(), 6)
    for method in ("materialized",) if kind == "softmax" else ("recurrent", "chunked", "materialized"):
        ref = model.run(x.numpy(), method)
        assert np.max(np.abs(y - ref)) <= 1e-12 * np.max(np.abs(ref))


def test_training_runs_and_reports_an_accuracy():
    pytest.importorskip("torch")
    from lemmata.numerics import torch_dsf

    out = torch_dsf.train_mqar("ssd", d=16, n=8, L=16, n_kv=2, vocab=16, steps=5, batch=8, n_test=32)
    assert 0.0 <= out["accuracy"] <= 1.0 and out["stderr"] >= 0 and np.isfinite(out["loss"])
    with pytest.raises(ValueError, match="`kind`"):
        torch_dsf.train_mqar("gru", d=16, n=8, L=16, n_kv=2)
