r"""Colour refinements that bound what message passing can separate (arXiv:2312.01538).

* 1-WL: :math:`c_v^{t+1}=\mathrm{HASH}(c_v^t,\{\!\{c_u^t:u\in N_1(v)\}\!\})`.
* SPD-WL(K): :math:`c_v^{t+1}=\mathrm{HASH}(c_v^t,\{\!\{c_u^t:d(u,v)=1\}\!\},\dots,\{\!\{c_u^t:d(u,v)=K\}\!\})`,
  the refinement that bounds stacks of GRED layers with a sum readout; SPD-WL(1) = 1-WL.

Two graphs are refined together (one colour dictionary for both, so equal colours mean equal
refinement histories) until the joint partition stops changing; they are separated when their
colour histograms differ at some round.
"""

from __future__ import annotations

from collections import Counter

import networkx as nx

from lemmata.analysis.validation import one_of
from lemmata.numerics.arrays import ArrayTypeError, InvalidArrayError, integer

from .distance import distance_chains

__all__ = ["refine", "distinguishes", "invariant"]


def _shells(G, K):
    chains = distance_chains(G, K)
    nodes = chains.nodes
    return nodes, [[[nodes[u] for u in chains.shell(i, k)] for k in range(1, K + 1)]
                   for i in range(len(nodes))]


def _spd_K(method, K):
    if method == "1wl":
        return 1
    if K is None:
        raise InvalidArrayError("`K` must be a positive integer for method='spd'; got None.")
    try:
        return integer("K", K, minimum=1)
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"{exc} (`K` must be a positive integer for method='spd')") from None


def refine(graphs, *, method: str = "1wl", K: int | None = None, max_rounds: int | None = None):
    """Joint colour refinement of ``graphs``; returns the list of colour histograms per round
    (a list over rounds of lists over graphs of ``Counter`` objects)."""
    one_of("method", method, ("1wl", "spd"))
    K = _spd_K(method, K)
    if max_rounds is not None:
        max_rounds = integer("max_rounds", max_rounds, minimum=0)
    if isinstance(graphs, nx.Graph) or not hasattr(graphs, "__iter__"):
        raise ArrayTypeError(f"`graphs` must be a list of NetworkX graphs; got {type(graphs).__name__}.")
    data = []
    for i, G in enumerate(graphs):
        if not isinstance(G, nx.Graph):
            raise ArrayTypeError(f"`graphs[{i}]` must be a NetworkX graph; got {type(G).__name__}.")
        if G.is_directed():
            raise ValueError("colour refinement here is for undirected graphs; got a directed graph.")
        nodes, shells = _shells(G, K)
        data.append((nodes, shells))
    colours = [{v: 0 for v in nodes} for nodes, _ in data]
    histories = [[Counter(c.values()) for c in colours]]
    n_max = max((len(nodes) for nodes, _ in data), default=0)
    rounds = max_rounds if max_rounds is not None else n_max + 1
    n_classes = 1
    for _ in range(rounds):
        signatures = []
        for (nodes, shells), colour in zip(data, colours):
            signatures.append({v: (colour[v],) + tuple(tuple(sorted(colour[u] for u in shell))
                                                        for shell in shells[i])
                               for i, v in enumerate(nodes)})
        palette = {sig: j for j, sig in enumerate(sorted({s for sig in signatures for s in sig.values()}))}
        colours = [{v: palette[s] for v, s in sig.items()} for sig in signatures]
        histories.append([Counter(c.values()) for c in colours])
        if len(palette) == n_classes:           # the joint partition is stable
            break
        n_classes = len(palette)
    return histories


def distinguishes(G1, G2, method: str = "1wl", K: int | None = None) -> bool:
    """Whether the refinement separates ``G1`` and ``G2`` (their colour histograms differ at some
    round of the joint refinement). Graphs of different orders are always separated."""
    if not (isinstance(G1, nx.Graph) and isinstance(G2, nx.Graph)):
        raise TypeError("`G1` and `G2` must be NetworkX graphs.")
    if G1.number_of_nodes() != G2.number_of_nodes():
        return True
    return any(h[0] != h[1] for h in refine([G1, G2], method=method, K=K))


def invariant(G, *, method: str = "1wl", K: int | None = None, rounds: int | None = None,
              palette: dict | None = None) -> tuple:
    """A graph invariant from the refinement: the colour histograms of every round, with colours
    named through ``palette`` (a dict shared by all graphs compared, so equal names mean equal
    refinement histories). Two graphs of the same order with different invariants are separated
    by the refinement; equal invariants over ``rounds >= n`` rounds mean they are not."""
    one_of("method", method, ("1wl", "spd"))
    K = _spd_K(method, K)
    if not isinstance(G, nx.Graph):
        raise ArrayTypeError(f"`G` must be a NetworkX graph; got {type(G).__name__}.")
    if rounds is not None:
        rounds = integer("rounds", rounds, minimum=0)
    if palette is not None and not isinstance(palette, dict):
        raise ArrayTypeError(f"`palette` must be a dict shared by the graphs compared; got {type(palette).__name__}.")
    palette = {} if palette is None else palette
    nodes, shells = _shells(G, K)
    colour = {v: 0 for v in nodes}
    history = []
    for _ in range(rounds if rounds is not None else len(nodes)):
        signature = {v: (colour[v],) + tuple(tuple(sorted(colour[u] for u in shell)) for shell in shells[i])
                     for i, v in enumerate(nodes)}
        colour = {v: palette.setdefault(sig, len(palette)) for v, sig in signature.items()}
        history.append(tuple(sorted(Counter(colour.values()).items())))
    return tuple(history)
