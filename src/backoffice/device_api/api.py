"""
The device API: the calls the ReconPro app makes (DESIGN §4, docs/device-api.md).

Endpoints parse, call a service or a selector, and answer; nothing else. An
authenticated call runs inside the device's company scope, opened from the
device its credential belongs to. Every error, whatever the request, is JSON
``{"error": <machine code>, "detail": <sentence>}``.

The check-in, the API's hottest call, has a second way in besides its Ninja
operation: ``check_in_direct``, which ``DeviceApiMiddleware`` calls for
``POST /check-ins`` (``DEVICE_API_DIRECT_CHECK_INS``). A well-formed call is
answered there, with the same parsing, authentication, service calls and
answer as the operation's but without Ninja's per-operation machinery (the
authentication class, parameter resolution, the temporal response, the
decorators), which costs more than the check-in itself. Anything unusual
before the check-in is entered falls back to the operation, and a failure
after that is answered by the operation's exception handlers, so every error
answer comes from one implementation.
"""

import json
import logging
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.utils.http import parse_etags
from ninja import NinjaAPI, Router, Status
from ninja.errors import AuthenticationError, HttpError, ValidationError

from backoffice.core.http import client_address
from backoffice.device_api import errors
from backoffice.device_api.auth import DeviceBearer, bearer_credential, confirmed_device
from backoffice.device_api.schemas import (
    CheckInIn,
    CheckInOut,
    ConfigOut,
    DocumentIn,
    DocumentOut,
    ErrorOut,
    HealthOut,
    RegistrationIn,
    RegistrationOut,
)
from backoffice.device_api.selectors import database_answers, device_config_etag, device_config_with_etag
from backoffice.device_api.services import device_check_in_confirmed, device_document_record, device_register
from backoffice.devices.models import Device
from backoffice.documents.services import ClientNotAvailable
from backoffice.tenancy.scoping import company_scope

logger = logging.getLogger(__name__)

DESCRIPTION = """
The API the ReconPro app calls. A device registers once by redeeming the
registration code an administrator issued (`POST /registrations`) and receives
a credential, which it sends on every later call as
`Authorization: Bearer <credential>` (never in a query string or a cookie).

Every error is JSON `{"error": "<machine code>", "detail": "<sentence>"}`;
the machine codes are stable, the sentences are not. Requests are strict:
unknown fields, values of the wrong type, over-long texts and texts with a
control character (or, in what the device reports about itself, an invisible
or bidi character) are refused with `422 invalid_request`, bodies that are not
JSON with `400 malformed_request`.
"""

api = NinjaAPI(
    title="ReconPro device API",
    version="1",
    description=DESCRIPTION,
    urls_namespace="device_api",
    openapi_url="/openapi.json",
    docs_url="/docs",
)

AUTH_ERRORS: dict[int, Any] = {401: ErrorOut, 403: ErrorOut}
BODY_ERRORS: dict[int, Any] = {400: ErrorOut, 413: ErrorOut, 422: ErrorOut}


def error_response(request: HttpRequest, error: errors.ApiError) -> HttpResponse:
    response = api.create_response(request, {"error": error.error, "detail": error.detail}, status=error.status)
    for name, value in error.headers.items():
        response[name] = value
    return response


@api.exception_handler(errors.ApiError)
def on_api_error(request: HttpRequest, exc: errors.ApiError) -> HttpResponse:
    return error_response(request, exc)


@api.exception_handler(ValidationError)
def on_validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    """Name every refused field and why, without echoing the values (one of them may be a code)."""
    problems = []
    for item in exc.errors[:10]:
        location = [str(part) for part in item.get("loc", ()) if part not in ("body", "payload")]
        problems.append(f"{'.'.join(location) or 'body'}: {item.get('msg', 'invalid')}")
    detail = "The request was refused: " + "; ".join(problems) + "." if problems else "The request was refused."
    return error_response(request, errors.ApiError(422, "invalid_request", detail))


@api.exception_handler(DjangoValidationError)
def on_service_refusal(request: HttpRequest, exc: DjangoValidationError) -> HttpResponse:
    """
    A service refused a value the schema let through: the same ``422
    invalid_request`` as a refused body, naming the fields and the service's
    sentences (which never quote the values).
    """
    if hasattr(exc, "error_dict"):
        problems = [f"{name}: {' '.join(messages).rstrip('.')}" for name, messages in exc.message_dict.items()]
    else:
        problems = [message.rstrip(".") for message in exc.messages]
    detail = "The request was refused: " + "; ".join(problems)[:500] + "." if problems else "The request was refused."
    return error_response(request, errors.ApiError(422, "invalid_request", detail))


@api.exception_handler(AuthenticationError)
def on_authentication_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return error_response(request, errors.credential_invalid())


@api.exception_handler(HttpError)
def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    if exc.status_code == 400:
        error = errors.ApiError(400, "malformed_request", "The request body is not valid JSON.")
    else:
        error = errors.ApiError(exc.status_code, "http_error", str(exc))
    return error_response(request, error)


@api.exception_handler(RequestDataTooBig)
def on_request_too_big(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
    return error_response(request, errors.payload_too_large())


@api.exception_handler(Http404)
def on_not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return error_response(request, errors.not_found())


@api.exception_handler(Exception)
def on_unexpected_error(request: HttpRequest, exc: Exception) -> HttpResponse:
    """A bug: logged with its traceback, and answered in the API's JSON shape all the same."""
    logger.exception("Device API error on %s %s", request.method, request.path)
    return error_response(request, errors.ApiError(500, "internal_error", "The server failed; try again later."))


def bounded_body(run: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Refuse a body over ``DEVICE_API_MAX_BODY_BYTES`` before anything parses it."""

    @wraps(run)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        try:
            size = len(request.body)
        except RequestDataTooBig:
            return error_response(request, errors.payload_too_large())
        if size > settings.DEVICE_API_MAX_BODY_BYTES:
            return error_response(request, errors.payload_too_large())
        return run(request, *args, **kwargs)

    return wrapper


api.add_decorator(bounded_body, mode="view")


def confirms_its_credential(view: Callable[..., Any]) -> Callable[..., Any]:
    """Mark an operation that confirms a provisional device itself (the check-in, with its write)."""
    view.confirms_credential = True  # type: ignore[attr-defined]
    return view


def in_device_company_scope(view: Callable[..., Any]) -> Callable[..., Any]:
    """
    Run an authenticated endpoint inside the company scope of the device that
    called, once the device is confirmed (``auth.confirmed_device``: a held
    copy is checked against its company's generation here, after the body
    was validated), unless the operation confirms it itself.
    """

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        device: Device = request.auth  # type: ignore[attr-defined]
        if not getattr(view, "confirms_credential", False):
            device = confirmed_device(device)
            request.auth = device  # type: ignore[attr-defined]
        with company_scope(device.company):
            return view(request, *args, **kwargs)

    return wrapper


device_bearer = DeviceBearer()
device_router = Router(auth=device_bearer, tags=["device"])
device_router.add_decorator(in_device_company_scope, mode="operation")


@api.get(
    "/health",
    response=HealthOut,
    auth=None,
    tags=["service"],
    summary="Answer that the server runs",
    operation_id="health",
)
def health(request: HttpRequest) -> dict[str, Any]:
    """Answer `200 {}` without authentication or database work: for load balancers and as a baseline."""
    return {}


@api.get(
    "/ready",
    response={200: HealthOut, 503: ErrorOut},
    auth=None,
    tags=["service"],
    summary="Answer that the server and its database run",
    operation_id="ready",
)
def ready(request: HttpRequest) -> dict[str, Any]:
    """
    Answer `200 {}` once the database answered one trivial statement, else
    `503 database_unavailable` (with `Retry-After`): for a load balancer to
    send devices only to app servers that can serve them. No authentication,
    nothing read.
    """
    if not database_answers():
        raise errors.database_unavailable()
    return {}


@api.post(
    "/registrations",
    response={
        201: RegistrationOut,
        403: ErrorOut,
        409: ErrorOut,
        410: ErrorOut,
        429: ErrorOut,
        **BODY_ERRORS,
    },
    auth=None,
    tags=["device"],
    summary="Redeem a registration code",
    operation_id="register",
)
def register(request: HttpRequest, payload: RegistrationIn) -> Status:
    """
    Redeem the registration code typed on the Verification screen and register
    this device with the details it reports. Answers `201` with the device's
    credential, returned this once; a re-registration through a replaced code
    revokes the device's earlier credential.

    Errors: `400 code_invalid` (malformed, unknown, replaced or cancelled code),
    `410 code_expired`, `409 code_used` (each code works once),
    `403 license_inactive` (the code stays usable once the license is fixed),
    `429 rate_limited` with `Retry-After` (too many failed attempts from this
    address or from everyone; checked before the code is looked at).
    """
    registration = device_register(
        code=payload.code,
        client_address=client_address(request),
        name=payload.device.name,
        device_identifier=payload.device.device_id,
        os_type=payload.device.os_type,
        platform=payload.device.platform,
        app_version=payload.device.app_version,
    )
    device = registration.device
    with company_scope(device.company):
        config, etag = device_config_with_etag(device=device)
    body = {
        "credential": registration.credential,
        "device": {
            "id": device.pk,
            "nickname": device.nickname,
            "name": device.device_name,
            "device_id": device.device_identifier,
            "os_type": device.os_type,
            "platform": device.platform,
            "app_version": device.app_version,
            "registered_at": device.registered_at,
        },
        "config": config,
        "config_etag": etag,
    }
    return Status(201, body)


@device_router.get(
    "/config",
    response={200: ConfigOut, 304: None, **AUTH_ERRORS},
    summary="Get the device's effective settings",
    operation_id="get_config",
)
def get_config(request: HttpRequest) -> HttpResponse:
    """
    The device's effective settings: its team and the employees who may use
    ReconPro on it, its time zone, the clients it may choose and the allowed
    functionality. The `ETag` header changes whenever the body may have
    changed: send it back as `If-None-Match` to get `304 Not Modified` while
    nothing changed. Treat it as opaque (it is the configuration's version,
    not always a hash of the body).
    """
    device: Device = request.auth  # type: ignore[attr-defined]
    config, etag = device_config_with_etag(device=device)
    held = parse_etags(request.META.get("HTTP_IF_NONE_MATCH", ""))
    if etag in held or "*" in held or f"W/{etag}" in held:
        response = HttpResponse(status=304)
    else:
        response = api.create_response(request, config, status=200)
    response["ETag"] = etag
    patch_cache_control(response, private=True, no_cache=True)
    return response


@device_router.post(
    "/check-ins",
    response={200: CheckInOut, **AUTH_ERRORS, **BODY_ERRORS},
    summary="Report what the device runs",
    operation_id="check_in",
)
@confirms_its_credential
def check_in(request: HttpRequest, payload: CheckInIn) -> HttpResponse:
    """
    Report that the device is alive and what it runs. The Back Office records
    last-seen to a resolution of `CHECK_IN_WRITE_INTERVAL_SECONDS` (60 s by
    default) and any change of name, OS, platform or version at once. The
    answer carries the configuration's ETag: when it differs from the one
    held, call `GET /config`. A change of the device's, its team's or the
    company's settings shows in it at once; a change of the team's employees
    or of clients at once on servers that share a Redis (company
    generations), else within `CONFIG_ETAG_CACHE_SECONDS` (60 s by default).
    """
    device = _check_in_record(request.auth, payload)  # type: ignore[attr-defined]
    return check_in_answer(device)


def _check_in_record(device: Device, payload: CheckInIn) -> Device:
    """Record a validated check-in of ``device`` (in its company scope); return the device, confirmed."""
    return device_check_in_confirmed(
        device=device,
        name=payload.name,
        os_type=payload.os_type,
        platform=payload.platform,
        app_version=payload.app_version,
    )


def check_in_answer(device: Device) -> HttpResponse:
    """
    The answer to a recorded check-in of ``device`` (in its company scope),
    the same from both ways in. The body is two plain values: serialised
    directly, as this is the API's hottest call.
    """
    body = {"config_etag": device_config_etag(device=device), "server_time": timezone.now().isoformat()}
    return HttpResponse(json.dumps(body), content_type="application/json; charset=utf-8")


def check_in_direct(request: HttpRequest, operation: Callable[[HttpRequest], HttpResponseBase]) -> HttpResponseBase:
    """
    Answer ``POST /check-ins`` without Ninja's per-operation machinery when
    the call is well-formed. ``operation`` is the view of the check-in's
    Ninja operation, which answers everything else; ``DeviceApiMiddleware``
    routes the calls here.

    The operation's steps, ordered so that nothing is read from the database
    or Redis for a malformed call: the bearer rules (``bearer_credential``),
    the body limit (as ``bounded_body``), the body schema (``CheckInIn``, with
    the same strictness; pydantic's JSON parser refuses every body that
    ``json.loads`` and the schema refuse, and a few more, such as one with a
    byte-order mark), the authentication (``DeviceBearer.authenticate``) and,
    in the device's company scope, the check-in and its answer
    (``_check_in_record``, ``check_in_answer``).

    A refusal or an exception before the authentication (a missing or
    malformed header, a body too large or refused) or a database error in it
    is answered by calling ``operation``, which runs every step again and
    answers in its own words, byte for byte. The authentication's refusals (an
    unknown or revoked credential, an inactive license) are answered here as
    Ninja answers them (``api.on_exception``), so an unknown credential costs
    one look-up, not two.
    Once the check-in was entered, an exception is answered here by the API's
    exception handlers (``api.on_exception``), exactly as the operation
    answers the same exception raised at the same point (an ``ApiError``,
    such as the confirmation's refusal of a held copy, by ``error_response``;
    a bug by the logged ``500 internal_error``), and the check-in is never
    run a second time: nothing is written twice.
    """
    if not settings.DEVICE_API_DIRECT_CHECK_INS:
        return operation(request)
    token = bearer_credential(request)
    if token is None:
        return operation(request)
    try:
        body = request.body
    except RequestDataTooBig:
        return operation(request)
    if len(body) > settings.DEVICE_API_MAX_BODY_BYTES:
        return operation(request)
    try:
        payload = CheckInIn.model_validate_json(body)
    except Exception:  # noqa: BLE001 - a refused body: the operation answers
        return operation(request)
    try:
        device = device_bearer.authenticate(request, token)
    except errors.ApiError as exc:
        # A refused credential or license, answered as Ninja answers its
        # authentication's refusal (``api.on_exception``), without a second look-up.
        return api.on_exception(request, exc)
    except Exception:  # noqa: BLE001 - a database error: the operation answers (and tries again)
        return operation(request)
    request.auth = device  # type: ignore[attr-defined]
    entered = False
    try:
        with company_scope(device.company):
            entered = True
            return check_in_answer(_check_in_record(device, payload))
    except Exception as exc:  # noqa: BLE001 - answered as the operation answers it
        if not entered:
            return operation(request)
        return api.on_exception(request, exc)


@device_router.post(
    "/documents",
    response={201: DocumentOut, **AUTH_ERRORS, **BODY_ERRORS},
    summary="Record a service request, inspection or work order",
    operation_id="record_document",
)
def record_document(request: HttpRequest, payload: DocumentIn) -> Status:
    """
    Record a document created on this device for a client. The client must be
    one this device may choose (the `clients` of `GET /config`); otherwise, and
    for an unknown client id or another company's, the answer is
    `403 client_not_available` and nothing is recorded. Under the Clients
    tab's *Selected*, a wholesale client recorded here stays available on the
    device even when it is not among its Assigned Clients.
    """
    device: Device = request.auth  # type: ignore[attr-defined]
    try:
        document = device_document_record(
            device=device, kind=payload.kind, number=payload.number, client_id=payload.client_id
        )
    except ClientNotAvailable:
        raise errors.client_not_available() from None
    body = {
        "id": document.pk,
        "kind": document.kind,
        "number": document.number,
        "client_id": document.client_id,
        "created_at": document.created_at,
    }
    return Status(201, body)


api.add_router("", device_router)
