"""
Accounts through HTTP, as a person uses them: the password reset from the
sign-in page (the link read out of an email a real SMTP server received),
two-factor sign-in with an authenticator app and recovery codes (the clock
frozen, codes computed as the app would), the company's "Require two-factor
sign-in" and the operators' rule on /admin/, the sessions page with "Sign out
everywhere else", and the audit events of all of them (never a token, a code
or a password).
"""

import email
import re

import pytest
import time_machine
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from django.core.cache import cache
from django.test import Client as HttpClient

from backoffice.audit.models import AuditEvent
from backoffice.tenancy.choices import Role
from backoffice.tenancy.models import Company, User
from backoffice.tenancy.scoping import scopes_disabled
from tests.factories import PASSWORD, make_user
from tests.notifications.conftest import smtp_mailers, smtp_server  # noqa: F401 - the SMTP fixture

NEW_PASSWORD = "a-new-long-passphrase-42"
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/18.1 Mobile/15E148 Safari/604.1"
)
T0 = 1_900_000_000  # a fixed instant (2030-03-17), on a 30-second TOTP boundary plus 5 s
LINK = re.compile(r"http://testserver(/password/reset/key/\S+/)")


@pytest.fixture(autouse=True)
def _fresh_limits():
    """allauth keeps its two-factor and reset-email counters in the cache: each test starts with none."""
    cache.clear()
    yield
    cache.clear()


def sign_in(user_email: str, password: str = PASSWORD, *, http: HttpClient | None = None, **extra):
    http = http or HttpClient(**extra)
    return http, http.post("/login/", {"login": user_email, "password": password})


def events(action: str) -> list[AuditEvent]:
    with scopes_disabled():
        return list(AuditEvent.objects.filter(action=action).order_by("id"))


def delivered(server) -> list[email.message.Message]:
    return [email.message_from_bytes(envelope.content) for envelope in server.handler.messages]


def body(message: email.message.Message) -> str:
    part = message.get_payload(0) if message.is_multipart() else message
    return part.get_payload(decode=True).decode()


# Password reset


def request_reset(address: str, **extra):
    return HttpClient(**extra).post("/password/reset/", {"email": address})


def test_a_forgotten_password_is_reset_from_an_emailed_link(settings, smtp_server, admin_a):  # noqa: F811
    settings.MAILERS = smtp_mailers(smtp_server.port)
    laptop, _ = sign_in(admin_a.email)
    assert laptop.get("/devices/").status_code == 200
    response = request_reset("Admin@A.example", REMOTE_ADDR="198.51.100.9")
    assert (response.status_code, response["Location"]) == (302, "/password/reset/done/")
    [message] = delivered(smtp_server)
    assert message["To"] == "admin@a.example"
    assert message["Subject"] == "ReconPro Back Office: Reset your password"
    text = body(message)
    assert "It works once, for 3 hours" in text
    link = LINK.search(text).group(1)

    http = HttpClient()
    opened = http.get(link)
    assert opened.status_code == 302  # allauth moves the key into the session before showing the form
    form = http.get(opened["Location"])
    assert "Choose a new password" in form.content.decode()
    saved = http.post(opened["Location"], {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert (saved.status_code, saved["Location"]) == (302, "/password/reset/key/done/")

    # The old password no longer works, the new one does, and the session signed in before has ended.
    assert sign_in(admin_a.email)[1].status_code == 200
    assert sign_in(admin_a.email, NEW_PASSWORD)[1].status_code == 302
    assert laptop.get("/devices/").status_code == 302
    # The link works once.
    again = HttpClient()
    reopened = again.get(link)
    assert "This link no longer works" in again.get(reopened.get("Location", link)).content.decode()

    [requested] = events("user.password_reset_requested")
    [done] = events("user.password_reset")
    assert requested.company_id == done.company_id == admin_a.company_id
    assert requested.data["address"] == "198.51.100.9"
    key = link.rstrip("/").rsplit("-", 1)[-1]
    for event in (requested, done):
        assert key not in str(event.data)
        assert key not in event.summary
        assert NEW_PASSWORD not in str(event.data)


def test_a_reset_link_expires(settings, smtp_server, admin_a):  # noqa: F811
    settings.MAILERS = smtp_mailers(smtp_server.port)
    settings.PASSWORD_RESET_TIMEOUT = 60
    with time_machine.travel(T0, tick=False):
        request_reset(admin_a.email)
    link = LINK.search(body(delivered(smtp_server)[0])).group(1)
    with time_machine.travel(T0 + 61, tick=False):
        http = HttpClient()
        opened = http.get(link)
        page = http.get(opened["Location"]) if opened.status_code == 302 else opened
        assert "This link no longer works" in page.content.decode()
    assert User.objects.get(pk=admin_a.pk).check_password(PASSWORD)


def test_the_reset_answer_is_the_same_for_an_unknown_address(settings, smtp_server, admin_a):  # noqa: F811
    settings.MAILERS = smtp_mailers(smtp_server.port)
    known = request_reset(admin_a.email)
    unknown = request_reset("nobody@a.example")
    assert (known.status_code, known["Location"]) == (unknown.status_code, unknown["Location"])
    assert known.content == unknown.content
    # The page after it too, but for each browser's own CSRF token.
    done = [
        re.sub(rb'"X-CSRFToken": "[^"]+"', b"", HttpClient().get(response["Location"]).content)
        for response in (known, unknown)
    ]
    assert done[0] == done[1]
    to_unknown = [m for m in delivered(smtp_server) if m["To"] == "nobody@a.example"]
    assert len(to_unknown) == 1
    assert "no account has it" in body(to_unknown[0])
    assert not LINK.search(body(to_unknown[0]))
    assert len(events("user.password_reset_requested")) == 1


def test_bad_input_on_the_reset_form_is_a_form_error(admin_a):
    for value in ("admin%40a.example%00", "%ED%A0%80%40a.example", "a" * 300 + "%40a.example", "%1B%40a.example"):
        # As a browser sends it (a lone surrogate as the bytes a careless client encodes it in).
        response = HttpClient().post(
            "/password/reset/", f"email={value}", content_type="application/x-www-form-urlencoded"
        )
        assert response.status_code == 200
        assert 'class="error-text"' in response.content.decode()
    assert events("user.password_reset_requested") == []


def test_changing_the_password_ends_the_other_sessions(admin_a):
    phone, _ = sign_in(admin_a.email)
    laptop, _ = sign_in(admin_a.email)
    response = laptop.post(
        "/password/change/", {"oldpassword": PASSWORD, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    )
    assert response.status_code == 302
    assert laptop.get("/devices/").status_code == 200
    assert phone.get("/devices/").status_code == 302
    [event] = events("user.password_changed")
    assert NEW_PASSWORD not in str(event.data)
    assert PASSWORD not in str(event.data)


# Two-factor sign-in


def code_at(secret: str, instant: float) -> str:
    return format_hotp_value(hotp_value(secret, int(instant) // 30))


def activate_totp(http: HttpClient, instant: float) -> str:
    """Add an authenticator app on the account page, as the person would; return its secret."""
    page = http.get("/2fa/totp/activate/")
    # Adding a second factor asks for the password again first, however recent the sign-in.
    assert (page.status_code, page["Location"]) == (302, "/reauthenticate/?next=%2F2fa%2Ftotp%2Factivate%2F")
    assert http.post(page["Location"], {"password": PASSWORD}).status_code == 302
    page = http.get("/2fa/totp/activate/")
    assert page.status_code == 200, page.get("Location")
    secret = http.session["mfa.totp.secret"]
    assert secret in page.content.decode()  # shown to type into the app by hand
    response = http.post("/2fa/totp/activate/", {"code": code_at(secret, instant)})
    assert response.status_code == 302
    return secret


def test_an_authenticator_app_is_added_and_asked_for_at_every_sign_in(admin_a):
    with time_machine.travel(T0, tick=False):
        http, _ = sign_in(admin_a.email)
        secret = activate_totp(http, T0)
        [stored] = Authenticator.objects.filter(user=admin_a, type="totp")
        assert secret not in str(stored.data)  # stored encrypted
        [added] = events("user.two_factor_added")
        assert "authenticator app" in added.summary
        assert secret not in str(added.data)
        http.post("/logout/")

    with time_machine.travel(T0 + 60, tick=False):
        http, response = sign_in(admin_a.email)
        assert (response.status_code, response["Location"]) == (302, "/2fa/authenticate/")
        assert http.get("/devices/").status_code == 302  # not signed in before the code
        wrong = http.post("/2fa/authenticate/", {"code": "000000" if code_at(secret, T0 + 60) != "000000" else "1"})
        assert wrong.status_code == 200
        assert "Incorrect code" in wrong.content.decode()
        right = http.post("/2fa/authenticate/", {"code": code_at(secret, T0 + 60)})
        assert (right.status_code, right["Location"]) == (302, "/devices/")
        assert http.get("/devices/").status_code == 200
        # The same code cannot be used twice (a code seen over a shoulder is spent).
        other, _ = sign_in(admin_a.email)
        replay = other.post("/2fa/authenticate/", {"code": code_at(secret, T0 + 60)})
        assert replay.status_code == 200
        assert "Incorrect code" in replay.content.decode()

    with time_machine.travel(T0 + 95, tick=False):  # two periods later the app shows a new code
        assert other.post("/2fa/authenticate/", {"code": code_at(secret, T0 + 95)}).status_code == 302


def test_a_recovery_code_signs_in_once_and_is_audited(admin_a):
    with time_machine.travel(T0, tick=False):
        http, _ = sign_in(admin_a.email)
        activate_totp(http, T0)
        codes_page = http.get("/2fa/recovery-codes/")
        assert codes_page.status_code == 200
        recovery = Authenticator.objects.get(user=admin_a, type="recovery_codes")
        [first, *_] = RecoveryCodes(recovery).get_unused_codes()
        assert first not in str(recovery.data)
        http.post("/logout/")
        http, _ = sign_in(admin_a.email)
        assert http.post("/2fa/authenticate/", {"code": first}).status_code == 302
        [used] = events("user.recovery_code_used")
        assert first not in str(used.data)
        assert first not in used.summary
        http.post("/logout/")
        http, _ = sign_in(admin_a.email)
        assert http.post("/2fa/authenticate/", {"code": first}).status_code == 200


def test_removing_the_authenticator_needs_the_password_again_and_is_audited(admin_a):
    with time_machine.travel(T0, tick=False):
        http, _ = sign_in(admin_a.email)
        activate_totp(http, T0)
    # Later than five minutes after the password was last entered, removal asks for it again.
    with time_machine.travel(T0 + 3600, tick=False):
        response = http.post("/2fa/totp/deactivate/")
        assert response.status_code == 302
        assert response["Location"].startswith("/reauthenticate/")
        assert Authenticator.objects.filter(user=admin_a, type="totp").exists()
        # The password entered, the removal asked for goes ahead.
        assert http.post(response["Location"], {"password": PASSWORD}).status_code == 302
    assert not Authenticator.objects.filter(user=admin_a).exists()
    [removed] = events("user.two_factor_removed")
    assert "authenticator app" in removed.summary


# Requiring two-factor sign-in


def require(company: Company, policy: str) -> None:
    Company.objects.filter(pk=company.pk).update(two_factor_required=policy)


def test_a_company_requiring_it_sends_administrators_to_add_a_second_factor(company_a, admin_a):
    viewer = make_user(company_a, Role.VIEWER, email="viewer@a.example")
    require(company_a, "administrators")
    with time_machine.travel(T0, tick=False):
        http, response = sign_in(admin_a.email)
        assert response.status_code == 302
        page = http.get("/devices/")
        assert (page.status_code, page["Location"]) == (302, "/2fa/")
        shown = http.get("/2fa/").content.decode()
        assert "Company A requires two-factor sign-in" in shown
        fragment = http.get("/devices/", headers={"HX-Request": "true"})
        assert (fragment.status_code, fragment["HX-Redirect"]) == (204, "/2fa/")
        # A Viewer is not covered by "administrators".
        viewer_http, _ = sign_in(viewer.email)
        assert viewer_http.get("/devices/").status_code == 200
        # Once the app is added, the Back Office opens.
        activate_totp(http, T0)
        assert http.get("/devices/").status_code == 200
    require(company_a, "everyone")
    assert viewer_http.get("/devices/")["Location"] == "/2fa/"


def test_operators_need_a_second_factor_on_the_admin(settings, db):
    settings.OPERATOR_TWO_FACTOR_REQUIRED = True
    operator = User.objects.create_superuser("root@ops.example", PASSWORD)
    with time_machine.travel(T0, tick=False):
        http, response = sign_in(operator.email)
        assert (response.status_code, response["Location"]) == (302, "/admin/")
        assert http.get("/admin/")["Location"] == "/2fa/"
        activate_totp(http, T0)
        assert http.get("/admin/").status_code == 200
    settings.OPERATOR_TWO_FACTOR_REQUIRED = False
    other = User.objects.create_superuser("demo-op@ops.example", PASSWORD)
    http, _ = sign_in(other.email)
    assert http.get("/admin/").status_code == 200


# Sessions


def test_the_sessions_page_lists_them_and_signs_out_everywhere_else(admin_a):
    laptop, _ = sign_in(
        admin_a.email,
        REMOTE_ADDR="203.0.113.4",
        HTTP_USER_AGENT="Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0",
    )
    phone, _ = sign_in(
        admin_a.email,
        REMOTE_ADDR="198.51.100.23",
        HTTP_USER_AGENT=IPHONE,
    )
    page = laptop.get("/sessions/").content.decode()
    for shown in ("203.0.113.4", "198.51.100.23", "Firefox 140 on Linux", "iPhone", "This browser", "Last sign-in"):
        assert shown in page
    response = laptop.post("/sessions/")
    assert response.status_code == 302
    assert phone.get("/devices/").status_code == 302
    assert laptop.get("/devices/").status_code == 200
    assert "198.51.100.23" not in laptop.get("/sessions/").content.decode()
    [event] = events("user.signed_out_everywhere")
    assert event.company_id == admin_a.company_id


def test_pages_people_do_not_use_are_not_offered(as_admin_a):
    for path in ("/signup/", "/email/", "/confirm-email/"):
        assert as_admin_a.get(path).status_code == 404
        assert HttpClient().get(path).status_code == 404


def test_wrong_two_factor_codes_are_limited(settings, admin_a):
    with time_machine.travel(T0, tick=False):
        http, _ = sign_in(admin_a.email)
        secret = activate_totp(http, T0)
        http.post("/logout/")
        http, _ = sign_in(admin_a.email)
        wrong = "111111" if code_at(secret, T0) != "111111" else "222222"
        answers = [http.post("/2fa/authenticate/", {"code": wrong}).status_code for _ in range(11)]
        assert answers[:10] == [200] * 10
        # Even the right code is refused while the account's limit is spent.
        right = http.post("/2fa/authenticate/", {"code": code_at(secret, T0)})
        assert right.status_code != 302


def test_operators_cannot_edit_accounts_past_the_services(as_operator):
    for path in ("/admin/mfa/authenticator/", "/admin/account/emailaddress/", "/admin/usersessions/usersession/"):
        assert as_operator.get(path).status_code == 404


def test_the_users_page_shows_who_has_two_factor_sign_in(company_a, admin_a):
    viewer = make_user(company_a, Role.VIEWER, email="viewer@a.example")
    with time_machine.travel(T0, tick=False):
        http, _ = sign_in(viewer.email)
        activate_totp(http, T0)
    require(company_a, "everyone")
    # The viewer, who has an authenticator app, reads the page (the administrator would be sent to add one).
    page = http.get("/users/").content.decode()
    rows = {email: row for row in page.split("<tr>") for email in re.findall(r"[\w.]+@a\.example", row)[:1]}
    assert '<span class="badge badge--active">On</span>' in rows["viewer@a.example"]
    assert "Required, not set up" in rows["admin@a.example"]


# Passkey names


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("Work\u202elaptop", "Name contains an invisible or text-direction character"),
        ("Work\x07laptop", "Name contains a control character"),
        ("K" * 101, "at most 100 characters"),
    ],
)
def test_a_passkey_name_follows_the_name_rules(admin_a, name, error):
    http, _ = sign_in(admin_a.email)
    key = Authenticator.objects.create(user=admin_a, type="webauthn", data={"name": "Work laptop", "credential": {}})
    edit = f"/2fa/webauthn/keys/{key.pk}/edit/"
    page = http.get(edit)
    assert page.status_code == 302  # the password again first
    assert http.post(page["Location"], {"password": PASSWORD}).status_code == 302
    response = http.post(edit, {"name": name})
    assert response.status_code == 200
    assert error in response.content.decode()
    key.refresh_from_db()
    assert key.data["name"] == "Work laptop"
    response = http.post(edit, {"name": "Blue security key"})
    assert (response.status_code, response["Location"]) == (302, "/2fa/webauthn/")
    key.refresh_from_db()
    assert key.data["name"] == "Blue security key"
    assert "Blue security key" in http.get("/2fa/webauthn/").content.decode()


def test_the_confirmation_pages_speak_the_house_language(admin_a):
    with time_machine.travel(T0, tick=False):
        http, _ = sign_in(admin_a.email)
        activate_totp(http, T0)
        pages = {
            "/2fa/totp/deactivate/": "Remove the authenticator app",
            "/2fa/recovery-codes/generate/": "Make new recovery codes",
            "/logout/": "Sign out of the Back Office in this browser?",
        }
        for path, heading in pages.items():
            response = http.get(path)
            assert response.status_code == 200, path
            assert heading in response.content.decode(), path
    assert Authenticator.objects.filter(user=admin_a, type="totp").exists()  # looking changed nothing
