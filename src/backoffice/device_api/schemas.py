"""
Request and response bodies of the device API.

The ReconPro app is a client no one here controls, so requests are strict:
unknown fields are refused (``extra="forbid"``), values are not coerced from
other JSON types, every text has a bound and follows the text rules of
``core.text``: no control character or lone surrogate anywhere, and no
invisible or bidi character in what the device reports as its name,
platform, OS or version (``ReportedText``). A refused text answers
``422 invalid_request``. The descriptions here are the reference
documentation of the contract (served in the OpenAPI schema).
"""

from datetime import datetime
from typing import Annotated, Literal

from ninja import Schema
from pydantic import AfterValidator, ConfigDict, Field, StrictInt, StrictStr, StringConstraints

from backoffice.core.text import TextKind, text_check

SHORT_TEXT_MAX = 64
LONG_TEXT_MAX = 256


def _one_line(value: str) -> str:
    return text_check(value, TextKind.LINE, label="The text")


def _reported_name(value: str) -> str:
    return text_check(value, TextKind.NAME, label="The text")


def _document_number(value: str) -> str:
    value = text_check(value, TextKind.LINE, label="The number")
    # The same strip as the service's, so that what passes here is never refused there.
    if not value.strip():
        raise ValueError("The number must have 1 to 64 characters other than spaces")
    return value.strip()


ShortText = Annotated[
    StrictStr, StringConstraints(strip_whitespace=True, max_length=SHORT_TEXT_MAX), AfterValidator(_one_line)
]
LongText = Annotated[
    StrictStr, StringConstraints(strip_whitespace=True, max_length=LONG_TEXT_MAX), AfterValidator(_one_line)
]
# A name, platform, OS or version the device reports about itself: shown on the Back Office pages.
ReportedText = Annotated[
    StrictStr, StringConstraints(strip_whitespace=True, max_length=SHORT_TEXT_MAX), AfterValidator(_reported_name)
]
DocumentNumber = Annotated[
    StrictStr,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=SHORT_TEXT_MAX),
    AfterValidator(_document_number),
]


class StrictSchema(Schema):
    """A request body that refuses unknown fields and values of the wrong JSON type."""

    model_config = ConfigDict(extra="forbid", strict=True)


class ReportedDetails(StrictSchema):
    """What the device reports about itself when it registers."""

    name: ReportedText = Field(description='The device\'s own name (shown as "Device"), at most 64 characters.')
    device_id: LongText = Field(description="The platform's identifier of the device, at most 256 characters.")
    os_type: ReportedText = Field(description='Operating system and version, for example "Android 14"; at most 64.')
    platform: ReportedText = Field(description='"Android", "iOS" or "Windows"; at most 64 characters.')
    app_version: ReportedText = Field(description='The ReconPro version installed, for example "5.4.1"; at most 64.')


class RegistrationIn(StrictSchema):
    """A registration code typed on the Verification screen, with the device's details."""

    code: ShortText = Field(
        description=(
            "The registration code, 12 letters shown as XXXX-XXXX-XXXX (codes issued before the change are "
            "10 letters, XXXXX-XXXXX). Case, spaces and dashes are ignored: "
            '"bcdf-ghjk-lmnp", " BCDF GHJK LMNP " and "BCDFGHJKLMNP" are the same code.'
        )
    )
    device: ReportedDetails = Field(description="What the device reports about itself.")


class CheckInIn(StrictSchema):
    """What the device runs now; sent at start-up and periodically."""

    name: ReportedText = Field(description="The device's own name, at most 64 characters.")
    os_type: ReportedText = Field(description="Operating system and version, at most 64 characters.")
    platform: ReportedText = Field(description='"Android", "iOS" or "Windows"; at most 64 characters.')
    app_version: ReportedText = Field(description="The ReconPro version installed, at most 64 characters.")


class DocumentIn(StrictSchema):
    """A service request, inspection or work order created on the device."""

    kind: Literal["service_request", "inspection", "work_order"] = Field(
        description='"service_request", "inspection" or "work_order".'
    )
    number: DocumentNumber = Field(
        description='The document\'s number as shown on the device, for example "WO-1001"; 1 to 64 characters.'
    )
    client_id: StrictInt = Field(
        ge=1,
        le=2**63 - 1,
        description="The client's id: one of the `clients` of `GET /config`, or of an earlier document here.",
    )


class DocumentOut(Schema):
    """A recorded document."""

    id: int = Field(description="The document's id in the Back Office.")
    kind: str = Field(description='"service_request", "inspection" or "work_order".')
    number: str = Field(description="The document's number, as sent.")
    client_id: int = Field(description="The client's id.")
    created_at: datetime = Field(description="When the Back Office recorded the document, UTC.")


class DeviceRef(Schema):
    id: int = Field(description="The device's id in the Back Office.")
    nickname: str = Field(description="The name the administrator gave the device.")


class TeamRef(Schema):
    id: int = Field(description="The team's id.")
    name: str = Field(description="The team's name.")


class EmployeeOut(Schema):
    id: int = Field(description="The employee's id.")
    name: str = Field(description="The employee's name.")


class ClientOut(Schema):
    id: int = Field(description="The client's id.")
    name: str = Field(description="The client's name.")
    type: str = Field(description='"retail" or "wholesale".')


class ConfigOut(Schema):
    """The device's effective settings, computed from the Back Office settings."""

    device: DeviceRef = Field(description="The device as the Back Office knows it.")
    team: TeamRef = Field(description="The team whose employees use ReconPro on this device.")
    employees: list[EmployeeOut] = Field(
        description="The active employees of the team: who may sign in to ReconPro on this device; sorted by name."
    )
    time_zone: str = Field(description="IANA time zone the device works in: its own, else its team's default.")
    clients: list[ClientOut] = Field(
        description=(
            "Active clients that may be chosen on service requests, inspections and work orders, "
            "from the device's Clients tab; sorted by name."
        )
    )
    functionality: list[str] = Field(description="The ReconPro functions allowed on this device.")


class RegisteredDeviceOut(Schema):
    """The registered device, as stored after the registration."""

    id: int = Field(description="The device's id in the Back Office.")
    nickname: str = Field(description="The name the administrator gave the device.")
    name: str = Field(description="The device's own name, as reported.")
    device_id: str = Field(description="The platform's identifier of the device, as reported.")
    os_type: str = Field(description="Operating system, as reported.")
    platform: str = Field(description="Platform, as reported.")
    app_version: str = Field(description="ReconPro version, as reported.")
    registered_at: datetime = Field(description="When this registration happened (Reg Date), UTC.")


class RegistrationOut(Schema):
    """A successful registration: the credential (shown this once) and the device's settings."""

    credential: str = Field(
        description=(
            "The device's secret for every later call, sent as `Authorization: Bearer <credential>`. "
            "Returned only here and only once; the Back Office keeps only its SHA-256 digest."
        )
    )
    device: RegisteredDeviceOut = Field(description="The registered device.")
    config: ConfigOut = Field(description="The device's effective settings, as `GET /config` returns them.")
    config_etag: str = Field(description="The ETag of `config`, to send as `If-None-Match` on `GET /config`.")


class CheckInOut(Schema):
    """The server's answer to a check-in."""

    config_etag: str = Field(
        description=(
            "The current ETag of the device's configuration; when it differs from the one held, call `GET /config`."
        )
    )
    server_time: datetime = Field(description="The server's clock, UTC, to let the device notice a wrong clock.")


class ErrorOut(Schema):
    """Every error answer of this API."""

    error: str = Field(description="A stable machine-readable code, for example `code_expired`.")
    detail: str = Field(description="A sentence for a person, in English; may change between versions.")


class HealthOut(Schema):
    """An empty object: the server process answers."""

    model_config = ConfigDict(extra="forbid")
