"""lemmata.graphs: shortest-distance chains, hop aggregation and colour refinements
and the GRED layer's forward pass (arXiv:2312.01538)."""

from .distance import DistanceChains, distance_chains, hop_aggregate, hop_counts, hop_masks, to_csr
from .gred import GREDLayer, gred_batch, gred_layer, gred_model, init_gred_layer, normalised_gain
from .wl import distinguishes, invariant, refine

__all__ = ["DistanceChains", "distance_chains", "hop_counts", "hop_masks", "hop_aggregate", "to_csr",
           "distinguishes", "refine", "invariant", "GREDLayer", "init_gred_layer", "gred_layer", "gred_model",
           "gred_batch", "normalised_gain"]
