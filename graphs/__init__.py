"""lemmata.graphs: shortest-distance chains, hop aggregation and colour refinements
(arXiv:2312.01538, GRED). The GRED layer itself is not built yet."""

from .distance import DistanceChains, distance_chains, hop_aggregate, hop_counts, hop_masks, to_csr
from .wl import distinguishes, refine

__all__ = ["DistanceChains", "distance_chains", "hop_counts", "hop_masks", "hop_aggregate", "to_csr",
           "distinguishes", "refine"]
