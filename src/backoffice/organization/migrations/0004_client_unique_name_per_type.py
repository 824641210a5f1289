"""
Client names unique per company and type, in any case.

Existing duplicates are renamed first, deterministically: in each group of
clients of one company and type whose names differ only in case, the oldest
(lowest id) keeps its name and the others become "Name (2)", "Name (3)", ...
in id order, skipping any suffix already taken.
"""

from collections import defaultdict

from django.db import migrations, models
from django.db.models.functions import Lower

NAME_MAX_LENGTH = 150


def rename_duplicates(apps, schema_editor):
    client_model = apps.get_model("organization", "Client")
    rows = client_model._base_manager.order_by("company_id", "client_type", "id").values_list(
        "id", "company_id", "client_type", "name"
    )
    taken: dict[tuple[int, str], set[str]] = defaultdict(set)
    groups: dict[tuple[int, str, str], list[tuple[int, str]]] = defaultdict(list)
    for pk, company_id, client_type, name in rows:
        taken[(company_id, client_type)].add(name.lower())
        groups[(company_id, client_type, name.lower())].append((pk, name))
    for (company_id, client_type, _key), members in groups.items():
        names = taken[(company_id, client_type)]
        for pk, name in members[1:]:
            n = 2
            while True:
                suffix = f" ({n})"
                candidate = name[: NAME_MAX_LENGTH - len(suffix)] + suffix
                if candidate.lower() not in names:
                    break
                n += 1
            names.add(candidate.lower())
            client_model._base_manager.filter(pk=pk).update(name=candidate)


class Migration(migrations.Migration):
    dependencies = [
        ("organization", "0003_area_company_consistency"),
    ]

    operations = [
        migrations.RunPython(rename_duplicates, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="client",
            constraint=models.UniqueConstraint(
                models.F("company"),
                models.F("client_type"),
                Lower("name"),
                name="organization_client_unique_name_per_type",
                violation_error_message="A client of this type with this name already exists.",
            ),
        ),
    ]
