"""PostgreSQL only: two acceptances of one link at once make exactly one user; the other gets the dead-link page."""

from collections import Counter

import pytest
from django.db import connection
from django.test import Client as HttpClient

from backoffice.invitations.models import Invitation
from backoffice.tenancy.models import User
from backoffice.tenancy.scoping import scopes_disabled
from tests.invitations.conftest import LINK_DEAD, accept, deliver, invite, link_in
from tests.racing import outcome_label, race

ROUNDS = 5


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres_only
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL")
def test_two_acceptances_of_one_link(as_admin_a, company_a, mail):
    for n in range(ROUNDS):
        address = f"twice{n}@a.example"
        invite(as_admin_a, address)
        link = link_in(deliver(mail)[0])
        clients = [HttpClient(), HttpClient()]
        outcomes = race(
            *(
                lambda i=i, clients=clients, link=link: accept(clients[i], link, password=f"racing-password-{i}-42")
                for i in range(2)
            )
        )
        for outcome in outcomes:
            assert not isinstance(outcome, BaseException), outcome_label(outcome)
        assert Counter(o.status_code for o in outcomes) == {302: 1, 410: 1}
        loser = next(o for o in outcomes if o.status_code == 410)
        assert LINK_DEAD in loser.content.decode()
        assert User.objects.filter(email=address).count() == 1
        with scopes_disabled():
            invitation = Invitation.objects.get(email=address)
        assert (invitation.state, invitation.accepted_user_id) == ("accepted", User.objects.get(email=address).pk)
