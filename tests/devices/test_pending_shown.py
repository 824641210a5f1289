"""
Pending Registrations shows the oldest ``PENDING_SHOWN`` rows until "Show
all" is asked for: the section is polled every 10 s in every open tab, so its
rendering stays bounded however many codes are out; the search still looks
at every row, and "Show all" (``pall=1``) stays on through the poll.
"""

import re

from backoffice.devices.templatetags.device_tags import PENDING_SHOWN
from tests.devices.test_pending_refresh import add_pending


def shown_rows(html: str) -> list[str]:
    return re.findall(r'<tr id="pending-(\d+)"', html)


def test_the_section_shows_the_oldest_rows_and_offers_the_rest(as_admin_a, admin_a, company_a, team_a):
    devices = [add_pending(company_a, admin_a, team_a, nickname=f"Tablet {i:03d}") for i in range(PENDING_SHOWN + 3)]
    html = as_admin_a.get("/devices/").content.decode()
    assert shown_rows(html) == [str(d.pk) for d in devices[:PENDING_SHOWN]]
    assert f"Showing the {PENDING_SHOWN} oldest of {PENDING_SHOWN + 3}." in html
    assert 'href="?pall=1#pending-registrations"' in html
    everything = as_admin_a.get("/devices/?pall=1").content.decode()
    assert shown_rows(everything) == [str(d.pk) for d in devices]
    assert "oldest of" not in everything
    # The poll keeps "Show all" (the hidden field the section includes), and the search looks at every row.
    assert 'id="pending-all" name="pall" value="1"' in everything
    polled = as_admin_a.get("/devices/pending/?pall=1", headers={"HX-Request": "true"}).content.decode()
    assert shown_rows(polled) == [str(d.pk) for d in devices]
    found = as_admin_a.get(f"/devices/?pq=Tablet+{PENDING_SHOWN + 2:03d}").content.decode()
    assert shown_rows(found) == [str(devices[-1].pk)]


def test_a_section_within_the_limit_shows_every_row_and_no_link(as_admin_a, admin_a, company_a, team_a):
    devices = [add_pending(company_a, admin_a, team_a, nickname=f"Van {i}") for i in range(3)]
    html = as_admin_a.get("/devices/").content.decode()
    assert shown_rows(html) == [str(d.pk) for d in devices]
    assert "oldest of" not in html
    assert "pall=1" not in html
