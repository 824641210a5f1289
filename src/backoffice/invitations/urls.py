from django.urls import path

from backoffice.invitations import views

app_name = "invitations"

urlpatterns = [
    path("users/", views.users, name="users"),
    path("users/invite/", views.invitation_add, name="invitation_add"),
    path("users/invitations/<str:public_id>/resend/", views.invitation_resend, name="invitation_resend"),
    path("users/invitations/<str:public_id>/revoke/", views.invitation_revoke, name="invitation_revoke"),
    path("invitations/<str:public_id>/", views.invitation_accept, name="invitation_accept"),
]
