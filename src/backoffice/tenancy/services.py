"""
Writes on companies and Back Office users.

A company's Administrator changes the users of their own company. Operators
(the Django admin, ``manage.py`` commands) may make the same writes for any
company: they name it with ``company=`` and pass ``require_operator``, and
every rule but the role check applies to them as well.

Longer than the usual 300 lines: the company users' writes and the
operators' admin writes on companies and users check the same rules and
share their helpers, so they stay together.
"""

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from backoffice.audit.services import audit_changes, audit_initial, audit_record
from backoffice.core.models import CompanyOwnedModel
from backoffice.core.timezones import is_valid_time_zone
from backoffice.tenancy.choices import Functionality, Role, TwoFactorPolicy
from backoffice.tenancy.models import MAX_EXPIRED_CODE_GRACE_DAYS, Company, User
from backoffice.tenancy.permissions import REFUSED, SIGN_IN_GUARD, Actor, require_operator, require_role
from backoffice.tenancy.scoping import company_scope
from backoffice.tenancy.selectors import company_name_taken, user_email_taken
from backoffice.tenancy.validation import password_check

EMAIL_MAX_LENGTH = 254
FULL_NAME_MAX_LENGTH = 120
COMPANY_NAME_MAX_LENGTH = 120

EMAIL_TAKEN = "A user with this email already exists."
COMPANY_NAME_TAKEN = "A company with this name already exists."
NO_FUNCTIONALITY = (
    "Pick at least one function: with none, ReconPro would offer nothing on the devices that use company settings."
)

logger = logging.getLogger(__name__)


@contextmanager
def acting_in_company(acting_user: Actor, company: Company | None, *roles: Role) -> Iterator[Company]:
    """
    Check who acts and open the scope of the company the write happens in.

    Without ``company``, ``acting_user`` is a member of a company acting in
    their own with one of ``roles``. With ``company``, ``acting_user`` is an
    operator acting for that company (the Django admin passes the edited
    row's company). The other apps' services use this too.
    """
    if company is None:
        if not isinstance(acting_user, User):
            raise PermissionDenied(REFUSED)
        company = require_role(acting_user, *roles)
    else:
        require_operator(acting_user)
        if company.pk is None:
            raise PermissionDenied("Choose a company.")
    with company_scope(company):
        yield company


@contextmanager
def taken_meanwhile(error: ValidationError, *, taken: Callable[[], bool]) -> Iterator[None]:
    """
    Run the block (an INSERT or UPDATE that a uniqueness check let through) in
    a savepoint. Should a concurrent write with the same value have committed
    between the check and the write, the database's unique constraint refuses
    it: ``taken()`` (the same check, asked again) then answers True and
    ``error``, the message the check gives, is raised instead of the
    ``IntegrityError``. Any other integrity error propagates.
    """
    try:
        with transaction.atomic():
            yield
    except IntegrityError:
        if not taken():
            raise
        raise error from None


def _role_fields(*, company: Company, role: str, team: CompanyOwnedModel | None) -> CompanyOwnedModel | None:
    """Check a role and its team; return the team to store (only a Team Administrator has one)."""
    if role not in Role.values:
        raise ValidationError({"role": "Choose a role."})
    if role != Role.TEAM_ADMINISTRATOR:
        return None
    if team is None:
        raise ValidationError({"team": "A Team Administrator needs a team."})
    if team.company_id != company.pk:
        raise ValidationError({"team": "Choose one of your company's teams."})
    return team


def _email_errors(email: str, *, exclude_pk: int | None = None) -> list[str]:
    if not email:
        return ["Enter an email address."]
    if len(email) > EMAIL_MAX_LENGTH:
        return [f"Ensure this value has at most {EMAIL_MAX_LENGTH} characters (it has {len(email)})."]
    if user_email_taken(email=email, exclude_pk=exclude_pk):
        return [EMAIL_TAKEN]
    return []


@transaction.atomic
def user_create(
    *,
    acting_user: Actor,
    email: str,
    full_name: str,
    role: str,
    team: CompanyOwnedModel | None,
    password: str,
    company: Company | None = None,
) -> User:
    """
    Add a Back Office user to the acting Administrator's company (an operator:
    to ``company``) with a password the Administrator chose (no email is
    sent). Emails are unique across the whole service, since users sign in
    with them.
    """
    with acting_in_company(acting_user, company, Role.ADMINISTRATOR) as company:
        email = email.strip().lower()
        errors: dict[str, list[str]] = {}
        if email_errors := _email_errors(email):
            errors["email"] = email_errors
        if len(full_name.strip()) > FULL_NAME_MAX_LENGTH:
            errors["full_name"] = [f"Ensure this value has at most {FULL_NAME_MAX_LENGTH} characters."]
        try:
            team = _role_fields(company=company, role=role, team=team)
        except ValidationError as error:
            errors.update(error.message_dict)
        user = User(email=email, full_name=full_name.strip(), company=company, role=role, is_active=True)
        user.team = team  # type: ignore[assignment]
        try:
            password_check(password, user=user)
        except ValidationError as error:
            errors["password"] = error.messages
        if errors:
            raise ValidationError(errors)
        user.set_password(password)
        with taken_meanwhile(ValidationError({"email": EMAIL_TAKEN}), taken=lambda: user_email_taken(email=email)):
            user.save()
        audit_record(
            company=company,
            actor=acting_user,
            action="user.created",
            obj=user,
            summary=f"User {email} created as {user.get_role_display()}",
            changes=audit_initial({"Email": email, **_user_as_shown(user)}),
            data={"email": email, "role": role, "team_id": team.pk if team else None},
        )
    return user


def _user_as_shown(user: User) -> dict[str, object]:
    """A user's form as the administrator reads it, for the audit trail."""
    return {
        "Name": user.full_name,
        "Role": user.get_role_display(),
        "Team": user.team.name if user.team is not None else None,  # type: ignore[attr-defined]
    }


def _is_self(acting_user: Actor, user: User) -> bool:
    return isinstance(acting_user, User) and acting_user.pk == user.pk


def _check_user_of(user: User, company: Company) -> None:
    if user.company_id != company.pk:
        raise PermissionDenied("This user belongs to another company.")


@transaction.atomic
def user_update(
    *,
    acting_user: Actor,
    user: User,
    full_name: str,
    role: str,
    team: CompanyOwnedModel | None,
    company: Company | None = None,
) -> User:
    """
    Change a user's name, role and team. An Administrator cannot demote
    themselves. An operator names the user's company as ``company``.
    """
    with acting_in_company(acting_user, company, Role.ADMINISTRATOR) as company:
        _check_user_of(user, company)
        if _is_self(acting_user, user) and role != Role.ADMINISTRATOR:
            raise ValidationError({"role": "You cannot change your own role; ask another Administrator."})
        if len(full_name.strip()) > FULL_NAME_MAX_LENGTH:
            raise ValidationError({"full_name": f"Ensure this value has at most {FULL_NAME_MAX_LENGTH} characters."})
        team = _role_fields(company=company, role=role, team=team)
        before = {"full_name": user.full_name, "role": user.role, "team_id": user.team_id}
        shown_before = _user_as_shown(user)
        user.full_name = full_name.strip()
        fields = ["full_name", "role", "team"]
        if (user.role, user.team_id) != (role, team.pk if team else None):
            # A new role or team ends the sessions signed in with the old one.
            user.session_epoch += 1
            fields.append("session_epoch")
        user.role = role
        user.team = team  # type: ignore[assignment]
        user.save(update_fields=fields)
        changes = audit_changes(shown_before, _user_as_shown(user))
        audit_record(
            company=company,
            actor=acting_user,
            action="user.updated",
            obj=user,
            summary=f"User {user.email} changed ({user.get_role_display()})"
            if changes
            else f"User {user.email} saved without changes",
            changes=changes,
            data={"before": before, "after": {"full_name": user.full_name, "role": role, "team_id": user.team_id}},
        )
    return user


def _user_set_active(*, acting_user: Actor, user: User, active: bool, company: Company | None) -> User:
    with acting_in_company(acting_user, company, Role.ADMINISTRATOR) as company:
        _check_user_of(user, company)
        if _is_self(acting_user, user) and not active:
            raise ValidationError("You cannot deactivate yourself; ask another Administrator.")
        if user.is_active != active:
            user.is_active = active
            user.session_epoch += 1  # the sessions end at once (and a reactivated user signs in afresh)
            user.save(update_fields=["is_active", "session_epoch"])
            audit_record(
                company=company,
                actor=acting_user,
                action="user.reactivated" if active else "user.deactivated",
                obj=user,
                summary=f"User {user.email} {'reactivated' if active else 'deactivated'}",
                changes=audit_changes({"Active": not active}, {"Active": active}),
            )
    return user


@transaction.atomic
def user_deactivate(*, acting_user: Actor, user: User, company: Company | None = None) -> User:
    """Stop a user from signing in (their open sessions stop working too). Not oneself. Idempotent."""
    return _user_set_active(acting_user=acting_user, user=user, active=False, company=company)


@transaction.atomic
def user_reactivate(*, acting_user: Actor, user: User, company: Company | None = None) -> User:
    """Let a deactivated user sign in again with their old password. Idempotent."""
    return _user_set_active(acting_user=acting_user, user=user, active=True, company=company)


def _access_as_shown(access: dict[str, object]) -> dict[str, object]:
    return {"Email": access["email"], "Staff status": access["is_staff"], "Superuser status": access["is_superuser"]}


@transaction.atomic
def user_access_update(*, acting_user: Actor, user: User, email: str, is_staff: bool, is_superuser: bool) -> User:
    """
    Operators only: change the email a company user signs in with and their
    staff and superuser flags. Audited in the user's company when anything
    changed; users without a company (operators) have no company to record
    it in and are refused.
    """
    require_operator(acting_user)
    if user.company is None:
        raise PermissionDenied("Operators' own accounts are managed with manage.py, not here.")
    with company_scope(user.company):
        email = email.strip().lower()
        if email_errors := _email_errors(email, exclude_pk=user.pk):
            raise ValidationError({"email": email_errors})
        before = {"email": user.email, "is_staff": user.is_staff, "is_superuser": user.is_superuser}
        after = {"email": email, "is_staff": is_staff, "is_superuser": is_superuser}
        if before != after:
            user.email, user.is_staff, user.is_superuser = email, is_staff, is_superuser
            with taken_meanwhile(
                ValidationError({"email": EMAIL_TAKEN}), taken=lambda: user_email_taken(email=email, exclude_pk=user.pk)
            ):
                user.save(update_fields=["email", "is_staff", "is_superuser"])
            audit_record(
                company=user.company,
                actor=acting_user,
                action="user.access_updated",
                obj=user,
                summary=f"User {email}: sign-in email or operator access changed",
                changes=audit_changes(_access_as_shown(before), _access_as_shown(after)),
                data={"before": before, "after": after},
            )
    return user


@transaction.atomic
def user_password_set(*, acting_user: Actor, user: User, password: str | None) -> User:
    """
    Operators only: set a company user's password, or with ``None`` turn
    password sign-in off for them. Audited in the user's company (never the
    password itself).
    """
    require_operator(acting_user)
    if user.company is None:
        raise PermissionDenied("Operators' own accounts are managed with manage.py, not here.")
    with company_scope(user.company):
        if password is None:
            user.set_unusable_password()
        else:
            try:
                password_check(password, user=user)
            except ValidationError as error:
                raise ValidationError({"password": error.messages}) from None
            user.set_password(password)
        user.save(update_fields=["password"])
        audit_record(
            company=user.company,
            actor=acting_user,
            action="user.password_set",
            obj=user,
            summary=f"User {user.email}: password {'sign-in turned off' if password is None else 'set'} by an operator",
        )
    return user


def _functionality_errors(default_functionality: object) -> str:
    if not isinstance(default_functionality, list) or not all(isinstance(v, str) for v in default_functionality):
        return "Give a list of functionality names."
    unknown = sorted(set(default_functionality) - set(Functionality.values))
    if unknown:
        return f"Unknown functionality: {', '.join(unknown)}."
    if not default_functionality:
        return NO_FUNCTIONALITY
    return ""


def _grace_days_errors(days: object) -> str:
    if isinstance(days, bool) or not isinstance(days, int) or not 0 <= days <= MAX_EXPIRED_CODE_GRACE_DAYS:
        return f"Enter a number of days from 0 to {MAX_EXPIRED_CODE_GRACE_DAYS}."
    return ""


def _in_choice_order(default_functionality: list[str]) -> list[str]:
    # Stored in the choices' order, so that the same selection is always the same list.
    return [value for value in Functionality.values if value in default_functionality]


def _functionality_labels(values: list[str]) -> list[str]:
    return [str(Functionality(value).label) for value in values if value in Functionality.values]


def _company_settings_as_shown(company: Company) -> dict[str, object]:
    """The company settings form as the administrator reads it, for the audit trail."""
    return {
        "Default time zone": company.default_time_zone,
        "Allowed functionality": _functionality_labels(company.default_functionality or []),
        "Release the license of an expired code after (days)": company.expired_code_grace_days,
        "Viewers may see the audit log": company.audit_log_for_viewers,
        "Require two-factor sign-in for": company.get_two_factor_required_display(),  # type: ignore[attr-defined]
    }


def _company_as_shown(company: Company) -> dict[str, object]:
    """The operators' company form (the Django admin) as they read it, for the audit trail."""
    return {
        "Name": company.name,
        "Area Support subscription": company.area_support,
        **_company_settings_as_shown(company),
    }


@transaction.atomic
def company_settings_update(
    *,
    acting_user: User,
    default_time_zone: str,
    default_functionality: list[str],
    expired_code_grace_days: int | None = None,
    audit_log_for_viewers: bool | None = None,
    two_factor_required: str | None = None,
) -> Company:
    """
    Change the company's default time zone, the functionality a device gets
    with "Use Company Settings" (at least one function: with none, the app
    would offer nothing on those devices), how many days a never-registered
    device keeps its license after its code expired, whether Viewers may
    see the audit log and who must sign in with a second factor (``None``
    keeps any of the last three).
    Area Support is a subscription that operators switch, so it is not
    changed here.
    """
    company = require_role(acting_user, Role.ADMINISTRATOR)
    errors: dict[str, str] = {}
    if not is_valid_time_zone(default_time_zone):
        errors["default_time_zone"] = "Choose a time zone from the list, e.g. America/Chicago."
    if functionality_error := _functionality_errors(default_functionality):
        errors["default_functionality"] = functionality_error
    if expired_code_grace_days is not None and (grace_error := _grace_days_errors(expired_code_grace_days)):
        errors["expired_code_grace_days"] = grace_error
    if two_factor_required is not None and two_factor_required not in TwoFactorPolicy.values:
        errors["two_factor_required"] = "Choose who must sign in with a second factor."
    if errors:
        raise ValidationError(errors)
    company = Company.objects.select_for_update().get(pk=company.pk)
    before = {
        "default_time_zone": company.default_time_zone,
        "default_functionality": company.default_functionality,
        "expired_code_grace_days": company.expired_code_grace_days,
        "audit_log_for_viewers": company.audit_log_for_viewers,
        "two_factor_required": company.two_factor_required,
    }
    shown_before = _company_settings_as_shown(company)
    company.default_time_zone = default_time_zone
    company.default_functionality = _in_choice_order(default_functionality)
    if expired_code_grace_days is not None:
        company.expired_code_grace_days = expired_code_grace_days
    if audit_log_for_viewers is not None:
        company.audit_log_for_viewers = audit_log_for_viewers
    if two_factor_required is not None:
        company.two_factor_required = two_factor_required
    company.save(
        update_fields=[
            "default_time_zone",
            "default_functionality",
            "expired_code_grace_days",
            "audit_log_for_viewers",
            "two_factor_required",
            "changed_at",
        ]
    )
    acting_user.company = company
    changes = audit_changes(shown_before, _company_settings_as_shown(company))
    audit_record(
        company=company,
        actor=acting_user,
        action="company.settings_updated",
        obj=company,
        summary="Company settings changed" if changes else "Company settings saved without changes",
        changes=changes,
        data={
            "before": before,
            "after": {
                "default_time_zone": company.default_time_zone,
                "default_functionality": company.default_functionality,
                "expired_code_grace_days": company.expired_code_grace_days,
                "audit_log_for_viewers": company.audit_log_for_viewers,
                "two_factor_required": company.two_factor_required,
            },
        },
    )
    return company


@transaction.atomic
def company_update(
    *,
    acting_user: Actor,
    company: Company,
    name: str,
    default_time_zone: str,
    area_support: bool,
    default_functionality: list[str],
    expired_code_grace_days: int | None = None,
    audit_log_for_viewers: bool | None = None,
    two_factor_required: str | None = None,
) -> Company:
    """
    Operators only (the Django admin): rename a company, switch its Area
    Support subscription and change its settings (``expired_code_grace_days``
    ``audit_log_for_viewers`` and ``two_factor_required`` None keep theirs).
    """
    require_operator(acting_user)
    name = name.strip()
    errors: dict[str, str] = {}
    if not name:
        errors["name"] = "Enter a name."
    elif len(name) > COMPANY_NAME_MAX_LENGTH:
        errors["name"] = f"Ensure this value has at most {COMPANY_NAME_MAX_LENGTH} characters (it has {len(name)})."
    elif company_name_taken(name=name, exclude_pk=company.pk):
        errors["name"] = COMPANY_NAME_TAKEN
    if not is_valid_time_zone(default_time_zone):
        errors["default_time_zone"] = "Choose a time zone from the IANA list, e.g. America/Chicago."
    if functionality_error := _functionality_errors(default_functionality):
        errors["default_functionality"] = functionality_error
    if expired_code_grace_days is not None and (grace_error := _grace_days_errors(expired_code_grace_days)):
        errors["expired_code_grace_days"] = grace_error
    if errors:
        raise ValidationError(errors)
    company = Company.objects.select_for_update().get(pk=company.pk)
    fields: tuple[str, ...] = (
        "name",
        "default_time_zone",
        "area_support",
        "default_functionality",
        "expired_code_grace_days",
    )
    before = {field: getattr(company, field) for field in fields}
    shown_before = _company_as_shown(company)
    company.name = name
    company.default_time_zone = default_time_zone
    company.area_support = area_support
    company.default_functionality = _in_choice_order(default_functionality)
    if expired_code_grace_days is not None:
        company.expired_code_grace_days = expired_code_grace_days
    if audit_log_for_viewers is not None:
        before["audit_log_for_viewers"] = company.audit_log_for_viewers
        company.audit_log_for_viewers = audit_log_for_viewers
        fields = (*fields, "audit_log_for_viewers")
    if two_factor_required is not None:
        if two_factor_required not in TwoFactorPolicy.values:
            raise ValidationError({"two_factor_required": "Choose who must sign in with a second factor."})
        before["two_factor_required"] = company.two_factor_required
        company.two_factor_required = two_factor_required
        fields = (*fields, "two_factor_required")
    name_taken = ValidationError({"name": COMPANY_NAME_TAKEN})
    with taken_meanwhile(name_taken, taken=lambda: company_name_taken(name=name, exclude_pk=company.pk)):
        company.save(update_fields=[*fields, "changed_at"])
    with company_scope(company):
        audit_record(
            company=company,
            actor=acting_user,
            action="company.updated",
            obj=company,
            summary=f"Company {name} changed by an operator"
            if (changes := audit_changes(shown_before, _company_as_shown(company)))
            else f"Company {name} saved by an operator without changes",
            changes=changes,
            data={"before": before, "after": {field: getattr(company, field) for field in fields}},
        )
    return company


def user_lockout_record(*, email: str, address: str) -> None:
    """
    The account ``email`` has just reached its limit of failed sign-ins
    (``tenancy.sign_in``): a ``user.locked_out`` event in its company's audit
    log, with the client's address, never the password. Nothing for an
    address that belongs to no account; an operator (no company) is named by
    id in the server log.
    """
    user = User.objects.filter(email=email.strip().lower()).select_related("company").first()
    if user is None:
        return
    minutes = max(1, settings.SIGN_IN_WINDOW_SECONDS // 60)
    if user.company is None:
        logger.warning("Operator account %s locked out of sign-in for up to %s minutes", user.pk, minutes)
        return
    audit_record(
        company=user.company,
        actor=SIGN_IN_GUARD,
        action="user.locked_out",
        obj=user,
        summary=(
            f"Sign-in for {user.email} locked for up to {minutes} minutes after "
            f"{settings.SIGN_IN_FAILED_PER_ACCOUNT} failed attempts"
        ),
        data={"user_id": user.pk, "address": address},
    )


# What each account event (allauth's flows, tenancy.sign_in) says in the audit log.
ACCOUNT_EVENT_SUMMARIES = {
    "user.password_reset_requested": "Password reset link requested for {email}",
    "user.password_reset": "Password of {email} reset from an emailed link; every session ended",
    "user.password_changed": "{email} changed their password; their other sessions ended",
    "user.two_factor_added": "{email} added two-factor sign-in: {method}",
    "user.two_factor_removed": "{email} removed two-factor sign-in: {method}",
    "user.recovery_codes_renewed": "{email} renewed their recovery codes",
    "user.recovery_code_used": "{email} signed in with a recovery code",
    "user.signed_out_everywhere": "{email} signed out of every other session",
}


def account_event_record(*, user: User, action: str, address: str = "", method: str = "") -> None:
    """
    An event of the user's own account (a password reset, a two-factor
    method added, a recovery code used) in their company's audit log, with
    the client's address: never a token, a code or a password. An operator
    (no company) is named by id in the server log.
    """
    summary = ACCOUNT_EVENT_SUMMARIES[action].format(email=user.email, method=method)
    if user.company_id is None:
        logger.info("Operator account %s: %s", user.pk, action)
        return
    audit_record(
        company=user.company,  # type: ignore[arg-type]
        actor=user,
        action=action,
        obj=user,
        summary=summary,
        data={"user_id": user.pk, "address": address, **({"method": method} if method else {})},
    )
