"""Why a side effect did not happen, and whether trying again later can help (the job queue asks)."""

from __future__ import annotations


class DeliveryError(Exception):
    """A failed delivery. `retryable`: a later attempt may succeed (network, 5xx, 429, SMTP 4xx);
    otherwise the job should fail for good (a refused address, a 4xx, a forbidden target)."""

    def __init__(self, message: str, *, retryable: bool, status: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.status = status
        self.retry_after = retry_after


class EmailDeliveryError(DeliveryError):
    pass
