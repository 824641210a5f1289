"""Keep a team's and a client's area inside the row's own company."""

from django.db import migrations, models

from backoffice.core.migration_operations import CompanyConsistentForeignKey


class Migration(migrations.Migration):
    dependencies = [
        ("organization", "0002_initial"),
        ("tenancy", "0001_initial"),
    ]

    operations = [
        migrations.AddConstraint(
            model_name="area",
            constraint=models.UniqueConstraint(fields=("company", "id"), name="organization_area_company_id"),
        ),
        CompanyConsistentForeignKey("organization_team", "area_id", "organization_area"),
        CompanyConsistentForeignKey("organization_client", "area_id", "organization_area"),
    ]
