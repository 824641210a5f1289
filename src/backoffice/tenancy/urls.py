from django.urls import path

from backoffice.tenancy import views

app_name = "tenancy"

urlpatterns = [
    # django-allauth serves the account pages (backoffice.urls); these come
    # first: the sessions page with its audit event, and allauth pages the
    # Back Office does not offer (people do not sign up or change their own
    # address: an administrator invites them) answer 404.
    path("sessions/", views.SessionsView.as_view(), name="sessions"),
    path("signup/", views.not_offered),
    path("signup/passkey/", views.not_offered),
    path("email/", views.not_offered),
    path("confirm-email/", views.not_offered),
    path("login/code/confirm/", views.not_offered),
    path("users/<int:pk>/edit/", views.user_edit, name="user_edit"),
    path("users/<int:pk>/deactivate/", views.user_deactivate, name="user_deactivate"),
    path("users/<int:pk>/reactivate/", views.user_reactivate, name="user_reactivate"),
    path("settings/", views.company_settings, name="settings"),
]
