from django.test import Client as HttpClient

from tests.factories import PASSWORD


def test_sign_in_with_email_in_any_case(admin_a):
    http = HttpClient()
    response = http.post("/login/", {"login": "ADMIN@A.example", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/devices/"
    assert http.get("/devices/").status_code == 200


def test_wrong_password_shows_an_error_and_signs_in_nobody(admin_a):
    http = HttpClient()
    response = http.post("/login/", {"login": "admin@a.example", "password": "nope"})
    assert response.status_code == 200
    assert "The email address and/or password you specified are not correct." in response.content.decode()
    assert http.get("/devices/").status_code == 302


def test_anonymous_visitor_is_sent_to_sign_in():
    response = HttpClient().get("/devices/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=/devices/")


def test_sign_in_form_needs_csrf_token(admin_a):
    http = HttpClient(enforce_csrf_checks=True)
    response = http.post("/login/", {"login": "admin@a.example", "password": PASSWORD})
    assert response.status_code == 403


def test_sign_out_needs_post_and_ends_the_session(as_admin_a):
    # A GET only asks to confirm (a link cannot sign anyone out).
    confirm = as_admin_a.get("/logout/")
    assert confirm.status_code == 200
    assert as_admin_a.get("/devices/").status_code == 200
    response = as_admin_a.post("/logout/")
    assert response.status_code == 302
    assert as_admin_a.get("/devices/").status_code == 302


def test_inactive_user_cannot_sign_in(admin_a):
    admin_a.is_active = False
    admin_a.save(update_fields=["is_active"])
    http = HttpClient()
    response = http.post("/login/", {"login": "admin@a.example", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/inactive/"
    assert http.get("/devices/").status_code == 302


def test_operator_without_company_gets_404_on_back_office_pages():
    from backoffice.tenancy.models import User

    operator = User.objects.create_superuser("op@example.com", PASSWORD)
    http = HttpClient()
    http.force_login(operator)
    assert http.get("/devices/").status_code == 404
    assert http.get("/admin/").status_code == 200
