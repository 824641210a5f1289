"""
The errors the device API answers with, each a status, a stable machine code
and a sentence for a person (DESIGN §4).
"""

from dataclasses import dataclass, field


@dataclass
class ApiError(Exception):
    """An answer other than success; ``error`` is part of the contract, ``detail`` is not."""

    status: int
    error: str
    detail: str
    headers: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.status} {self.error}"


def credential_invalid() -> ApiError:
    return ApiError(
        401,
        "credential_invalid",
        "The device credential is missing, unknown or revoked; send it as 'Authorization: Bearer <credential>', "
        "or register the device again with a new code.",
        {"WWW-Authenticate": 'Bearer realm="device"'},
    )


def database_unavailable() -> ApiError:
    return ApiError(
        503,
        "database_unavailable",
        "The server cannot reach its database; try again shortly.",
        {"Retry-After": "5"},
    )


def license_inactive() -> ApiError:
    return ApiError(
        403,
        "license_inactive",
        "The license assigned to this device is expired, suspended or missing; ask a Back Office administrator.",
    )


def code_invalid() -> ApiError:
    return ApiError(
        400,
        "code_invalid",
        "This registration code is not valid; check it, or ask a Back Office administrator for a new one.",
    )


def code_expired() -> ApiError:
    return ApiError(
        410, "code_expired", "This registration code has expired; ask a Back Office administrator to replace it."
    )


def code_used() -> ApiError:
    return ApiError(409, "code_used", "This registration code has already been used; each code works once.")


def rate_limited(retry_after_seconds: int) -> ApiError:
    return ApiError(
        429,
        "rate_limited",
        f"Too many failed registration attempts; try again in {retry_after_seconds} seconds.",
        {"Retry-After": str(retry_after_seconds)},
    )


def payload_too_large() -> ApiError:
    return ApiError(413, "payload_too_large", "The request body is larger than this API accepts.")


def not_found() -> ApiError:
    return ApiError(404, "not_found", "There is no such call in the device API; see /api/device/v1/docs.")


def method_not_allowed(allowed: str) -> ApiError:
    return ApiError(
        405, "method_not_allowed", f"This call does not accept this method; it accepts {allowed}.", {"Allow": allowed}
    )


def client_not_available() -> ApiError:
    return ApiError(
        403,
        "client_not_available",
        "This client is not available on this device; fetch the configuration for the clients it may choose.",
    )
