"""manage.py issue_licenses: operators issue licenses to a company."""

import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import ngettext

from backoffice.licensing.choices import LicenseType
from backoffice.licensing.services import license_issue
from backoffice.tenancy.permissions import OPERATOR_COMMAND
from backoffice.tenancy.selectors import company_find


class Command(BaseCommand):
    help = "Issue licenses to a company; numbers continue after the company's highest number."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--company", required=True, help="the company's exact name or its id")
        parser.add_argument("--count", required=True, type=int, help="how many licenses to issue")
        parser.add_argument("--type", required=True, choices=LicenseType.values, dest="license_type")
        parser.add_argument("--expires", required=True, help="last valid day, YYYY-MM-DD")
        parser.add_argument("--prefix", default=None, help="number prefix, e.g. NW- (default: the latest license's)")

    def handle(self, *args: Any, **options: Any) -> None:
        company = company_find(options["company"])
        if company is None:
            raise CommandError(f"No company named or numbered {options['company']!r}.")
        try:
            expires_on = datetime.date.fromisoformat(options["expires"])
        except ValueError:
            raise CommandError(f"--expires must be a date as YYYY-MM-DD, not {options['expires']!r}.") from None
        try:
            licenses = license_issue(
                acting_user=OPERATOR_COMMAND,
                company=company,
                count=options["count"],
                license_type=options["license_type"],
                expires_on=expires_on,
                prefix=options["prefix"],
            )
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        self.stdout.write(
            ngettext("Issued %(count)d %(type)s license", "Issued %(count)d %(type)s licenses", len(licenses))
            % {"count": len(licenses), "type": options["license_type"]}
            + f" to {company.name}, valid to {expires_on.isoformat()}:"
        )
        for lic in licenses:
            self.stdout.write(f"  {lic.number}")
