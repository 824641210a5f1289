"""
Client names are unique per company and client type, in any case: a clear
error next to the name on the client form, the same error when a concurrent
add wins the race, a database constraint behind both, and the migration that
renamed the duplicates stored before the rule.
"""

import importlib

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction

from backoffice.organization import services as organization_services
from backoffice.organization.models import Client
from backoffice.organization.services import client_create, client_update
from backoffice.tenancy.scoping import company_scope
from tests.dbstate import snapshot
from tests.factories import ClientFactory
from tests.organization.test_duplicates_race import check_misses_once

TAKEN = "A wholesale client named {name} already exists."


def names(company) -> list[tuple[str, str]]:
    with company_scope(company):
        return list(Client.objects.order_by("client_type", "name").values_list("name", "client_type"))


def form_errors(response) -> dict:
    return response.context["form"].errors


@pytest.mark.parametrize("name", ["Metro Ford", "METRO FORD", "  metro ford  "])
def test_adding_a_wholesale_client_with_a_taken_name_is_a_form_error(as_admin_a, client_a, name):
    before = snapshot()
    response = as_admin_a.post("/clients/add/", {"name": name, "client_type": "wholesale", "is_active": "on"})
    assert response.status_code == 200
    assert form_errors(response) == {"name": [TAKEN.format(name=name.strip())]}
    assert TAKEN.format(name=name.strip()) in response.content.decode()
    assert snapshot() == before


def test_the_same_name_as_another_type_or_in_another_company_is_accepted(
    as_admin_a, as_admin_b, company_a, company_b, client_a
):
    response = as_admin_a.post("/clients/add/", {"name": "Metro Ford", "client_type": "retail", "is_active": "on"})
    assert response.status_code == 302
    response = as_admin_b.post("/clients/add/", {"name": "Metro Ford", "client_type": "wholesale", "is_active": "on"})
    assert response.status_code == 302
    assert names(company_a) == [("Metro Ford", "retail"), ("Metro Ford", "wholesale")]
    assert names(company_b) == [("Metro Ford", "wholesale")]


def test_renaming_onto_a_taken_name_is_a_form_error_and_keeping_its_own_is_not(as_admin_a, company_a, client_a):
    with company_scope(company_a):
        other = ClientFactory(company=company_a, name="Lakeside Toyota", client_type="wholesale")
    before = snapshot()
    response = as_admin_a.post(f"/clients/{other.pk}/edit/", {"name": "metro FORD", "client_type": "wholesale"})
    assert response.status_code == 200
    assert form_errors(response) == {"name": [TAKEN.format(name="metro FORD")]}
    assert snapshot() == before
    # Its own name, in another case, is not "taken".
    response = as_admin_a.post(f"/clients/{client_a.pk}/edit/", {"name": "METRO Ford", "client_type": "wholesale"})
    assert response.status_code == 302
    assert ("METRO Ford", "wholesale") in names(company_a)


def test_changing_the_type_onto_a_taken_name_is_refused(as_admin_a, company_a, client_a):
    with company_scope(company_a):
        retail = ClientFactory(company=company_a, name="Metro Ford", client_type="retail")
    before = snapshot()
    response = as_admin_a.post(f"/clients/{retail.pk}/edit/", {"name": "Metro Ford", "client_type": "wholesale"})
    assert form_errors(response) == {"name": [TAKEN.format(name="Metro Ford")]}
    assert snapshot() == before


def test_the_service_refuses_a_taken_name_too(admin_a, company_a, client_a):
    with company_scope(company_a), pytest.raises(ValidationError) as raised:
        client_create(acting_user=admin_a, name="metro ford", client_type="wholesale")
    assert raised.value.message_dict == {"name": [TAKEN.format(name="metro ford")]}
    assert names(company_a) == [("Metro Ford", "wholesale")]


def test_the_database_refuses_a_duplicate_in_any_case(company_a, client_a):
    with company_scope(company_a), pytest.raises(IntegrityError), transaction.atomic():
        Client.objects.create(company=company_a, name="METRO FORD", client_type="wholesale")
    assert names(company_a) == [("Metro Ford", "wholesale")]


def test_a_lost_client_add_race_is_the_form_error(monkeypatch, admin_a, company_a, client_a):
    check_misses_once(monkeypatch, organization_services, "client_name_taken")
    with company_scope(company_a), pytest.raises(ValidationError) as raised:
        client_create(acting_user=admin_a, name="METRO ford", client_type="wholesale")
    assert raised.value.message_dict == {"name": [TAKEN.format(name="METRO ford")]}
    assert names(company_a) == [("Metro Ford", "wholesale")]


def test_a_lost_client_rename_race_is_the_form_error(monkeypatch, admin_a, company_a, client_a):
    with company_scope(company_a):
        other = ClientFactory(company=company_a, name="Lakeside Toyota", client_type="wholesale")
    check_misses_once(monkeypatch, organization_services, "client_name_taken")
    with company_scope(company_a), pytest.raises(ValidationError) as raised:
        client_update(
            acting_user=admin_a, client=other, name="Metro Ford", client_type="wholesale", area=None, is_active=True
        )
    assert raised.value.message_dict == {"name": [TAKEN.format(name="Metro Ford")]}
    assert names(company_a) == [("Lakeside Toyota", "wholesale"), ("Metro Ford", "wholesale")]


def test_the_migration_renames_stored_duplicates_deterministically(company_a, company_b):
    """
    Rows stored before the rule: the oldest of each group keeps its name, the
    others get " (2)", " (3)" in id order, skipping a suffix already taken.
    The index is dropped inside the test's transaction (rolled back after).
    """
    migration = importlib.import_module("backoffice.organization.migrations.0004_client_unique_name_per_type")
    with connection.cursor() as cursor:
        cursor.execute('DROP INDEX "organization_client_unique_name_per_type"')
    with company_scope(company_a):
        first = ClientFactory(company=company_a, name="Metro Ford", client_type="wholesale")
        second = ClientFactory(company=company_a, name="METRO FORD", client_type="wholesale")
        taken = ClientFactory(company=company_a, name="Metro Ford (2)", client_type="wholesale")
        third = ClientFactory(company=company_a, name="metro ford", client_type="wholesale")
        retail = ClientFactory(company=company_a, name="Metro Ford", client_type="retail")
        long_a = ClientFactory(company=company_a, name="L" * 150, client_type="wholesale")
        long_b = ClientFactory(company=company_a, name="l" * 150, client_type="wholesale")
    with company_scope(company_b):
        other_company = ClientFactory(company=company_b, name="Metro Ford", client_type="wholesale")
    migration.rename_duplicates(apps, None)
    renamed = dict(Client._base_manager.values_list("pk", "name"))
    assert renamed == {
        first.pk: "Metro Ford",
        second.pk: "METRO FORD (3)",
        taken.pk: "Metro Ford (2)",
        third.pk: "metro ford (4)",
        retail.pk: "Metro Ford",
        long_a.pk: "L" * 150,
        long_b.pk: "l" * 146 + " (2)",
        other_company.pk: "Metro Ford",
    }
    # Run again, nothing changes.
    migration.rename_duplicates(apps, None)
    assert dict(Client._base_manager.values_list("pk", "name")) == renamed
