"""The pledges service's read models: the query tables, how events update them, and the
queries that read them."""

from services.pledges.projections.apply import project

__all__ = ["project"]
