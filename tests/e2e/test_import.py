"""In the browser: import 30 employees from a spreadsheet, two bad rows shown in the preview."""

import io

import pytest
from openpyxl import Workbook
from playwright.sync_api import expect

from tests.e2e.conftest import assert_accessible, assert_fits, new_page, screenshot, sign_in

pytestmark = pytest.mark.e2e

RESTORE = """
from backoffice.audit.models import AuditEvent
from backoffice.imports.models import ImportUpload
from backoffice.organization.models import Employee
from backoffice.tenancy.scoping import scopes_disabled
with scopes_disabled():
    batches = set(AuditEvent.objects.filter(action="employee.imported").values_list("batch_id", flat=True))
    AuditEvent.objects.filter(batch_id__in=batches).delete()
    print(Employee.objects.filter(email__endswith="@import.example").delete()[0])
    ImportUpload.objects.all().delete()
"""

FIRST = ("Avery", "Blake", "Casey", "Devon", "Emery", "Finley", "Harper", "Jordan", "Kendall", "Logan")
LAST = ("Alvarez", "Brooks", "Chen")
TEAMS = ("Downtown Detail", "Fleet Services", "Mobile Dent Repair")


def spreadsheet() -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["Name", "Email", "Team"])
    for i in range(30):
        name = f"{FIRST[i % 10]} {LAST[i // 10]}"
        email = f"{name.lower().replace(' ', '.')}@import.example"
        team = TEAMS[i % 3]
        if i == 7:
            team = "Night Shift"  # no such team
        if i == 19:
            email = "casey.brooks(at)import.example"
        sheet.append([name, email, team])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def test_import_30_employees_with_two_bad_rows(page, browser, server):
    try:
        sign_in(page, "admin@northwind.example")
        pending = page.get_by_role("region", name="Pending Registrations")
        expect(pending.get_by_role("link", name="Import…")).to_be_visible()
        page.goto("/employees/")
        page.get_by_role("link", name="Import…").click()
        expect(page.get_by_role("heading", name="Import employees")).to_be_visible()
        assert_accessible(page)
        assert_fits(page, "upload page")
        screenshot(page, "import-upload")

        page.get_by_label("Spreadsheet file").set_input_files(
            files=[
                {
                    "name": "new-technicians.xlsx",
                    "mimeType": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    "buffer": spreadsheet(),
                }
            ]
        )
        page.get_by_role("button", name="Preview").click()
        expect(page.get_by_role("heading", name="Import employees: preview")).to_be_visible()
        expect(page.get_by_text("28 valid", exact=True)).to_be_visible()
        expect(page.get_by_text("2 with problems", exact=True)).to_be_visible()
        rows = page.get_by_role("region", name="Rows").locator("tbody tr")
        expect(rows).to_have_count(30)
        bad = page.locator("tr.import-row--bad")
        expect(bad).to_have_count(2)
        expect(bad.nth(0)).to_contain_text("Team: unknown team “Night Shift”.")
        expect(bad.nth(1)).to_contain_text("Email: “casey.brooks(at)import.example” is not a valid email address.")
        assert_accessible(page)
        assert_fits(page, "preview at 1280")
        screenshot(page, "import-preview", full_page=False)
        preview_url = page.url

        for width in (768, 390):
            narrow = new_page(browser, server, width=width, height=900)
            try:
                sign_in(narrow, "admin@northwind.example")
                narrow.goto(preview_url)
                expect(narrow.get_by_text("2 with problems", exact=True)).to_be_visible()
                assert_fits(narrow, f"preview at {width}")
                assert_accessible(narrow)
                screenshot(narrow, f"import-preview-{width}", full_page=False)
            finally:
                narrow.context.close()
            narrow.watch.check()

        # The preview survives a reload; then the valid rows are imported.
        page.reload()
        page.get_by_role("button", name="Import the 28 valid rows").click()
        expect(page.get_by_role("heading", name="28 employees imported")).to_be_visible()
        expect(page.get_by_text("Row 9: Team: unknown team “Night Shift”.")).to_be_visible()
        assert_accessible(page)
        screenshot(page, "import-result")
        page.get_by_role("link", name="Go to Employees").click()
        page.get_by_label("Email").fill("@import.example")
        page.get_by_role("button", name="Find").click()
        expect(page.get_by_text("28 employees")).to_be_visible()
    finally:
        assert server.manage("shell", "--no-imports", "-c", RESTORE).strip() in ("0", "28")
