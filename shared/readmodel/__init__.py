"""Rebuildable read models in blue/green slots (see ``slots``, ``rebuild``, ``verify``)."""
