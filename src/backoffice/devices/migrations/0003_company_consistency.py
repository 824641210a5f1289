"""Database rules that keep cross-table references inside one company."""

from django.db import migrations

from backoffice.core.migration_operations import CompanyConsistentForeignKey


class Migration(migrations.Migration):
    dependencies = [
        ("devices", "0002_initial"),
        ("documents", "0003_initial"),
        ("organization", "0002_initial"),
        ("licensing", "0002_initial"),
        ("tenancy", "0001_initial"),
    ]

    operations = [
        CompanyConsistentForeignKey("devices_device", "team_id", "organization_team"),
        CompanyConsistentForeignKey("devices_device", "license_id", "licensing_license"),
        CompanyConsistentForeignKey("devices_deviceclient", "client_id", "organization_client"),
        CompanyConsistentForeignKey("organization_employee", "team_id", "organization_team"),
        CompanyConsistentForeignKey("documents_document", "client_id", "organization_client"),
        CompanyConsistentForeignKey("tenancy_user", "team_id", "organization_team"),
    ]
