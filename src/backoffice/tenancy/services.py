"""Writes on companies and Back Office users."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from backoffice.audit.services import audit_record
from backoffice.tenancy.scoping import company_scope
from backoffice.core.timezones import is_valid_time_zone
from backoffice.tenancy.choices import Functionality
from backoffice.organization.models import Team
from backoffice.tenancy.choices import Role
from backoffice.tenancy.models import Company, User
from backoffice.tenancy.permissions import require_role
from backoffice.tenancy.selectors import user_email_taken
from backoffice.tenancy.validation import password_check

DEFAULT_TEAM_NAME = "Default Team"
EMAIL_MAX_LENGTH = 254
FULL_NAME_MAX_LENGTH = 120


@transaction.atomic
def company_create(
    *,
    name: str,
    default_time_zone: str = "America/New_York",
    area_support: bool = False,
    acting_user: User | None = None,
    admin_email: str | None = None,
    admin_password: str | None = None,
) -> Company:
    """
    Create a company together with its Default Team and, given
    ``admin_email`` and ``admin_password``, its first Administrator. Called by
    operators (the ``create_company`` command, demo data), never by a
    company's own users.
    """
    if acting_user is not None and not acting_user.is_staff:
        raise PermissionDenied("Only operators create companies.")
    errors: dict[str, str] = {}
    if not name.strip():
        errors["name"] = "Enter a name."
    elif Company.objects.filter(name__iexact=name.strip()).exists():
        errors["name"] = "A company with this name already exists."
    if not is_valid_time_zone(default_time_zone):
        errors["default_time_zone"] = "Choose a time zone from the IANA list, e.g. America/Chicago."
    if admin_email is not None and user_email_taken(email=admin_email):
        errors["admin_email"] = "A user with this email already exists."
    if errors:
        raise ValidationError(errors)
    name = name.strip()
    company = Company.objects.create(name=name, default_time_zone=default_time_zone, area_support=area_support)
    with company_scope(company):
        Team.objects.create(company=company, name=DEFAULT_TEAM_NAME, time_zone=default_time_zone, is_default=True)
        audit_record(
            company=company, actor=acting_user, action="company.created", obj=company, summary=f"Company {name} created"
        )
        if admin_email is not None:
            admin = User(email=admin_email.strip().lower(), company=company, role=Role.ADMINISTRATOR)
            if admin_password is None:
                raise ValidationError({"admin_password": "Set a password for the first Administrator."})
            try:
                password_check(admin_password, user=admin)
            except ValidationError as error:
                raise ValidationError({"admin_password": error.messages}) from None
            admin.set_password(admin_password)
            admin.save()
            audit_record(
                company=company,
                actor=acting_user,
                action="user.created",
                obj=admin,
                summary=f"User {admin.email} created as Administrator",
                data={"email": admin.email, "role": Role.ADMINISTRATOR},
            )
    return company


def _role_fields(*, acting_user: User, role: str, team: Team | None) -> Team | None:
    """Check a role and its team; return the team to store (only a Team Administrator has one)."""
    if role not in Role.values:
        raise ValidationError({"role": "Choose a role."})
    if role != Role.TEAM_ADMINISTRATOR:
        return None
    if team is None:
        raise ValidationError({"team": "A Team Administrator needs a team."})
    if team.company_id != acting_user.company_id:
        raise ValidationError({"team": "Choose one of your company's teams."})
    return team


@transaction.atomic
def user_create(*, acting_user: User, email: str, full_name: str, role: str, team: Team | None, password: str) -> User:
    """
    Add a Back Office user to the acting Administrator's company with a
    password the Administrator chose (no email is sent). Emails are unique
    across the whole service, since users sign in with them.
    """
    company = require_role(acting_user, Role.ADMINISTRATOR)
    email = email.strip().lower()
    errors: dict[str, list[str]] = {}
    if not email:
        errors["email"] = ["Enter an email address."]
    elif len(email) > EMAIL_MAX_LENGTH:
        errors["email"] = [f"Ensure this value has at most {EMAIL_MAX_LENGTH} characters (it has {len(email)})."]
    elif user_email_taken(email=email):
        errors["email"] = ["A user with this email already exists."]
    if len(full_name.strip()) > FULL_NAME_MAX_LENGTH:
        errors["full_name"] = [f"Ensure this value has at most {FULL_NAME_MAX_LENGTH} characters."]
    try:
        team = _role_fields(acting_user=acting_user, role=role, team=team)
    except ValidationError as error:
        errors.update(error.message_dict)
    user = User(email=email, full_name=full_name.strip(), company=company, role=role, team=team, is_active=True)
    try:
        password_check(password, user=user)
    except ValidationError as error:
        errors["password"] = error.messages
    if errors:
        raise ValidationError(errors)
    user.set_password(password)
    user.save()
    audit_record(
        company=company,
        actor=acting_user,
        action="user.created",
        obj=user,
        summary=f"User {email} created as {user.get_role_display()}",
        data={"email": email, "role": role, "team_id": team.pk if team else None},
    )
    return user


@transaction.atomic
def user_update(*, acting_user: User, user: User, full_name: str, role: str, team: Team | None) -> User:
    """Change a user's name, role and team. An Administrator cannot demote themselves."""
    company = require_role(acting_user, Role.ADMINISTRATOR)
    if user.company_id != acting_user.company_id:
        raise PermissionDenied("This user belongs to another company.")
    if user.pk == acting_user.pk and role != Role.ADMINISTRATOR:
        raise ValidationError({"role": "You cannot change your own role; ask another Administrator."})
    if len(full_name.strip()) > FULL_NAME_MAX_LENGTH:
        raise ValidationError({"full_name": f"Ensure this value has at most {FULL_NAME_MAX_LENGTH} characters."})
    team = _role_fields(acting_user=acting_user, role=role, team=team)
    before = {"full_name": user.full_name, "role": user.role, "team_id": user.team_id}
    user.full_name = full_name.strip()
    user.role = role
    user.team = team
    user.save(update_fields=["full_name", "role", "team"])
    audit_record(
        company=company,
        actor=acting_user,
        action="user.updated",
        obj=user,
        summary=f"User {user.email} changed ({user.get_role_display()})",
        data={"before": before, "after": {"full_name": user.full_name, "role": role, "team_id": user.team_id}},
    )
    return user


def _user_set_active(*, acting_user: User, user: User, active: bool) -> User:
    company = require_role(acting_user, Role.ADMINISTRATOR)
    if user.company_id != acting_user.company_id:
        raise PermissionDenied("This user belongs to another company.")
    if user.pk == acting_user.pk and not active:
        raise ValidationError("You cannot deactivate yourself; ask another Administrator.")
    if user.is_active != active:
        user.is_active = active
        user.save(update_fields=["is_active"])
        audit_record(
            company=company,
            actor=acting_user,
            action="user.reactivated" if active else "user.deactivated",
            obj=user,
            summary=f"User {user.email} {'reactivated' if active else 'deactivated'}",
        )
    return user


@transaction.atomic
def user_deactivate(*, acting_user: User, user: User) -> User:
    """Stop a user from signing in (their open sessions stop working too). Not oneself. Idempotent."""
    return _user_set_active(acting_user=acting_user, user=user, active=False)


@transaction.atomic
def user_reactivate(*, acting_user: User, user: User) -> User:
    """Let a deactivated user sign in again with their old password. Idempotent."""
    return _user_set_active(acting_user=acting_user, user=user, active=True)


@transaction.atomic
def company_settings_update(*, acting_user: User, default_time_zone: str, default_functionality: list[str]) -> Company:
    """
    Change the company's default time zone and the functionality a device
    gets with "Use Company Settings". Area Support is a subscription that
    operators switch, so it is not changed here.
    """
    company = require_role(acting_user, Role.ADMINISTRATOR)
    errors: dict[str, str] = {}
    if not is_valid_time_zone(default_time_zone):
        errors["default_time_zone"] = "Choose a time zone from the list, e.g. America/Chicago."
    unknown = sorted(set(default_functionality) - set(Functionality.values))
    if unknown:
        errors["default_functionality"] = f"Unknown functionality: {', '.join(unknown)}."
    if errors:
        raise ValidationError(errors)
    company = Company.objects.select_for_update().get(pk=company.pk)
    before = {"default_time_zone": company.default_time_zone, "default_functionality": company.default_functionality}
    company.default_time_zone = default_time_zone
    # Stored in the choices' order, so that the same selection is always the same list.
    company.default_functionality = [value for value in Functionality.values if value in default_functionality]
    company.save(update_fields=["default_time_zone", "default_functionality", "changed_at"])
    acting_user.company = company
    audit_record(
        company=company,
        actor=acting_user,
        action="company.settings_updated",
        obj=company,
        summary="Company settings changed",
        data={
            "before": before,
            "after": {
                "default_time_zone": company.default_time_zone,
                "default_functionality": company.default_functionality,
            },
        },
    )
    return company
