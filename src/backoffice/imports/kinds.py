"""The three kinds of import and their columns (the template files and the header row)."""

from dataclasses import dataclass

from backoffice.tenancy.choices import Role


@dataclass(frozen=True)
class Column:
    key: str  # the key of a row's value, as the saving service names it
    header: str  # the header of the template file
    example: str
    required: bool = True
    aliases: tuple[str, ...] = ()

    def names(self) -> set[str]:
        """Header texts that name this column (compared lower-cased, spaces and underscores alike)."""
        return {header_key(self.header), header_key(self.key), *(header_key(alias) for alias in self.aliases)}


@dataclass(frozen=True)
class ImportKind:
    key: str  # in the URL: devices, employees, clients
    label: str  # plural, for headings: "devices"
    singular: str
    columns: tuple[Column, ...]
    roles: tuple[Role, ...]
    # Rows per file: devices are added one by one (a license lock, a code and its emails each, about
    # 13 ms a device on PostgreSQL), so that an import of them ends well within a request's 30 seconds.
    max_rows: int = 5000

    @property
    def headers(self) -> list[str]:
        return [column.header for column in self.columns]


def header_key(text: str) -> str:
    return " ".join(text.replace("_", " ").replace("-", " ").split()).lower()


KINDS: dict[str, ImportKind] = {
    kind.key: kind
    for kind in (
        ImportKind(
            key="employees",
            label="employees",
            singular="employee",
            columns=(
                Column("name", "Name", "Dana Whitfield", aliases=("full name", "employee")),
                Column("email", "Email", "dana.whitfield@example.com", aliases=("email address", "e-mail")),
                Column("team", "Team", "Default Team", aliases=("team name",)),
            ),
            roles=(Role.ADMINISTRATOR, Role.TEAM_ADMINISTRATOR),
        ),
        ImportKind(
            key="clients",
            label="clients",
            singular="client",
            columns=(
                Column("name", "Name", "Metro Ford", aliases=("client", "client name")),
                Column("type", "Type", "Retail", aliases=("client type", "retail/wholesale")),
                Column("area", "Area", "", required=False, aliases=("area name",)),
            ),
            roles=(Role.ADMINISTRATOR,),
        ),
        ImportKind(
            key="devices",
            label="devices",
            singular="device",
            columns=(
                Column("nickname", "Nickname", "Tablet 01", aliases=("device", "name")),
                Column("team", "Team", "Default Team", aliases=("team name",)),
                Column("time_zone", "Time Zone", "", required=False, aliases=("timezone", "tz")),
                Column(
                    "recipients",
                    "Recipients",
                    "dana.whitfield@example.com",
                    required=False,
                    aliases=("recipient", "emails", "email"),
                ),
            ),
            roles=(Role.ADMINISTRATOR, Role.TEAM_ADMINISTRATOR),
            max_rows=1000,
        ),
    )
}
