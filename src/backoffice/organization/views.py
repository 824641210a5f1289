"""Pages for teams, employees, areas and clients. Views parse, call a service or selector, render."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_POST

from backoffice.core.pagination import paginate
from backoffice.core.text import search_ignored_message
from backoffice.organization import services
from backoffice.organization.forms import AreaForm, ClientForm, EmployeeForm, TeamForm
from backoffice.organization.selectors import (
    ClientSearch,
    EmployeeSearch,
    area_choices,
    area_get_for_company,
    area_list,
    client_get_for_company,
    client_list,
    employee_get_for_company,
    employee_list,
    team_delete_refusal,
    team_get_for_company,
    team_list,
)
from backoffice.tenancy.forms import add_service_errors
from backoffice.tenancy.http import CompanyRequest
from backoffice.tenancy.permissions import administrator_required, company_member_required, employee_writer_required

# Teams


@company_member_required
def teams(request: CompanyRequest) -> HttpResponse:
    return render(request, "organization/teams.html", {"teams": team_list(user=request.user)})


@company_member_required
def team_detail(request: CompanyRequest, pk: int) -> HttpResponse:
    team = team_get_for_company(user=request.user, pk=pk)
    employees = employee_list(user=request.user, search=EmployeeSearch(status="all")).filter(team=team)
    return render(request, "organization/team_detail.html", {"team": team, "employees": employees})


def _team_form_page(request: CompanyRequest, form: TeamForm, team: object = None) -> HttpResponse:
    return render(request, "organization/team_form.html", {"form": form, "team": team})


@administrator_required
def team_add(request: CompanyRequest) -> HttpResponse:
    form = TeamForm(request.POST or None, user=request.user, initial={"time_zone": request.company.default_time_zone})
    if request.method == "POST" and form.is_valid():
        try:
            team = services.team_create(
                acting_user=request.user,
                name=form.cleaned_data["name"],
                time_zone=form.cleaned_data["time_zone"],
                area=form.cleaned_data.get("area"),
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"Team {team.name} added.")
            return redirect("organization:team_detail", pk=team.pk)
    return _team_form_page(request, form)


@administrator_required
def team_edit(request: CompanyRequest, pk: int) -> HttpResponse:
    team = team_get_for_company(user=request.user, pk=pk)
    form = TeamForm(request.POST or None, user=request.user, team=team, initial=TeamForm.initial_for(team))
    if request.method == "POST" and form.is_valid():
        try:
            services.team_update(
                acting_user=request.user,
                team=team,
                name=form.cleaned_data["name"],
                time_zone=form.cleaned_data["time_zone"],
                area=form.cleaned_data.get("area"),
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"Team {team.name} saved.")
            return redirect("organization:team_detail", pk=team.pk)
    return _team_form_page(request, form, team)


@administrator_required
def team_delete(request: CompanyRequest, pk: int) -> HttpResponse:
    """GET asks for confirmation (or says what to move first); POST deletes."""
    team = team_get_for_company(user=request.user, pk=pk)
    if request.method == "POST":
        try:
            services.team_delete(acting_user=request.user, team=team)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return redirect("organization:team_detail", pk=team.pk)
        messages.success(request, f"Team {team.name} deleted.")
        return redirect("organization:teams")
    return render(
        request,
        "organization/team_delete.html",
        {"team": team, "refusal": team_delete_refusal(team=team)},
    )


# Employees


@company_member_required
def employees(request: CompanyRequest) -> HttpResponse:
    search = EmployeeSearch.from_query(request.GET)
    page = paginate(employee_list(user=request.user, search=search), request.GET.get("page"))
    template = "organization/employees.html"
    if request.htmx and not request.htmx.boosted:
        template += "#employee-table"
    elif search.ignored:
        messages.warning(request, search_ignored_message(name.capitalize() for name in search.ignored))
    response = render(request, template, {"page": page, "search": search})
    # The same URL answers a fragment to htmx and a page otherwise: caches must tell them apart.
    patch_vary_headers(response, ("HX-Request",))
    return response


def _employee_form_page(request: CompanyRequest, form: EmployeeForm, employee: object = None) -> HttpResponse:
    return render(request, "organization/employee_form.html", {"form": form, "employee": employee})


@employee_writer_required
def employee_add(request: CompanyRequest) -> HttpResponse:
    initial = {"team": request.user.team_id} if request.user.is_team_administrator else {}
    form = EmployeeForm(request.POST or None, user=request.user, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            employee = services.employee_create(acting_user=request.user, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"Employee {employee.name} added to {employee.team.name}.")
            return redirect("organization:employees")
    return _employee_form_page(request, form)


@employee_writer_required
def employee_edit(request: CompanyRequest, pk: int) -> HttpResponse:
    employee = employee_get_for_company(user=request.user, pk=pk)
    form = EmployeeForm(
        request.POST or None, user=request.user, employee=employee, initial=EmployeeForm.initial_for(employee)
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.employee_update(acting_user=request.user, employee=employee, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"Employee {employee.name} saved.")
            return redirect("organization:employees")
    return _employee_form_page(request, form, employee)


@require_POST
@employee_writer_required
def employee_archive(request: CompanyRequest, pk: int) -> HttpResponse:
    employee = employee_get_for_company(user=request.user, pk=pk)
    services.employee_archive(acting_user=request.user, employee=employee)
    messages.success(request, f"Employee {employee.name} archived: no longer offered as a code recipient.")
    return redirect("organization:employees")


@require_POST
@employee_writer_required
def employee_restore(request: CompanyRequest, pk: int) -> HttpResponse:
    employee = employee_get_for_company(user=request.user, pk=pk)
    try:
        services.employee_restore(acting_user=request.user, employee=employee)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"Employee {employee.name} restored.")
    return redirect("organization:employees")


# Areas


@company_member_required
def areas(request: CompanyRequest) -> HttpResponse:
    return render(request, "organization/areas.html", {"areas": area_list()})


def _area_form_page(request: CompanyRequest, form: AreaForm, area: object = None) -> HttpResponse:
    return render(request, "organization/area_form.html", {"form": form, "area": area})


@administrator_required
def area_add(request: CompanyRequest) -> HttpResponse:
    form = AreaForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            area = services.area_create(acting_user=request.user, name=form.cleaned_data["name"])
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"Area {area.name} added.")
            return redirect("organization:areas")
    return _area_form_page(request, form)


@administrator_required
def area_edit(request: CompanyRequest, pk: int) -> HttpResponse:
    area = area_get_for_company(user=request.user, pk=pk)
    form = AreaForm(request.POST or None, area=area, initial={"name": area.name})
    if request.method == "POST" and form.is_valid():
        try:
            services.area_update(acting_user=request.user, area=area, name=form.cleaned_data["name"])
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"Area {area.name} saved.")
            return redirect("organization:areas")
    return _area_form_page(request, form, area)


@administrator_required
def area_delete(request: CompanyRequest, pk: int) -> HttpResponse:
    """GET asks for confirmation and says which teams and clients lose the area; POST deletes."""
    area = area_get_for_company(user=request.user, pk=pk)
    if request.method == "POST":
        services.area_delete(acting_user=request.user, area=area)
        messages.success(request, f"Area {area.name} deleted.")
        return redirect("organization:areas")
    return render(request, "organization/area_delete.html", {"area": area})


# Clients


@company_member_required
def clients(request: CompanyRequest) -> HttpResponse:
    search = ClientSearch.from_query(request.GET)
    page = paginate(client_list(search=search), request.GET.get("page"))
    template = "organization/clients.html"
    if request.htmx and not request.htmx.boosted:
        template += "#client-table"
    elif search.ignored:
        messages.warning(request, search_ignored_message(name.capitalize() for name in search.ignored))
    response = render(request, template, {"page": page, "search": search, "areas": area_choices()})
    # The same URL answers a fragment to htmx and a page otherwise: caches must tell them apart.
    patch_vary_headers(response, ("HX-Request",))
    return response


def _client_form_page(request: CompanyRequest, form: ClientForm, client: object = None) -> HttpResponse:
    return render(request, "organization/client_form.html", {"form": form, "client": client})


@administrator_required
def client_add(request: CompanyRequest) -> HttpResponse:
    form = ClientForm(request.POST or None, user=request.user, initial={"is_active": True})
    if request.method == "POST" and form.is_valid():
        try:
            client = services.client_create(
                acting_user=request.user,
                name=form.cleaned_data["name"],
                client_type=form.cleaned_data["client_type"],
                area=form.cleaned_data.get("area"),
                is_active=form.cleaned_data["is_active"],
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"Client {client.name} added.")
            return redirect("organization:clients")
    return _client_form_page(request, form)


@administrator_required
def client_edit(request: CompanyRequest, pk: int) -> HttpResponse:
    client = client_get_for_company(user=request.user, pk=pk)
    form = ClientForm(request.POST or None, user=request.user, client=client, initial=ClientForm.initial_for(client))
    if request.method == "POST" and form.is_valid():
        try:
            services.client_update(
                acting_user=request.user,
                client=client,
                name=form.cleaned_data["name"],
                client_type=form.cleaned_data["client_type"],
                area=form.cleaned_data.get("area"),
                is_active=form.cleaned_data["is_active"],
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"Client {client.name} saved.")
            return redirect("organization:clients")
    return _client_form_page(request, form, client)
