from django.urls import path

from backoffice.tenancy import views

app_name = "tenancy"

urlpatterns = [
    path("login/", views.SignInView.as_view(), name="login"),
    path("logout/", views.SignOutView.as_view(), name="logout"),
]
