"""HTTP edge of the scoring service: request -> command -> handler -> response."""

from services.scoring.api import board, policies, queries, results

routers = [policies.router, results.router, queries.router, board.router]

__all__ = ["routers"]
