"""Bad inputs of the few-shot transfer protocols (lemmata.numerics.transfer, lemmata.analysis.transfer)."""

import numpy as np

from lemmata.analysis import transfer as A
from lemmata.analysis.errors import AssumptionError
from lemmata.numerics import transfer as T

N = "lemmata.numerics.transfer."
AN = "lemmata.analysis.transfer."
_Y = np.array([0, 0, 0, 1, 1, 1])
_NAN = np.array([[1.0, np.nan], [0.0, 1.0]])
_ROWS2 = [dict(backbone=b, dataset="d", budget=1, seed=0, method=m, accuracy=0.5, params=p)
          for b, p in (("a", 1e3), ("b", 1e4)) for m in ("LP", "VP")]
_ROWS3 = [dict(backbone=b, dataset="d", budget=1, seed=s, method=m, accuracy=0.5 + 0.01 * s, params=p, family=b)
          for b, p in (("a", 1e3), ("b", 1e4), ("c", 1e5)) for m in ("LP", "VP") for s in (0, 1)]

CASES = [
    (N + "few_shot_indices", lambda: T.few_shot_indices(_Y, 5, seed=0), AssumptionError,
     ["`n_shot`", "allow_short"]),
    (N + "few_shot_indices", lambda: T.few_shot_indices([0, 3, -1], 1, seed=0), ValueError, ["`labels`", "0..C-1"]),
    (N + "few_shot_budget", lambda: T.few_shot_budget(_Y, 0), ValueError, ["`n_shot`", "positive integer"]),
    (N + "batch_size_for", lambda: T.batch_size_for("all"), ValueError, ["`n_shot`", "'full'"]),
    (N + "make_split", lambda: T.make_split(5, [0, 1], [1, 2]), AssumptionError, ["`train`", "disjoint"]),
    (N + "Split", lambda: T.Split(np.array([0, 9]), np.array([1]), 5), ValueError, ["`train`", "0..4"]),
    (N + "stratified_split", lambda: T.stratified_split(_Y, 1.5, seed=0), ValueError, ["`test_fraction`", "(0, 1)"]),
    (N + "few_shot_pool", lambda: T.few_shot_pool("train", _Y, 1, seed=0), TypeError, ["`split`", "Split"]),
    (N + "linear_probe", lambda: T.linear_probe(_NAN, [0, 1], np.ones((2, 2)), [0, 1]), ValueError,
     ["`train_features`", "finite", "nan"]),
    (N + "linear_probe", lambda: T.linear_probe(np.ones((2, 2)), [0, 2], np.ones((2, 2)), [0, 1], n_classes=2),
     ValueError, ["`train_labels`", "0..1"]),
    (N + "label_mapping_counts", lambda: T.label_mapping_counts([0, 1], [0, 1, 1], 3), ValueError,
     ["`source_predictions`", "one entry per target label"]),
    (N + "ilm_mapping", lambda: T.ilm_mapping([0, 5], [0, 1], 3), ValueError, ["`source_predictions`", "0..2"]),
    (N + "ilm_mapping", lambda: T.ilm_mapping([0, 1, 1], [0, 1, 2], 2), ValueError, ["`n_source`", "at least"]),
    (N + "mapping_total", lambda: T.mapping_total(np.ones((3, 2)), [0]), ValueError, ["`mapping`", "one entry"]),
    (N + "frame_prompt_geometry", lambda: T.frame_prompt_geometry(64, 32), ValueError, ["`canvas`", "at least", "64"]),
    (N + "frame_mask", lambda: T.frame_mask(0), ValueError, ["`image_size`", "positive integer"]),
    (N + "pad_to_canvas", lambda: T.pad_to_canvas(np.ones((3, 8, 8)), 4), ValueError, ["`canvas`", "at least"]),
    (N + "critical_r", lambda: T.critical_r(2), ValueError, ["`n_models`", ">= 3"]),
    (N + "correlation_power", lambda: T.correlation_power(1.0, 5), ValueError, ["`rho`", "(-1, 1)"]),
    (N + "permutation_pvalue", lambda: T.permutation_pvalue([1, 2], [3, 4]), ValueError, ["`n_models`", ">= 3"]),
    (N + "gap_statistics", lambda: T.gap_statistics(_ROWS2), ValueError, ["`table`", "at least 3 models"]),
    (N + "gap_statistics", lambda: T.gap_statistics([dict(_ROWS3[0], accuracy=float("nan"))] + _ROWS3[1:]),
     ValueError, ["`table`", "finite", "nan"]),
    (N + "family_difference", lambda: T.family_difference(_ROWS3, "LP", "a", "z"), ValueError,
     ["`family_b`", "'z'"]),
    (AN + "critical_r_expression", lambda: A.critical_r_expression(n=2), ValueError, ["`n`", ">= 3"]),
    (AN + "prompt_counts", lambda: A.prompt_counts(16, 32), ValueError,
     ["`canvas`", "at least"]),
]

EXEMPT = {
    N + "FewShotBudget": "a result object built by few_shot_budget from validated input",
    N + "ProbeResult": "a result object built by linear_probe from validated input",
    N + "PromptGeometry": "a result object built by frame_prompt_geometry from validated input",
    N + "CellSummary": "a result row built by gap_statistics from a validated table",
    N + "GapSummary": "a result row built by gap_statistics from a validated table",
    N + "PermutationTest": "a result object built by permutation_pvalue from validated input",
    N + "GapStatistics": "a result object built by gap_statistics from a validated table",
    N + "FamilyComparison": "a result object built by family_difference from a validated table",
}
EXEMPT.update({
    AN + "t_statistic_expression": "builds a fixed symbolic expression; takes no argument",
    AN + "prompt_geometry": "builds a fixed symbolic expression; takes no argument",
    AN + "probe_parameters": "builds a fixed symbolic expression; takes no argument",
})

try:
    import torch  # noqa: F401
except ImportError:          # the deep extra is absent: its module is not public here
    torch = None

if torch is not None:
    from lemmata.numerics import torch_transfer as TT

    TN = "lemmata.numerics.torch_transfer."
    _img = np.zeros((2, 3, 8, 8), dtype=np.float32)
    CASES += [
        (TN + "s6_scan", lambda: TT.s6_scan(*(torch.ones(2, 2),) * 2, torch.ones(2, 2), torch.ones(2, 2),
                                            discretization="rk4"), ValueError, ["`discretization`", "'zoh'"]),
        (TN + "build_backbone", lambda: TT.build_backbone("resnet", "t"), ValueError, ["`backbone`", "'vim'"]),
        (TN + "render_source_task", lambda: TT.render_source_task(0, seed=0), ValueError,
         ["`n_per_class`", "positive integer"]),
        (TN + "render_target_task", lambda: TT.render_target_task("cifar", 2, seed=0), ValueError,
         ["`name`", "'glyphs'"]),
        (TN + "target_split", lambda: TT.target_split("mnist"), ValueError, ["`name`", "'textures'"]),
        (TN + "pretrain", lambda: TT.pretrain("vim", "xl", epochs=1), ValueError, ["`size`", "'t'"]),
        (TN + "extract_features", lambda: TT.extract_features(None, np.full((1, 3, 4, 4), np.nan), mean=[0] * 3,
                                                              std=[1] * 3), ValueError, ["`images`", "finite"]),
        (TN + "train_visual_prompt", lambda: TT.train_visual_prompt(None, _img, [0, 1], _img, [0, 1], n_classes=2,
                                                                    image_size=48, mean=[0] * 3, std=[1] * 3),
         ValueError, ["`canvas`", "at least"]),
        (TN + "train_visual_prompt", lambda: TT.train_visual_prompt(None, _img + 2, [0, 1], _img, [0, 1], n_classes=2,
                                                                    image_size=16, mean=[0] * 3, std=[1] * 3),
         ValueError, ["`train_images`", "[0, 1]"]),
    ]
    EXEMPT.update({
        TN + "BiS6Block": "a torch module; built with validated sizes by build_backbone",
        TN + "TinyVim": "a torch module; built with validated sizes by build_backbone",
        TN + "TinyViT": "a torch module; built with validated sizes by build_backbone",
        TN + "VPResult": "a result object built by train_visual_prompt",
        TN + "parameter_count": "counts the parameters of any torch module; nothing to validate",
        TN + "transfer_cache_dir": "takes no argument (reads LEMMATA_CACHE_DIR)",
        TN + "normalise": "tensor arithmetic on images already validated by its callers",
        TN + "adam_probe": "the optimiser behind linear_probe(method='adam'), which validates the inputs",
    })
    CASES += [
        (TN + "transfer_task", lambda: TT.transfer_task("vim", "t", "glyphs", 1, "XP", 0), ValueError,
         ["`method`", "'LP'", "'VP'", "XP"]),
        (TN + "proxy_table", lambda: TT.proxy_table(methods=("XP",), budgets=(1,), seeds=(0,), sizes=("t",),
                                                     backbones=("vim",)), ValueError, ["`method`", "XP"]),
    ]
