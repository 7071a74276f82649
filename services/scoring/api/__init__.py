"""HTTP edge of the scoring service: request -> command -> handler -> response."""

from services.scoring.api import board, policies, public, queries, results

routers = [policies.router, results.router, queries.router, board.router, public.router]

__all__ = ["routers"]
