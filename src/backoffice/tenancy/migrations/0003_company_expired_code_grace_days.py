"""How long a never-registered device keeps its license after its code expired (company settings)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("tenancy", "0002_company_name_ci_unique"),
    ]

    operations = [
        migrations.AddField(
            model_name="company",
            name="expired_code_grace_days",
            field=models.PositiveSmallIntegerField(
                default=7,
                help_text=(
                    "A device that was never registered keeps its license this many days after its registration "
                    "code expired; then the license is released for another device. 0 releases it as soon as the "
                    "code expires."
                ),
                verbose_name="license release after an expired code (days)",
            ),
        ),
        migrations.AddConstraint(
            model_name="company",
            constraint=models.CheckConstraint(
                condition=models.Q(expired_code_grace_days__lte=90),
                name="tenancy_company_grace_days_range",
                violation_error_message="Enter 0 to 90 days.",
            ),
        ),
    ]
