"""
The printable code sheet of a batch or of a selection of pending devices:
a print-ready page or a PDF.
"""

import uuid
from urllib.parse import urlencode

from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from backoffice.devices.selectors import SHEET_MAX, code_sheet_for_batch, code_sheet_for_devices, sheet_ids_parse
from backoffice.devices.sheet_pdf import SheetCard, code_sheet_pdf
from backoffice.tenancy.http import CompanyRequest
from backoffice.tenancy.permissions import company_member_required

CODE_SHEET = "devices/code_sheet.html"


@company_member_required
def code_sheet(request: CompanyRequest) -> HttpResponse:
    """
    The printable code sheet of a batch (``?batch=<id>``) or of a selection
    of devices (``?ids=1,2,3``, at most ``SHEET_MAX``): one page per device
    or a grid (``layout``), A4 or Letter (``paper``), as a print-ready page
    or as a PDF (``format=pdf``). 404 for the whole sheet when one device is
    out of the user's reach, and for Viewers, who never see codes.
    """
    if not request.user.can_write:
        raise Http404("No such sheet")
    batch_raw = request.GET.get("batch", "")[:64]
    ids_raw = request.GET.get("ids", "")[:4000]
    if batch_raw:
        try:
            batch_id = uuid.UUID(batch_raw)
        except ValueError:
            raise Http404("No such batch") from None
        entries = code_sheet_for_batch(user=request.user, batch_id=batch_id)
        query = {"batch": str(batch_id)}
    else:
        ids = sheet_ids_parse(ids_raw)
        if ids is None:
            if ids_raw.count(",") >= SHEET_MAX:
                return HttpResponse(f"At most {SHEET_MAX} devices on one sheet.", status=400, content_type="text/plain")
            raise Http404("No such device")
        entries = code_sheet_for_devices(user=request.user, ids=ids)
        query = {"ids": ",".join(str(pk) for pk in ids)}
    layout = "grid" if request.GET.get("layout") == "grid" else "pages"
    paper = "letter" if request.GET.get("paper") == "letter" else "a4"
    company = request.company
    if request.GET.get("format") == "pdf":
        cards = [
            SheetCard(
                nickname=entry.device.nickname,
                team=entry.device.team.name,
                code=entry.code,
                status=entry.status,
                expires_at=entry.expires_at,
            )
            for entry in entries
        ]
        pdf = code_sheet_pdf(cards, layout=layout, paper=paper, company=company.name, zone=company.zone)
        response = HttpResponse(pdf, content_type="application/pdf")
        response["Content-Disposition"] = 'inline; filename="registration-codes.pdf"'
    else:
        context = {
            "entries": entries,
            "layout": layout,
            "paper": paper,
            "printable": sum(1 for entry in entries if entry.code),
            "query": query,
            "pdf_query": urlencode({**query, "layout": layout, "paper": paper, "format": "pdf"}),
            "time_zone": company.zone.key,
        }
        with timezone.override(company.zone):
            response = render(request, CODE_SHEET, context)
    # Codes: never kept by a browser's or a proxy's cache.
    response["Cache-Control"] = "no-store"
    return response
