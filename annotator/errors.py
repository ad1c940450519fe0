"""Domain errors: each has a stable snake_case `code`; the API maps them to statuses.

No Flask here: domains raise these, `annotator/api/errors.py` turns them into
problem+json with the status from ONE table.
"""
from __future__ import annotations


class DomainError(Exception):
    code = "domain_error"
    title = "The request could not be completed"

    def __init__(self, detail: str | None = None, **extra: object) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.extra = extra


class InvalidInput(DomainError):
    """Fields that break a rule; `fields` maps a field path to its messages."""

    code = "invalid_fields"
    title = "Some fields are invalid"

    def __init__(self, fields: dict[str, list[str]], detail: str | None = None, **extra: object):
        super().__init__(detail or "; ".join(f"{k}: {' '.join(v)}" for k, v in fields.items()), **extra)
        self.fields = fields


class MalformedBody(DomainError):
    code = "malformed_body"
    title = "The request body could not be read"


class UnsupportedMediaType(DomainError):
    code = "unsupported_media_type"
    title = "Unsupported content type"


class NotAuthenticated(DomainError):
    code = "not_authenticated"
    title = "Sign in to continue"


class InvalidCredentials(NotAuthenticated):
    code = "invalid_credentials"
    title = "Wrong email or password"


class PermissionDenied(DomainError):
    code = "forbidden"
    title = "You are not allowed to do this"


class CsrfFailed(PermissionDenied):
    code = "csrf_failed"
    title = "Missing or wrong CSRF token"


class SignupClosed(PermissionDenied):
    code = "signup_closed"
    title = "Sign-up is closed on this server"


class NotFound(DomainError):
    code = "not_found"
    title = "Not found"


class Conflict(DomainError):
    code = "conflict"
    title = "Conflict with the current state"


class EmailTaken(Conflict):
    code = "email_taken"
    title = "An account with this email already exists"


class RateLimited(DomainError):
    code = "rate_limited"
    title = "Too many attempts"

    def __init__(self, retry_after: int, detail: str | None = None) -> None:
        super().__init__(detail or f"Too many attempts; try again in {retry_after} seconds.")
        self.retry_after = retry_after


class ServiceUnavailable(DomainError):
    code = "service_unavailable"
    title = "A service this needs is down"


class PayloadTooLarge(DomainError):
    code = "payload_too_large"
    title = "Too much in one request"


class NotQualified(PermissionDenied):
    code = "not_qualified"
    title = "Your gold accuracy is below this project's bar"


class ProjectNotActive(Conflict):
    code = "project_not_active"
    title = "The project is not taking annotations"


class LeaseExpired(Conflict):
    code = "lease_expired"
    title = "The lease has expired"


class AssignmentClosed(Conflict):
    code = "assignment_closed"
    title = "This assignment is no longer open"


class NotYourAssignment(Conflict):
    code = "not_your_assignment"
    title = "This assignment belongs to someone else"


class TaskCompleted(Conflict):
    code = "task_completed"
    title = "The task is complete"


class IdempotencyKeyReused(Conflict):
    code = "idempotency_key_reused"
    title = "This Idempotency-Key was used for a different request"


class InsufficientFunds(Conflict):
    code = "insufficient_funds"
    title = "The balance cannot cover this"


class BalanceLimit(Conflict):
    code = "balance_limit"
    title = "The ledger cannot hold this amount"


class BudgetExhausted(Conflict):
    code = "budget_exhausted"
    title = "The project's budget cannot pay for another task"


class AboveBalance(InvalidInput):
    code = "above_balance"
    title = "More than your available balance"


class AlreadyDecided(Conflict):
    code = "already_decided"
    title = "This has already been decided"


class TermsNotAccepted(Conflict):
    code = "terms_not_accepted"
    title = "Accept the project's revenue-sharing terms first"


class AppealWindowClosed(Conflict):
    code = "appeal_window_closed"
    title = "The time to appeal this review has passed"


class InvalidSignature(NotAuthenticated):
    code = "invalid_signature"
    title = "The notification's signature does not check out"


class StaleSignature(InvalidSignature):
    code = "stale_signature"
    title = "The notification's signature is too old or from the future"


class AmountMismatch(Conflict):
    code = "amount_mismatch"
    title = "The amount paid is not the amount asked for"


class OwnAccount(Conflict):
    code = "own_account"
    title = "Not on your own account"


class LastAdmin(Conflict):
    code = "last_admin"
    title = "The platform must keep an administrator"
