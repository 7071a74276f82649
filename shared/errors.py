"""Domain exceptions. Each carries a message a person can act on; the API maps the class to
an HTTP status (see ``shared.http``), so no route decides statuses by itself."""

from __future__ import annotations


class DomainError(Exception):
    """Base: a request the domain refuses. Nothing has been written when it is raised."""

    status_code = 400
    code = "domain_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(DomainError):
    """The request is well-formed but its values break a rule (HTTP 422)."""

    status_code = 422
    code = "invalid_input"


class NotFound(DomainError):
    status_code = 404
    code = "not_found"


class Forbidden(DomainError):
    status_code = 403
    code = "forbidden"


class Unauthenticated(DomainError):
    status_code = 401
    code = "unauthenticated"


class Conflict(DomainError):
    """The request is not allowed in the current state (an illegal transition, a duplicate)."""

    status_code = 409
    code = "conflict"


class ConcurrencyError(Conflict):
    """Another writer changed the stream since it was read; reload and try again."""

    code = "concurrent_update"


class Unavailable(DomainError):
    """A dependency (database, broker) cannot be reached right now (HTTP 503)."""

    status_code = 503
    code = "unavailable"
