"""Bad input on the invite form and the acceptance page is a form error, and nothing is written."""

import pytest
from django.core.exceptions import ValidationError
from django.test import Client as HttpClient

from backoffice.invitations.forms import AcceptForm, InvitationForm
from backoffice.invitations.services import invitation_send
from backoffice.organization.models import Team
from backoffice.tenancy.scoping import company_scope
from tests.dbstate import snapshot
from tests.invitations.conftest import accept, deliver, invitation_of, invite, link_in


@pytest.mark.parametrize(
    ("data", "errors"),
    [
        ({"email": "", "role": ""}, {"email": ["This field is required."], "role": ["This field is required."]}),
        ({"email": "nope"}, {"email": ["Enter a valid email address."]}),
        ({"email": "a\x00@a.example"}, {"email": ["Email contains a control character."]}),
        (
            {"email": "x" * 250 + "@a.example"},
            {"email": ["Ensure this value has at most 254 characters (it has 260)."]},
        ),
        ({"full_name": "n" * 121}, {"full_name": ["Ensure this value has at most 120 characters (it has 121)."]}),
        ({"full_name": "Eve\x00"}, {"full_name": ["Name contains a control character."]}),
        ({"full_name": "Eve\r\nBcc: x"}, {"full_name": ["Name contains a control character."]}),
        (
            {"full_name": "Eve\u202eevE"},
            {"full_name": ["Name contains an invisible or text-direction character (zero-width or bidi control)."]},
        ),
        ({"role": "owner"}, {"role": ["Select a valid choice. owner is not one of the available choices."]}),
        ({"role": "team_administrator"}, {"team": ["A Team Administrator needs a team."]}),
        (
            {"role": "team_administrator", "team": "9" * 30},
            {"team": ["Select a valid choice. That choice is not one of the available choices."]},
        ),
    ],
)
def test_invite_bad_input(as_admin_a, data, errors):
    before = snapshot()
    response = invite(as_admin_a, **{"email_address": data.pop("email", "fresh@a.example"), **data})
    assert response.status_code == 200
    assert response.context["form"].errors == errors
    assert snapshot() == before


def test_a_team_of_another_company_is_refused(as_admin_a, company_b):
    with company_scope(company_b):
        team_b = Team.objects.get()
    before = snapshot()
    response = invite(as_admin_a, "x@a.example", role="team_administrator", team=team_b.pk)
    assert response.context["form"].errors == {
        "team": ["Select a valid choice. That choice is not one of the available choices."]
    }
    assert snapshot() == before


@pytest.mark.parametrize(
    ("fields", "errors"),
    [
        ({"full_name": "a\ud800"}, {"full_name": ["Name contains an invalid character (a lone surrogate)."]}),
        ({"email": "a\ud800@a.example"}, {"email": ["Email contains an invalid character (a lone surrogate)."]}),
        ({"email": "a\x00@a.example"}, {"email": ["Email contains a control character."]}),
        ({"email": "x" * 255}, {"email": ["Ensure this value has at most 254 characters (it has 255)."]}),
        ({"full_name": "n" * 121}, {"full_name": ["Ensure this value has at most 120 characters."]}),
        ({"role": "owner"}, {"role": ["Choose a role."]}),
    ],
)
def test_the_service_refuses_what_the_form_would(admin_a, company_a, fields, errors):
    """Callers other than the page (a command, a later API) get the same checks."""
    before = snapshot()
    arguments = {"email": "fresh@a.example", "full_name": "", "role": "viewer", "team": None, **fields}
    with company_scope(company_a), pytest.raises(ValidationError) as excinfo:
        invitation_send(acting_user=admin_a, **arguments)
    assert excinfo.value.message_dict == errors
    assert snapshot() == before


def test_a_lone_surrogate_is_a_form_error(admin_a, company_a):
    with company_scope(company_a):
        form = InvitationForm({"email": "a@a.example", "full_name": "\ud800", "role": "viewer"}, user=admin_a)
        assert form.errors == {"full_name": ["Name contains an invalid character (a lone surrogate)."]}
    form = AcceptForm({"full_name": "Ana", "password": "\ud800" * 12, "password_confirm": "\ud800" * 12}, email="a@a")
    assert form.errors["password"] == ["Password contains an invalid character (a lone surrogate)."]


@pytest.mark.parametrize(
    ("data", "errors"),
    [
        ({"full_name": "Ana\x00"}, {"full_name": ["Your name contains a control character."]}),
        ({"full_name": "n" * 121}, {"full_name": ["Ensure this value has at most 120 characters (it has 121)."]}),
        (
            {"password": "x\x00" * 6},
            {
                "password": ["Password contains a control character."],
                "password_confirm": ["Password again contains a control character."],
            },
        ),
        (
            {"password": "p" * 129},
            {
                "password": ["Ensure this value has at most 128 characters (it has 129)."],
                "password_confirm": ["Ensure this value has at most 128 characters (it has 129)."],
            },
        ),
        (
            {"password": "short-pw1"},
            {"password": ["This password is too short. It must contain at least 10 characters."]},
        ),
        ({"password": "password123"}, {"password": ["This password is too common."]}),
        ({"password": "8301749265"}, {"password": ["This password is entirely numeric."]}),
        ({"password": "fresh.person"}, {"password": ["The password is too similar to the email."]}),
        ({"again": "something-else-entirely"}, {"password_confirm": ["The two passwords differ."]}),
    ],
)
def test_accept_bad_input(as_admin_a, company_a, mail, data, errors):
    invite(as_admin_a, "fresh.person@a.example")
    link = link_in(deliver(mail)[0])
    before = snapshot()
    response = accept(HttpClient(), link, **data)
    assert response.status_code == 200
    assert response.context["form"].errors == errors
    assert snapshot() == before
    assert invitation_of("fresh.person@a.example").state == "pending"
