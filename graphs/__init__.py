"""lemmata.graphs: shortest-distance chains and graph models (see the GRED issue)."""

__all__: list = []
