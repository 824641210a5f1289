"""The printable code sheet of a batch or of a selection of pending devices: HTML and PDF, and who may see it."""

import re
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

from backoffice.devices.codes import code_format, code_unseal
from backoffice.devices.models import Device, RegistrationCode
from backoffice.devices.services import registration_code_replace
from backoffice.organization.models import Team
from backoffice.tenancy.scoping import company_scope
from tests.devices.batch_setup import batch_payload, free_licenses
from tests.factories import DeviceFactory, LicenseFactory

needs_poppler = pytest.mark.skipif(
    not (shutil.which("pdftotext") and shutil.which("pdftoppm")), reason="needs poppler-utils"
)


def _add_batch(http, team, **overrides) -> str:
    response = http.post("/devices/add/", batch_payload(team=team, **overrides))
    assert response.status_code == 302, response.content.decode()[:2000]
    return response["Location"]


def _codes(company, sheet_url: str) -> dict[str, str]:
    """Nickname → formatted code of the batch whose sheet is ``sheet_url``."""
    batch_id = uuid.UUID(sheet_url.split("batch=", 1)[1])
    with company_scope(company):
        codes = RegistrationCode.objects.filter(batch_id=batch_id).select_related("device")
        return {code.device.nickname: code_format(code_unseal(code.sealed_code) or "") for code in codes}


def test_the_batch_sheet_shows_every_device_with_its_code_qr_team_and_expiry(as_admin_a, company_a, team_a):
    free_licenses(company_a, 4)
    url = _add_batch(as_admin_a, team_a, quantity="4")
    response = as_admin_a.get(url)
    html = response.content.decode()
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    for nickname, code in _codes(company_a, url).items():
        assert nickname in html
        assert f'<p class="sheet-card__code">{code}</p>' in html
    assert html.count("<svg") == 4
    assert html.count("Team: Alpha Team") == 4
    assert html.count("Tap Verification and type the code.") == 4
    assert "Expiry times are America/Chicago time." in html
    assert 'name="layout" value="grid"' in html
    assert "format=pdf" in html


def test_codes_that_can_no_longer_be_used_are_shown_as_such_and_not_printed(as_admin_a, admin_a, company_a, team_a):
    free_licenses(company_a, 3)
    url = _add_batch(as_admin_a, team_a, quantity="3")
    codes = _codes(company_a, url)
    with company_scope(company_a):
        replaced = Device.objects.get(nickname="Van tablet 02")
        registration_code_replace(device=replaced, acting_user=admin_a)
    html = as_admin_a.get(url).content.decode()
    assert codes["Van tablet 02"] not in html
    assert "Replaced or cancelled: no longer valid" in html
    assert codes["Van tablet 01"] in html
    assert "2 of 3 codes can be printed." in html


def test_a_selection_of_pending_devices_by_ids_in_the_given_order(as_admin_a, company_a, team_a):
    free_licenses(company_a, 3)
    url = _add_batch(as_admin_a, team_a, quantity="3")
    with company_scope(company_a):
        ids = list(Device.objects.order_by("-nickname").values_list("pk", flat=True))
    html = as_admin_a.get(f"/devices/codes/sheet/?ids={ids[0]},{ids[2]}").content.decode()
    assert html.index("Van tablet 03") < html.index("Van tablet 01")
    assert "Van tablet 02" not in html
    assert _codes(company_a, url)["Van tablet 03"] in html


@pytest.mark.parametrize("query", ["ids=abc", "ids=1,,x", "ids=", "batch=not-a-uuid", "", f"batch={uuid.uuid4()}"])
def test_bad_or_unknown_selections_are_404(as_admin_a, query):
    assert as_admin_a.get(f"/devices/codes/sheet/?{query}").status_code == 404


def test_more_ids_than_a_sheet_takes_are_refused(as_admin_a):
    response = as_admin_a.get("/devices/codes/sheet/?ids=" + ",".join(str(i) for i in range(1, 300)))
    assert response.status_code == 400
    assert "At most 200 devices on one sheet." in response.content.decode()


def test_another_companys_device_makes_the_whole_sheet_404(as_admin_a, company_a, team_a, company_b):
    free_licenses(company_a, 2)
    _add_batch(as_admin_a, team_a, quantity="2")
    with company_scope(company_b):
        team_b = Team.objects.get(is_default=True)
        foreign = DeviceFactory(company=company_b, team=team_b, license=LicenseFactory(company=company_b))
    with company_scope(company_a):
        own = Device.objects.first()
    assert as_admin_a.get(f"/devices/codes/sheet/?ids={own.pk}").status_code == 200
    assert as_admin_a.get(f"/devices/codes/sheet/?ids={own.pk},{foreign.pk}").status_code == 404


def test_a_team_administrator_sees_only_their_own_teams_devices(
    as_admin_a, as_teamadmin_a, company_a, team_a, default_team_a
):
    free_licenses(company_a, 4)
    other_url = _add_batch(as_admin_a, default_team_a, quantity="2", nickname="Office")
    own_url = _add_batch(as_teamadmin_a, team_a, quantity="2", nickname="Field")
    with company_scope(company_a):
        own = Device.objects.filter(team=team_a).first()
        other = Device.objects.filter(team=default_team_a).first()
    assert as_teamadmin_a.get(own_url).status_code == 200
    assert as_teamadmin_a.get(other_url).status_code == 404
    assert as_teamadmin_a.get(f"/devices/codes/sheet/?ids={own.pk},{other.pk}").status_code == 404
    assert as_admin_a.get(other_url).status_code == 200


def test_a_viewer_gets_404(as_admin_a, as_viewer_a, company_a, team_a):
    free_licenses(company_a, 2)
    url = _add_batch(as_admin_a, team_a, quantity="2")
    assert as_viewer_a.get(url).status_code == 404
    assert as_viewer_a.get(url + "&format=pdf").status_code == 404


def _pdf_text(pdf: bytes, tmp_path: Path) -> tuple[str, list[str]]:
    """The PDF's text (pdftotext) and its pages as text, one string per page."""
    path = tmp_path / "sheet.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True).stdout  # noqa: S603, S607
    return text, text.split("\f")[:-1]


def _pdf_pngs(pdf: bytes, tmp_path: Path) -> list[Path]:
    path = tmp_path / "render.pdf"
    path.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-png", "-r", "40", str(path), str(tmp_path / "page")], check=True)  # noqa: S603, S607
    return sorted(tmp_path.glob("page*.png"))


@needs_poppler
def test_the_pdf_has_one_page_per_device_with_its_nickname_and_code(as_admin_a, company_a, team_a, tmp_path):
    free_licenses(company_a, 3)
    url = _add_batch(as_admin_a, team_a, quantity="3", nickname="Détail bay")
    response = as_admin_a.get(url + "&format=pdf&paper=letter")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Cache-Control"] == "no-store"
    text, pages = _pdf_text(response.content, tmp_path)
    assert len(pages) == 3
    for page, (nickname, code) in zip(pages, sorted(_codes(company_a, url).items()), strict=True):
        assert nickname in page
        assert code in page
        assert "Team: Alpha Team" in page
        assert "Tap Verify." in page
        assert "(America/Chicago)" in page
    pngs = _pdf_pngs(response.content, tmp_path)
    assert len(pngs) == 3
    assert all(png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for png in pngs)


@needs_poppler
def test_the_pdf_grid_puts_eight_cards_a_page_and_leaves_out_unusable_codes(
    as_admin_a, admin_a, company_a, team_a, tmp_path
):
    free_licenses(company_a, 10)
    url = _add_batch(as_admin_a, team_a, quantity="10")
    codes = _codes(company_a, url)
    with company_scope(company_a):
        registration_code_replace(device=Device.objects.get(nickname="Van tablet 05"), acting_user=admin_a)
    text, pages = _pdf_text(as_admin_a.get(url + "&format=pdf&layout=grid").content, tmp_path)
    # Eight cards, then one, then the page listing what was not printed.
    assert len(pages) == 3
    assert sum(len(re.findall(r"[A-Z]{4}-[A-Z]{4}-[A-Z]{4}", page)) for page in pages) == 9
    assert codes["Van tablet 05"] not in text
    assert "Not printed" in pages[-1]
    assert "Van tablet 05" in pages[-1]
    for nickname, code in codes.items():
        if nickname != "Van tablet 05":
            assert code in text
    assert len(_pdf_pngs(as_admin_a.get(url + "&format=pdf&layout=grid").content, tmp_path)) == 3
