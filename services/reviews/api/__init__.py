"""The reviews service's HTTP edge: request -> command -> handler -> response. No rules."""

from services.reviews.api import ballots, periods, reports

routers = [periods.router, ballots.router, reports.router]

__all__ = ["routers"]
