from django.http import HttpResponse
from django.shortcuts import render

from backoffice.core.http import CompanyRequest
from backoffice.organization.selectors import team_get_for_company, team_list
from backoffice.tenancy.permissions import company_member_required


@company_member_required
def teams(request: CompanyRequest) -> HttpResponse:
    return render(request, "organization/teams.html", {"teams": team_list(user=request.user)})


@company_member_required
def team_detail(request: CompanyRequest, pk: int) -> HttpResponse:
    team = team_get_for_company(user=request.user, pk=pk)
    employees = team.employees.order_by("name")
    return render(request, "organization/team_detail.html", {"team": team, "employees": employees})
