from django.contrib.auth import views as auth_views

from backoffice.tenancy.forms import SignInForm


class SignInView(auth_views.LoginView):
    template_name = "tenancy/login.html"
    authentication_form = SignInForm
    redirect_authenticated_user = True


class SignOutView(auth_views.LogoutView):
    pass
