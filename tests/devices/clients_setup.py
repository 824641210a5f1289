"""
A company laid out for the Clients tab rule, shared by the Clients tab,
effective-clients and documents tests: retail and wholesale clients inside and
outside the team's area, an archived one, and another company's.
"""

from dataclasses import dataclass

from backoffice.organization.choices import ClientType
from backoffice.organization.models import Area, Client, Team
from backoffice.tenancy.models import Company
from backoffice.tenancy.scoping import company_scope
from tests.factories import AreaFactory, ClientFactory

R = ClientType.RETAIL
W = ClientType.WHOLESALE


@dataclass
class Layout:
    company: Company
    area: Area
    clients: dict[str, Client]

    def ids(self, *names: str) -> set[int]:
        return {self.clients[name].pk for name in names}


def lay_out(company: Company, team: Team, *, area_support: bool = True) -> Layout:
    """
    Clients named after what they are: ``retail_in`` is a retail client in the
    team's area, ``wholesale_out`` a wholesale one outside it, ``wholesale_doc``
    a wholesale client only documents make available, and so on.
    """
    Company.objects.filter(pk=company.pk).update(area_support=area_support)
    company.refresh_from_db()
    with company_scope(company):
        area = AreaFactory(company=company, name="North")
        other_area = AreaFactory(company=company, name="South")
        Team.objects.filter(pk=team.pk).update(area=area)
        team.refresh_from_db()
        spec = {
            "retail_in": (R, area, True),
            "retail_out": (R, other_area, True),
            "retail_none": (R, None, True),
            "wholesale_in": (W, area, True),
            "wholesale_out": (W, other_area, True),
            "wholesale_picked": (W, None, True),
            "wholesale_doc": (W, other_area, True),
            "wholesale_archived": (W, area, False),
        }
        clients = {
            name: ClientFactory(company=company, name=name, client_type=kind, area=where, is_active=active)
            for name, (kind, where, active) in spec.items()
        }
    return Layout(company=company, area=area, clients=clients)
