"""
The Clients tab rule (docs/clients-and-functionality.md), checked on the
device's configuration: a table over every combination, and a property test
against the rule written independently in plain Python sets.
"""

import itertools

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backoffice.devices.choices import ClientScope, ClientSelectionType
from backoffice.devices.clients import ClientSettings, effective_clients
from backoffice.devices.models import Device, DeviceClient
from backoffice.devices.selectors import device_effective_config
from backoffice.devices.services import device_update
from backoffice.documents.models import Document
from backoffice.organization.services import company_create
from backoffice.tenancy.permissions import OPERATOR_COMMAND
from backoffice.tenancy.scoping import company_scope
from tests.devices.clients_setup import R, W, lay_out
from tests.factories import AreaFactory, ClientFactory, DeviceFactory, LicenseFactory, TeamFactory

ALL_RETAIL = ("retail_in", "retail_out", "retail_none")
ALL_WHOLESALE = ("wholesale_in", "wholesale_out", "wholesale_picked", "wholesale_doc")


def expected(kind: str, scope: str, area: bool, documents: bool) -> set[str]:
    """The table, written out by hand."""
    retail = set(ALL_RETAIL) if kind in ("both", "retail") else set()
    if kind == "retail":
        wholesale: set[str] = set()
    elif scope == "all":
        wholesale = set(ALL_WHOLESALE)
    else:
        wholesale = {"wholesale_picked"} | ({"wholesale_doc"} if documents else set())
    if area:
        wholesale |= {"wholesale_in"} if kind != "retail" else set()
        retail |= {"retail_in"} if kind != "wholesale" else set()
    return retail | wholesale


COMBINATIONS = list(
    itertools.product(("both", "retail", "wholesale"), ("all", "selected"), (False, True), (False, True))
)


@pytest.mark.parametrize(("kind", "scope", "area", "documents"), COMBINATIONS)
def test_every_combination_gives_exactly_the_expected_clients(company_a, team_a, admin_a, kind, scope, area, documents):
    layout = lay_out(company_a, team_a)
    with company_scope(company_a):
        device = DeviceFactory(company=company_a, team=team_a, license=LicenseFactory(company=company_a))
        if documents:
            Document.objects.create(
                company=company_a,
                kind="work_order",
                number="WO-1",
                client=layout.clients["wholesale_doc"],
                device=device,
            )
        arguments = {
            "device": device,
            "acting_user": admin_a,
            "team": team_a,
            "license": device.license,
            "nickname": device.nickname,
            "clients": ClientSettings(
                client_selection_type=kind,
                client_scope=scope,
                include_area_clients=area,
                assigned_client_ids=(layout.clients["wholesale_picked"].pk,),
            ),
            "functionality_mode": "company",
            "functionality": [],
        }
        if kind == "retail" and scope == "selected":
            with pytest.raises(ValidationError) as refused:
                device_update(**arguments)
            assert "client_scope" in refused.value.message_dict
            device.refresh_from_db()
            assert (device.client_selection_type, device.client_scope) == ("both", "all")
            return
        device_update(**arguments)
        device = Device.objects.select_related("team", "company").get(pk=device.pk)
        names = {client["name"] for client in device_effective_config(device=device)["clients"]}
    assert names == expected(kind, scope, area, documents)
    assert "wholesale_archived" not in names


def test_area_clients_need_area_support(company_a, team_a, admin_a):
    layout = lay_out(company_a, team_a, area_support=False)
    with company_scope(company_a):
        clients = effective_clients(
            company=company_a,
            team=team_a,
            clients=ClientSettings(
                client_selection_type="wholesale", client_scope="selected", include_area_clients=True
            ),
        )
        assert list(clients) == []
    assert layout.area.pk == team_a.area_id


# The property test: random companies, random devices.

client_spec = st.tuples(
    st.sampled_from([R, W]),  # type
    st.sampled_from([None, 0, 1]),  # area: none, the first or the second
    st.booleans(),  # active
)
device_spec = st.fixed_dictionaries(
    {
        "kind": st.sampled_from(ClientSelectionType.values),
        "scope": st.sampled_from(ClientScope.values),
        "area": st.booleans(),
        "team_area": st.sampled_from([None, 0, 1]),
        "area_support": st.booleans(),
    }
)


class Rollback(Exception):
    pass


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    clients=st.lists(client_spec, min_size=0, max_size=12),
    device=device_spec,
    assigned=st.sets(st.integers(min_value=0, max_value=11), max_size=6),
    documents=st.sets(st.integers(min_value=0, max_value=11), max_size=6),
)
def test_effective_clients_follow_the_written_rule(clients, device, assigned, documents):
    try:
        with transaction.atomic():
            company = company_create(
                acting_user=OPERATOR_COMMAND,
                name="Random Co",
                default_time_zone="UTC",
                area_support=device["area_support"],
            )
            with company_scope(company):
                areas = [AreaFactory(company=company), AreaFactory(company=company)]
                team = TeamFactory(
                    company=company, area=None if device["team_area"] is None else areas[device["team_area"]]
                )
                rows = [
                    ClientFactory(
                        company=company,
                        client_type=kind,
                        area=None if where is None else areas[where],
                        is_active=active,
                    )
                    for kind, where, active in clients
                ]
                row = DeviceFactory(
                    company=company,
                    team=team,
                    license=LicenseFactory(company=company),
                    client_selection_type=device["kind"],
                    client_scope=device["scope"],
                    include_area_clients=device["area"],
                )
                assigned_rows = [rows[i] for i in assigned if i < len(rows) and rows[i].client_type == W]
                DeviceClient.objects.bulk_create(
                    DeviceClient(company=company, device=row, client=client) for client in assigned_rows
                )
                for i in documents:
                    if i < len(rows):
                        Document.objects.create(
                            company=company, kind="inspection", number="I", client=rows[i], device=row
                        )
                row = Device.objects.select_related("team", "company").get(pk=row.pk)
                got = {client["id"] for client in device_effective_config(device=row)["clients"]}

                # The rule, from docs/clients-and-functionality.md, in plain sets.
                types = {"both": {R, W}, "retail": {R}, "wholesale": {W}}[device["kind"]]
                active = [c for c in rows if c.is_active]
                if device["scope"] == "all":
                    want = {c.pk for c in active if c.client_type in types}
                else:
                    want = {c.pk for c in active if c.client_type == R and R in types}
                    if W in types:
                        picked = {c.pk for c in assigned_rows} | {rows[i].pk for i in documents if i < len(rows)}
                        want |= {c.pk for c in active if c.client_type == W and c.pk in picked}
                if device["area_support"] and device["area"] and team.area_id is not None:
                    want |= {c.pk for c in active if c.area_id == team.area_id and c.client_type in types}
                assert got == want
            raise Rollback
    except Rollback:
        pass


def test_other_company_clients_never_appear(company_a, company_b, team_a):
    lay_out(company_a, team_a)
    with company_scope(company_b):
        ClientFactory(company=company_b, name="Foreign wholesale", client_type=W)
        ClientFactory(company=company_b, name="Foreign retail", client_type=R)
    with company_scope(company_a):
        device = DeviceFactory(company=company_a, team=team_a, license=LicenseFactory(company=company_a))
        device = Device.objects.select_related("team", "company").get(pk=device.pk)
        names = {client["name"] for client in device_effective_config(device=device)["clients"]}
    assert not {"Foreign wholesale", "Foreign retail"} & names
