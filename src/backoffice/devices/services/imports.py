"""
Devices pre-registered from a spreadsheet (the imports app parses the file;
this checks and saves its rows): each valid row is added as the Device
dialog adds one (``device_add``): a free license, a registration code and an
email to each recipient, through the per-device email path.
"""

import re
import uuid
from collections.abc import Iterator, Mapping, Sequence

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models.functions import Lower
from django.utils.translation import ngettext

from backoffice.audit.services import audit_record
from backoffice.core.text import TextKind, text_problem
from backoffice.core.timezones import time_zone_resolve
from backoffice.devices.models import Device
from backoffice.devices.services.registration import DEFAULT_CODE_LIFETIME
from backoffice.devices.services.settings import (
    MAX_RECIPIENTS,
    _clean_device_settings,
    _clean_recipients,
    device_add,
)
from backoffice.licensing.models import License
from backoffice.licensing.selectors import license_free_list
from backoffice.licensing.services import license_lock_free
from backoffice.organization.models import Team
from backoffice.organization.services import IMPORT_NOT_YOUR_TEAM, ImportOutcome
from backoffice.tenancy.models import User
from backoffice.tenancy.permissions import WRITER_ROLES, require_role
from backoffice.tenancy.scoping import company_scope

DEVICE_IMPORT_LABELS = {"nickname": "Nickname", "team": "Team", "time_zone": "Time zone", "recipients": "Recipients"}
_SEPARATORS = re.compile(r"[;,\s]+")


def _device_rows(
    acting_user: User, rows: Sequence[Mapping[str, str]]
) -> tuple[list[list[str]], list[tuple[str, Team, str, list[str]] | None]]:
    """Every row's problems and what a valid row adds (nickname, team, zone, recipients); in the company scope."""
    teams = {team.name.lower(): team for team in Team.objects.all()}
    existing = _nicknames_taken({values.get("nickname", "").strip().lower() for values in rows})
    free = license_free_list().count()
    seen: dict[str, int] = {}
    problems: list[list[str]] = []
    cleaned: list[tuple[str, Team, str, list[str]] | None] = []
    licensed = 0
    for index, values in enumerate(rows):
        row: list[str] = []
        for key, kind in (("nickname", TextKind.NAME), ("team", TextKind.NAME), ("time_zone", TextKind.LINE)):
            problem = text_problem(values.get(key, ""), kind)
            if problem:
                row.append(f"{DEVICE_IMPORT_LABELS[key]}: {problem}.")
        problem = text_problem(values.get("recipients", ""), TextKind.MULTILINE)
        if problem:
            row.append(f"Recipients: {problem}.")
        team_name = values.get("team", "").strip()
        team = teams.get(team_name.lower()) if team_name else None
        if not row:
            if not team_name:
                row.append("Team: enter a team.")
            elif team is None:
                row.append(f"Team: unknown team “{team_name}”.")
            elif acting_user.is_team_administrator and team.pk != acting_user.team_id:
                row.append(IMPORT_NOT_YOUR_TEAM.format(team=acting_user.team.name if acting_user.team else "your team"))
                team = None
        zone_text = values.get("time_zone", "").strip()
        zone = ""
        if zone_text and not row:
            match = time_zone_resolve(zone_text)
            if match.name:
                zone = match.name
            else:
                row.append(f"Time zone: unknown time zone “{zone_text}” (use a name such as America/Chicago).")
        recipients: list[str] = []
        if not row:
            for address in _SEPARATORS.split(values.get("recipients", "")):
                if not address:
                    continue
                try:
                    validate_email(address)
                except ValidationError:
                    row.append(f"Recipients: “{address}” is not a valid email address.")
                else:
                    recipients.append(address)
            try:
                recipients = _clean_recipients(recipients)
            except ValidationError:
                row.append(f"Recipients: at most {MAX_RECIPIENTS} recipients.")
        nickname = values.get("nickname", "").strip()
        if not row and team is not None:
            try:
                nickname = _clean_device_settings(
                    company_id=team.company_id, team=team, time_zone=zone, nickname=nickname, description=""
                )
            except ValidationError as error:
                row += [f"{DEVICE_IMPORT_LABELS.get(f, f)}: {m}" for f, ms in error.message_dict.items() for m in ms]
            else:
                first = seen.setdefault(nickname.lower(), index)
                if first != index:
                    row.append(f"Nickname: the same nickname as row {first + 1} of the file.")
                elif nickname.lower() in existing:
                    row.append(f"Nickname: a device called “{nickname}” already exists.")
        if not row:
            if licensed >= free:
                row.append(
                    "License: no free license left "
                    + ngettext("(the company has %(n)d free license", "(the company has %(n)d free licenses", free)
                    % {"n": free}
                    + " and the rows above take them)."
                )
            else:
                licensed += 1
        problems.append(row)
        cleaned.append((nickname, team, zone, recipients) if not row and team is not None else None)
    return problems, cleaned


def _nicknames_taken(nicknames: set[str]) -> set[str]:
    """Which of ``nicknames`` (lower-cased) the scoped company's devices have, in any case."""
    wanted = sorted(nicknames - {""})
    taken: set[str] = set()
    for start in range(0, len(wanted), 500):
        taken.update(
            Device.objects.annotate(lower=Lower("nickname"))
            .filter(lower__in=wanted[start : start + 500])
            .values_list("lower", flat=True)
        )
    return taken


def devices_import_check(*, acting_user: User, rows: Sequence[Mapping[str, str]]) -> list[list[str]]:
    """The problems of every row of a device import (the preview), without saving anything."""
    company = require_role(acting_user, *WRITER_ROLES)
    with company_scope(company):
        return _device_rows(acting_user, rows)[0]


@transaction.atomic
def devices_import(
    *, acting_user: User, rows: Sequence[Mapping[str, str]], all_or_nothing: bool, batch_id: uuid.UUID
) -> ImportOutcome:
    """
    Pre-register the devices of an import's rows (columns ``nickname``,
    ``team``, ``time_zone``, ``recipients``), checked again now: the valid
    rows, or (``all_or_nothing``) every row or none. Each takes a free
    license through ``license_lock_free`` (locked in license-number order,
    so two imports at once never take the same one nor deadlock; a license
    taken meanwhile is skipped for the next), then ``device_add`` adds it
    with its code and emails. One event per device (and per code) and one
    for the batch, all with ``batch_id``.
    """
    company = require_role(acting_user, *WRITER_ROLES)
    with company_scope(company):
        problems, cleaned = _device_rows(acting_user, rows)
        if all_or_nothing and any(problems):
            _refuse(sum(1 for row in problems if row))
        candidates = iter(list(license_free_list()))
        devices: list[Device] = []
        for index, row in enumerate(cleaned):
            if row is None:
                continue
            nickname, team, zone, recipients = row
            license = _next_free_license(candidates)
            if license is None:
                problems[index].append("License: no free license left (taken meanwhile).")
                if all_or_nothing:
                    _refuse(sum(1 for row in problems if row))
                continue
            try:
                device = device_add(
                    acting_user=acting_user,
                    team=team,
                    license=license,
                    nickname=nickname,
                    time_zone=zone,
                    recipients=recipients,
                    expires_in=DEFAULT_CODE_LIFETIME,
                    batch_id=batch_id,
                )
            except ValidationError as error:
                if all_or_nothing:
                    raise
                problems[index] += (
                    [
                        f"{DEVICE_IMPORT_LABELS.get(f, f.capitalize())}: {m}"
                        for f, ms in error.message_dict.items()
                        for m in ms
                    ]
                    if hasattr(error, "error_dict")
                    else error.messages
                )
                continue
            devices.append(device)
        invalid = sum(1 for row in problems if row)
        audit_record(
            company=company,
            actor=acting_user,
            action="device.imported",
            summary=ngettext("%(n)d device imported", "%(n)d devices imported", len(devices)) % {"n": len(devices)}
            + (f" ({invalid} rows left out)" if invalid else ""),
            data={"created": len(devices), "left_out": invalid, "rows": len(rows)},
            team_id=acting_user.team_id if acting_user.is_team_administrator else None,
            batch_id=batch_id,
        )
    return ImportOutcome(created=devices, problems=problems)


def _refuse(invalid: int) -> None:
    raise ValidationError(
        ngettext(
            "%(n)d row has a problem: nothing was imported.", "%(n)d rows have problems: nothing was imported.", invalid
        )
        % {"n": invalid}
    )


def _next_free_license(candidates: Iterator[License]) -> License | None:
    """The next candidate still free, locked; candidates a concurrent add took meanwhile are skipped."""
    for license in candidates:
        try:
            return license_lock_free(license=license)
        except ValidationError:
            continue
    return None
