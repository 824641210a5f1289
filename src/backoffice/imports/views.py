"""The import pages: upload a file, preview its rows with their problems, import. Views parse, call, render."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from backoffice.imports.forms import RunForm, UploadForm
from backoffice.imports.kinds import KINDS, ImportKind
from backoffice.imports.parsing import MAX_BYTES
from backoffice.imports.samples import template_csv, template_xlsx
from backoffice.imports.selectors import import_preview, import_upload_get
from backoffice.imports.services import import_run, import_upload_create
from backoffice.tenancy.http import CompanyRequest
from backoffice.tenancy.permissions import company_member_required

# Where each kind's rows end up (the page the import links back to).
LIST_PAGES = {"employees": "organization:employees", "clients": "organization:clients", "devices": "devices:active"}


def _kind(request: CompanyRequest, key: str) -> ImportKind:
    """The kind named in the URL, if the user's role imports it; 404 otherwise (Viewers see no import at all)."""
    kind = KINDS.get(key)
    if kind is None or request.user.role not in kind.roles:
        raise Http404("No such import")
    return kind


def _page(request: CompanyRequest, template: str, kind: ImportKind, **context: object) -> HttpResponse:
    return render(
        request,
        template,
        {
            "kind": kind,
            "list_url": reverse(LIST_PAGES[kind.key]),
            "max_rows": f"{kind.max_rows:,}",
            "max_mb": MAX_BYTES // (1024 * 1024),
            **context,
        },
    )


@company_member_required
def upload(request: CompanyRequest, kind: str) -> HttpResponse:
    """GET: the upload form and the template files; POST: parse the file and show its preview."""
    import_kind = _kind(request, kind)
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        file = form.cleaned_data["file"]
        try:
            stored = import_upload_create(
                acting_user=request.user, kind=import_kind, filename=file.name or "", data=file.read(MAX_BYTES + 1)
            )
        except ValidationError as error:
            form.add_error("file", error.messages)
        else:
            return redirect("imports:preview", kind=import_kind.key, pk=stored.pk)
    return _page(request, "imports/upload.html", import_kind, form=form)


@company_member_required
def preview(request: CompanyRequest, kind: str, pk: int) -> HttpResponse:
    """Every row with its problems, and the two ways to import; after the import, what it saved."""
    import_kind = _kind(request, kind)
    stored = import_upload_get(user=request.user, kind=import_kind, pk=pk)
    if stored.completed_at is not None:
        return _page(request, "imports/result.html", import_kind, upload=stored, result=stored.result)
    return _page(
        request,
        "imports/preview.html",
        import_kind,
        upload=stored,
        preview=import_preview(user=request.user, kind=import_kind, upload=stored),
    )


@require_POST
@company_member_required
def run(request: CompanyRequest, kind: str, pk: int) -> HttpResponse:
    import_kind = _kind(request, kind)
    stored = import_upload_get(user=request.user, kind=import_kind, pk=pk)
    form = RunForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose how to import: the valid rows, or only if every row is valid.")
        return redirect("imports:preview", kind=import_kind.key, pk=stored.pk)
    try:
        result = import_run(
            acting_user=request.user,
            kind=import_kind,
            upload=stored,
            all_or_nothing=form.cleaned_data["mode"] == "all",
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("imports:preview", kind=import_kind.key, pk=stored.pk)
    created = result["created"]
    label = import_kind.singular if created == 1 else import_kind.label
    messages.success(request, f"Imported {created} {label}.")
    return redirect("imports:preview", kind=import_kind.key, pk=stored.pk)


@company_member_required
def template_file(request: CompanyRequest, kind: str, file_format: str) -> HttpResponse:
    """The kind's template: its header row and one example row, as CSV or XLSX."""
    import_kind = _kind(request, kind)
    if file_format == "csv":
        response = HttpResponse(template_csv(import_kind), content_type="text/csv; charset=utf-8")
    elif file_format == "xlsx":
        response = HttpResponse(
            template_xlsx(import_kind),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    else:
        raise Http404("No such format")
    response["Content-Disposition"] = f'attachment; filename="{import_kind.key}-template.{file_format}"'
    return response
