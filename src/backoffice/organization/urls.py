from django.urls import path

from backoffice.organization import views

app_name = "organization"

urlpatterns = [
    path("teams/", views.teams, name="teams"),
    path("teams/add/", views.team_add, name="team_add"),
    path("teams/<int:pk>/", views.team_detail, name="team_detail"),
    path("teams/<int:pk>/edit/", views.team_edit, name="team_edit"),
    path("teams/<int:pk>/delete/", views.team_delete, name="team_delete"),
    path("employees/", views.employees, name="employees"),
    path("employees/add/", views.employee_add, name="employee_add"),
    path("employees/<int:pk>/edit/", views.employee_edit, name="employee_edit"),
    path("employees/<int:pk>/archive/", views.employee_archive, name="employee_archive"),
    path("employees/<int:pk>/restore/", views.employee_restore, name="employee_restore"),
    path("areas/", views.areas, name="areas"),
    path("areas/add/", views.area_add, name="area_add"),
    path("areas/<int:pk>/edit/", views.area_edit, name="area_edit"),
    path("areas/<int:pk>/delete/", views.area_delete, name="area_delete"),
    path("clients/", views.clients, name="clients"),
    path("clients/add/", views.client_add, name="client_add"),
    path("clients/<int:pk>/edit/", views.client_edit, name="client_edit"),
]
