"""Domain errors: services raise them, entrypoints translate them (each has a stable code)."""


class DomainError(Exception):
    code = "domain_error"
    status = 400

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(DomainError):
    code = "not_found"
    status = 404


class Conflict(DomainError):
    code = "conflict"
    status = 409


class InvalidTransition(DomainError):
    code = "invalid_transition"
    status = 409


class ValidationFailed(DomainError):
    code = "validation_failed"
    status = 422


class PermissionDenied(DomainError):
    code = "forbidden"
    status = 403


class Unavailable(DomainError):
    """A part the request needs is not ready; retrying later or an admin action helps."""

    code = "unavailable"
    status = 503
