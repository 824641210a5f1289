from django.urls import path

from backoffice.organization import views

app_name = "organization"

urlpatterns = [
    path("teams/", views.teams, name="teams"),
    path("teams/<int:pk>/", views.team_detail, name="team_detail"),
]
