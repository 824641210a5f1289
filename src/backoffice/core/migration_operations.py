"""Migration operations that Django's schema editor does not offer."""

from typing import Any

from django.db import migrations


class CompanyConsistentForeignKey(migrations.operations.base.Operation):
    """
    Make the database refuse a row whose foreign key points at another
    company's row: ``(company_id, <column>)`` must match ``(company_id, id)``
    of the referenced table.

    PostgreSQL gets a composite foreign key (the referenced table carries a
    unique ``(company_id, id)`` constraint). SQLite cannot add constraints to
    an existing table, so it gets equivalent triggers on insert and update.
    A NULL column is allowed, as with an ordinary nullable foreign key.
    """

    reduces_to_sql = True
    reversible = True

    def __init__(self, table: str, column: str, referenced_table: str) -> None:
        self.table = table
        self.column = column
        self.referenced_table = referenced_table

    @property
    def name(self) -> str:
        return f"{self.table}_{self.column}_same_company"

    def deconstruct(self) -> tuple[str, list[Any], dict[str, Any]]:
        return (
            self.__class__.__qualname__,
            [],
            {
                "table": self.table,
                "column": self.column,
                "referenced_table": self.referenced_table,
            },
        )

    def state_forwards(self, app_label: str, state: Any) -> None:
        pass

    def database_forwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(
                f'ALTER TABLE "{self.table}" ADD CONSTRAINT "{self.name}" '
                f'FOREIGN KEY ("company_id", "{self.column}") '
                f'REFERENCES "{self.referenced_table}" ("company_id", "id")'
            )
        elif schema_editor.connection.vendor == "sqlite":
            for event, when in (("INSERT", "INSERT"), ("UPDATE", f'UPDATE OF "company_id", "{self.column}"')):
                schema_editor.execute(
                    f'CREATE TRIGGER "{self.name}_{event.lower()}" BEFORE {when} ON "{self.table}" '
                    f'WHEN NEW."{self.column}" IS NOT NULL AND NOT EXISTS ('
                    f'SELECT 1 FROM "{self.referenced_table}" r '
                    f'WHERE r."id" = NEW."{self.column}" AND r."company_id" = NEW."company_id") '
                    f"BEGIN SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed: {self.name}'); END"
                )

    def database_backwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(f'ALTER TABLE "{self.table}" DROP CONSTRAINT "{self.name}"')
        elif schema_editor.connection.vendor == "sqlite":
            for event in ("insert", "update"):
                schema_editor.execute(f'DROP TRIGGER IF EXISTS "{self.name}_{event}"')

    def describe(self) -> str:
        return f"Keep {self.table}.{self.column} inside the row's company"
