"""The deferred-join pager lists exactly the rows the plain paginator lists, page by page."""

import pytest

from backoffice.core.pagination import paginate
from backoffice.devices.selectors import device_page, device_registered_list
from backoffice.devices.selectors.active_devices import DEVICE_SORTS
from backoffice.tenancy.scoping import company_scope
from tests.factories import DeviceFactory, TeamFactory


@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("sort", sorted(DEVICE_SORTS))
def test_every_page_equals_the_plain_paginator(admin_a, company_a, team_a, sort, descending):
    with company_scope(company_a):
        other = TeamFactory(company=company_a, name="Another team")
        for i in range(23):
            # Repeated nicknames and teams make the ties that the id breaks.
            DeviceFactory(company=company_a, team=team_a if i % 3 else other, nickname=f"Unit {i % 7}")
        devices = device_registered_list(user=admin_a, sort=sort, descending=descending)
        expected = [device.pk for device in devices]
        assert len(expected) == 23
        seen = []
        for number in ("1", "2", "3"):
            page = device_page(devices, number, per_page=10)
            plain = paginate(devices, number, per_page=10)
            assert [device.pk for device in page.object_list] == [device.pk for device in plain.object_list]
            assert (page.number, page.paginator.count, page.paginator.num_pages) == (int(number), 23, 3)
            # The rows come whole, with the relations the table shows.
            assert all(device.team.name for device in page.object_list)
            seen += [device.pk for device in page.object_list]
        assert seen == expected
        # A page past the end gives the last page, as the plain paginator does.
        assert [d.pk for d in device_page(devices, "99", per_page=10).object_list] == expected[20:]
