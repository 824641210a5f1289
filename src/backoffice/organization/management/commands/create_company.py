"""manage.py create_company: operators open a new company with its first Administrator."""

import secrets
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from backoffice.organization.services import company_create
from backoffice.tenancy.permissions import OPERATOR_COMMAND


class Command(BaseCommand):
    help = "Create a company, its Default Team and its first Administrator."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", required=True, help="the company's name (unique)")
        parser.add_argument("--time-zone", required=True, dest="time_zone", help="IANA name, e.g. America/Chicago")
        parser.add_argument("--admin-email", required=True, dest="admin_email")
        parser.add_argument(
            "--admin-password", dest="admin_password", default=None, help="default: a generated one, printed once"
        )
        parser.add_argument(
            "--area-support", action="store_true", dest="area_support", help="subscribe to Area Support"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        password = options["admin_password"]
        generated = password is None
        if generated:
            password = secrets.token_urlsafe(12)
        try:
            company = company_create(
                acting_user=OPERATOR_COMMAND,
                name=options["name"],
                default_time_zone=options["time_zone"],
                area_support=options["area_support"],
                admin_email=options["admin_email"],
                admin_password=password,
            )
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        self.stdout.write(f"Created company {company.name} (id {company.pk}), time zone {company.default_time_zone}.")
        self.stdout.write(f"Administrator: {options['admin_email'].strip().lower()}")
        if generated:
            self.stdout.write(f"Generated password (shown once): {password}")
