"""Reads of organization that the device pages use."""

from backoffice.organization.selectors import (
    CLIENT_SEARCH_LIMIT,
    team_members,
    wholesale_client_pick,
    wholesale_client_search,
)
from backoffice.tenancy.scoping import company_scope
from tests.factories import ClientFactory, DeviceFactory, EmployeeFactory, LicenseFactory


def test_wholesale_client_search_and_pick(company_a, company_b):
    with company_scope(company_b):
        ClientFactory(company=company_b, name="Metro Ford")
    with company_scope(company_a):
        ford = ClientFactory(company=company_a, name="Metro Ford")
        kia = ClientFactory(company=company_a, name="metro kia")
        ClientFactory(company=company_a, name="Metro Retail", client_type="retail")
        ClientFactory(company=company_a, name="Metro Closed", is_active=False)
        twin_1 = ClientFactory(company=company_a, name="Twin Motors")
        # The same name as a retail client is another client; the wholesale one is meant.
        ClientFactory(company=company_a, name="Twin Motors", client_type="retail")
        assert CLIENT_SEARCH_LIMIT == 50
        assert wholesale_client_search(q=" METRO ") == [ford, kia]
        assert wholesale_client_search(q="", limit=1) == [ford]
        assert wholesale_client_pick(text=f"Anything · #{kia.pk}") == (kia, "")
        assert wholesale_client_pick(text="metro FORD") == (ford, "")
        assert wholesale_client_pick(text=f"Twin Motors · #{twin_1.pk}") == (twin_1, "")
        assert wholesale_client_pick(text="  ") == (None, "Choose a wholesale client from the list, then click Add.")
        assert wholesale_client_pick(text="twin MOTORS") == (twin_1, "")
        assert wholesale_client_pick(text="Metro Retail") == (
            None,
            "No active wholesale client is called “Metro Retail”; choose one from the list.",
        )


def test_team_members_counts_devices_through_the_team(company_a, team_a, teamadmin_a):
    with company_scope(company_a):
        DeviceFactory(company=company_a, team=team_a, license=LicenseFactory(company=company_a))
        DeviceFactory(company=company_a, team=team_a)
        EmployeeFactory(company=company_a, team=team_a, is_active=False)
        members = team_members(team=team_a)
    assert (members.devices, members.employees, members.administrators, members.is_empty) == (2, 1, 1, False)
