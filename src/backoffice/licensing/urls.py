from django.urls import path

from backoffice.licensing import views

app_name = "licensing"

urlpatterns = [
    path("licenses/", views.licenses, name="licenses"),
]
