"""The pledges service's HTTP edge: routers that translate requests into commands and
queries. No rules here (STYLE.md, principle 3)."""

from services.pledges.api import directory, planning, pledges, queries, roster

routers = (roster.router, planning.router, pledges.router, queries.router, directory.router)

__all__ = ["routers"]
