"""
The Back Office pages fuzzed as each role would reach them (Administrator,
Team Administrator, Viewer).

GET: every list page and form page with generated query strings (NUL and
other control characters, a lone surrogate sent as ``%ED%A0%80``, broken
UTF-8, 30-digit numbers, overlong texts, unknown parameters), with and
without htmx; ids in paths up to 30 digits. POST: every form with generated
values, valid ones mixed with an attacker's. Whatever is sent: no 5xx, a
streamed report streams to its end, and nothing stored afterwards breaks the
text rules (``core.text``).
"""

from collections import Counter
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backoffice.core.text import TextKind, text_is_clean
from backoffice.devices.models import Device, SavedView
from backoffice.organization.models import Area, Client, Employee, Team
from backoffice.tenancy.choices import Functionality, Role
from backoffice.tenancy.models import User
from backoffice.tenancy.scoping import company_scope, scopes_disabled
from tests.conftest import login
from tests.factories import AreaFactory, ClientFactory, DeviceFactory, EmployeeFactory, LicenseFactory, make_user
from tests.fuzz.strategies import RAW_QUERY_VALUES, any_value, fuzz_settings, number_text

# Examples per page and role, and per form and role: about 30 s per database in all.
GET_EXAMPLES = 25
GET_EXAMPLES_WITHOUT_QUERY = 5
POST_EXAMPLES = 15
ROLES = [Role.ADMINISTRATOR, Role.TEAM_ADMINISTRATOR, Role.VIEWER]
# Requests sent per page, for the report printed at the end (pytest -s).
SENT: Counter[str] = Counter()


class World:
    """One company with a little of everything, and its ids for the generated requests."""

    def __init__(self, company, team) -> None:
        self.company = company
        company.area_support = True
        company.save(update_fields=["area_support"])
        with company_scope(company):
            self.area = AreaFactory(company=company)
            team.area = self.area
            team.save(update_fields=["area"])
            self.team = team
            self.default_team = Team.objects.get(is_default=True)
            self.employee = EmployeeFactory(company=company, team=team)
            self.clients = [ClientFactory(company=company, area=self.area) for _ in range(3)]
            self.licenses = [LicenseFactory(company=company) for _ in range(6)]
            self.device = DeviceFactory(company=company, team=team, license=self.licenses[0])
            self.pending = DeviceFactory(company=company, team=team, license=self.licenses[1], registered_at=None)
        self.viewer = make_user(company, Role.VIEWER)

    def ids(self) -> list[str]:
        pks = [self.area.pk, self.team.pk, self.default_team.pk, self.employee.pk, self.device.pk, self.viewer.pk]
        pks += [client.pk for client in self.clients] + [lic.pk for lic in self.licenses]
        return [str(pk) for pk in pks]


@pytest.fixture
def world(company_a, team_a) -> World:
    return World(company_a, team_a)


def as_role(world: World, role: str):
    user = make_user(world.company, role, team=world.team if role == Role.TEAM_ADMINISTRATOR else None)
    http = login(user)
    http.raise_request_exception = False
    return http, user


# GET

LIST_PAGES: dict[str, tuple[str, ...]] = {
    "/devices/": (
        *("team", "license", "nickname", "platform", "version", "v", "t", "p", "lic", "seen"),
        *("sort", "dir", "page", "per_page", "pq"),
    ),
    "/devices/DeviceReport.csv": ("team", "license", "nickname", "platform", "version", "v", "t", "p", "lic", "seen"),
    "/devices/clients/search/": ("q", "client_pick"),
    "/devices/pending/": ("pq",),
    "/devices/add/": (),
    "/employees/": ("name", "team", "email", "status", "page"),
    "/employees/add/": (),
    "/clients/": ("name", "type", "area", "active", "page"),
    "/clients/add/": (),
    "/licenses/": ("status", "page"),
    "/teams/": (),
    "/teams/add/": (),
    "/areas/": (),
    "/areas/add/": (),
    "/users/": (),
    "/users/invite/": (),
    "/settings/": (),
}
# Pages of one row; {pk} is a real id or a generated number.
ROW_PAGES = (
    "/devices/{pk}/",
    "/devices/{pk}/edit/",
    "/devices/{pk}/delete/",
    "/teams/{pk}/",
    "/teams/{pk}/edit/",
    "/teams/{pk}/delete/",
    "/employees/{pk}/edit/",
    "/areas/{pk}/edit/",
    "/areas/{pk}/delete/",
    "/clients/{pk}/edit/",
    "/users/{pk}/edit/",
    "/users/invitations/{pk}/resend/",
    "/invitations/{pk}/",
)


def encoded(value: str) -> str:
    """A value as a query string carries it; a lone surrogate becomes its UTF-8 bytes, %ED%A0%80."""
    return quote(value, safe="", errors="surrogatepass")


query_value = st.one_of(st.sampled_from(RAW_QUERY_VALUES), any_value.map(encoded))


@st.composite
def query_string(draw: st.DrawFn, names: tuple[str, ...]) -> str:
    """Values for one or more of the page's own parameters, and perhaps one it does not know."""
    pairs = draw(st.lists(st.tuples(st.sampled_from(names), query_value), min_size=1, max_size=4)) if names else []
    if draw(st.booleans()):
        pairs.append((draw(st.sampled_from(["x", "page", "%00", "a%ED%A0%80"])), draw(query_value)))
    return "&".join(f"{name}={value}" for name, value in pairs)


@pytest.mark.parametrize("role", ROLES)
def test_every_get_as_each_role(role, world) -> None:
    http, _ = as_role(world, role)
    for page in [*sorted(LIST_PAGES), *ROW_PAGES]:
        fuzz_get(http, world, page)()


def fuzz_get(http, world: World, page: str):
    """The Hypothesis test of one page, to be called."""
    names = LIST_PAGES.get(page, ())

    @fuzz_settings(GET_EXAMPLES if names else GET_EXAMPLES_WITHOUT_QUERY)
    @given(
        pk=st.one_of(st.sampled_from(world.ids()), number_text.filter(lambda text: text.isascii() and text.isdigit())),
        query=query_string(names),
        htmx=st.booleans(),
    )
    def get(pk, query, htmx) -> None:
        url = page.format(pk=pk) + "?" + query
        SENT[f"GET {page}"] += 1
        response = http.get(url, headers={"HX-Request": "true"} if htmx else {})
        if response.streaming:
            b"".join(response.streaming_content)  # the report breaks here if a row fails
        assert response.status_code < 500, url

    return get


# POST


def _real(world: World, *values: str) -> st.SearchStrategy[str]:
    return st.sampled_from([*values, *world.ids()])


def device_dialog(world: World) -> dict[str, st.SearchStrategy]:
    ids = _real(world)
    return {
        "team": st.one_of(st.just(str(world.team.pk)), ids, any_value),
        "time_zone": st.one_of(st.sampled_from(["", "America/Chicago", "Europe/Berlin"]), any_value),
        "license": st.one_of(st.sampled_from([str(lic.pk) for lic in world.licenses[2:]]), any_value),
        "nickname": st.one_of(st.text(min_size=1, max_size=64), any_value),
        "description": st.one_of(st.text(max_size=500), any_value),
        "email": st.one_of(st.just(""), st.emails().map(str), any_value),
        "expires_in": st.one_of(st.sampled_from(["15", "60", "1440"]), number_text, any_value),
        "employee": st.one_of(st.just(str(world.employee.pk)), ids, number_text),
        "recipients": st.lists(st.one_of(st.emails().map(str), any_value), max_size=3),
        "client_selection_type": st.one_of(st.sampled_from(["retail", "wholesale", "both"]), any_value),
        "client_scope": st.one_of(st.sampled_from(["all", "selected"]), any_value),
        "include_area_clients": st.sampled_from(["on", "", "\x00"]),
        "assigned_clients": st.lists(st.one_of(st.sampled_from([str(c.pk) for c in world.clients]), number_text)),
        "client_pick": st.one_of(st.sampled_from([f"{c.name} · #{c.pk}" for c in world.clients]), any_value),
        "functionality_mode": st.one_of(st.sampled_from(["company", "custom"]), any_value),
        "functionality": st.lists(st.one_of(st.sampled_from(Functionality.values), any_value), max_size=3),
        "action": st.sampled_from(["save", "add_employee", "add_custom", "add_client", "preview", "\x00"]),
        "remove_recipient": any_value,
        "remove_client": st.one_of(number_text, any_value),
        "tab": st.one_of(st.sampled_from(["settings", "clients", "functionality"]), any_value),
    }


def forms(world: World) -> dict[str, dict[str, st.SearchStrategy]]:
    """Each form's URL and a strategy per field."""
    ids = _real(world)
    name = st.one_of(st.text(min_size=1, max_size=30), any_value)
    time_zone = st.one_of(st.sampled_from(["America/Chicago", "Europe/Berlin", "Mars/Olympus"]), any_value)
    team = {"name": name, "time_zone": time_zone, "area": st.one_of(ids, number_text, any_value)}
    employee = {"name": name, "email": st.one_of(st.emails().map(str), any_value), "team": st.one_of(ids, any_value)}
    client = {
        "name": name,
        "client_type": st.one_of(st.sampled_from(["retail", "wholesale"]), any_value),
        "is_active": st.sampled_from(["on", "", "\x00"]),
        "area": st.one_of(ids, number_text, any_value),
    }
    password = st.one_of(st.just("correct-horse-battery-9"), any_value)
    user = {
        "email": st.one_of(st.emails().map(str), any_value),
        "full_name": name,
        "role": st.one_of(st.sampled_from(Role.values), any_value),
        "team": st.one_of(ids, number_text, any_value),
        "password": password,
        "password_confirm": password,
    }
    dialog = device_dialog(world)
    return {
        "/devices/add/": dialog,
        f"/devices/{world.device.pk}/edit/": dialog,
        "/devices/add/preview/": dialog,
        "/devices/views/": {
            "name": name,
            "query": st.one_of(query_string(LIST_PAGES["/devices/"]), any_value),
            "is_shared": st.sampled_from(["on", "", "\x00"]),
        },
        f"/devices/{world.device.pk}/edit/preview/": dialog,
        "/teams/add/": team,
        f"/teams/{world.team.pk}/edit/": team,
        "/employees/add/": employee,
        f"/employees/{world.employee.pk}/edit/": employee,
        "/areas/add/": {"name": name},
        f"/areas/{world.area.pk}/edit/": {"name": name},
        "/clients/add/": client,
        f"/clients/{world.clients[0].pk}/edit/": client,
        "/users/invite/": {key: user[key] for key in ("email", "full_name", "role", "team")},
        f"/users/{world.viewer.pk}/edit/": {key: user[key] for key in ("full_name", "role", "team")},
        "/settings/": {
            "default_time_zone": time_zone,
            "default_functionality": st.lists(st.one_of(st.sampled_from(Functionality.values), any_value)),
        },
        "/login/": {"login": st.one_of(st.emails().map(str), any_value), "password": password},
    }


@st.composite
def form_data(draw: st.DrawFn, fields: dict[str, st.SearchStrategy]) -> dict[str, object]:
    """Some of the form's fields (each with a valid or an attacker's value) and perhaps an unknown one."""
    chosen = draw(st.lists(st.sampled_from(sorted(fields)), unique=True, min_size=len(fields) // 2))
    data: dict[str, object] = {name: draw(fields[name]) for name in chosen}
    if draw(st.booleans()):
        data[draw(any_value)] = draw(any_value)
    return data


def no_stored_text_breaks_the_rules(world: World) -> None:
    with scopes_disabled():
        rows: list[tuple[str, TextKind]] = []
        for model, names in ((Team, ("name",)), (Area, ("name",)), (Client, ("name",)), (Employee, ("name", "email"))):
            rows += [(value, TextKind.NAME) for value in model.objects.values_list(*names, flat=len(names) == 1)]
        rows = [(v, k) for value, k in rows for v in (value if isinstance(value, tuple) else (value,))]
        rows += [(value, TextKind.NAME) for value in Device.objects.values_list("nickname", flat=True)]
        rows += [(value, TextKind.MULTILINE) for value in Device.objects.values_list("description", flat=True)]
        rows += [(value, TextKind.NAME) for value in User.objects.values_list("full_name", flat=True)]
        rows += [(value, TextKind.NAME) for value in SavedView.objects.values_list("name", flat=True)]
    broken = [value for value, kind in rows if not text_is_clean(value, kind)]
    assert not broken, broken


def urlencoded(data: dict[str, object]) -> str:
    """A form body as a browser sends it; a lone surrogate goes as its UTF-8 bytes (%ED%A0%80)."""
    pairs = []
    for key, value in data.items():
        for item in value if isinstance(value, list) else [value]:
            pairs.append(f"{encoded(str(key))}={encoded(str(item))}")
    return "&".join(pairs)


@pytest.mark.parametrize("role", ROLES)
def test_every_form_as_each_role(role, world) -> None:
    http, _ = as_role(world, role)
    for url, fields in forms(world).items():
        fuzz_post(http, url, fields)()
    no_stored_text_breaks_the_rules(world)


def fuzz_post(http, url: str, fields: dict[str, st.SearchStrategy]):
    """The Hypothesis test of one form, to be called."""

    @fuzz_settings(POST_EXAMPLES)
    @given(data=form_data(fields), htmx=st.booleans())
    def post(data, htmx) -> None:
        body = urlencoded(data)
        SENT[f"POST {url}"] += 1
        headers = {"HX-Request": "true"} if htmx else {}
        response = http.post(url, body, content_type="application/x-www-form-urlencoded", headers=headers)
        assert response.status_code < 500, (url, body)

    return post


def teardown_module() -> None:
    print("\nBack Office fuzz, requests sent:", dict(sorted(SENT.items())))  # noqa: T201
