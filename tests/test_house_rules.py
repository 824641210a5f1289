"""
House rules checked by reading the source (``ast``), not by running it.

1. Views and forms do not call the ORM: they go through selectors (reads) and
   services (writes), which own the querying, the tenant scope and the audit.
2. Every ``scopes_disabled()`` call site, which lifts the tenant scoping and
   so can show one company's rows to another, is listed in
   ``SCOPES_DISABLED_ALLOWED`` with the reason it must see every company. The
   list is exact: a new call site fails until it is added, and an entry whose
   call site is gone fails until it is removed.
"""

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "src" / "backoffice"

# "path from the repository root::function" (qualified: "Class.method"; "<module>" for module level)
# -> why that code must see every company's rows.
SCOPES_DISABLED_ALLOWED: dict[str, str] = {
    "src/backoffice/tenancy/middleware.py::CompanyScopeMiddleware.__call__": (
        "Operators (staff) on the Django admin list and edit every company's rows."
    ),
    "src/backoffice/notifications/services.py::_claim_next": (
        "The outbox worker sends every company's emails, so it claims the next due email whatever its company."
    ),
    "src/backoffice/notifications/services.py::_record": (
        "The outbox worker records the outcome of an email of any company, outside any request."
    ),
    "src/backoffice/notifications/services.py::_send_one": (
        "The outbox worker loads the company of an email of any company and lets the registered renderer "
        "read what the email announces (a registration code, an invitation) before that company's scope is opened."
    ),
    "src/backoffice/invitations/selectors.py::invitation_for_link": (
        "An invitation link may belong to any company: the invited person has no account and the link names "
        "no company, so the invitation is looked up by its public id before its company's scope is opened."
    ),
    "src/backoffice/audit/services.py::audit_events_prune": (
        "The periodic prune deletes the audit events older than the retention period in every company."
    ),
    "src/backoffice/devices/services/redemption.py::registration_code_redeem": (
        "A registration code may belong to any company: the code says which, "
        "so it is looked up and claimed before a company scope can be opened."
    ),
    "src/backoffice/devices/services/redemption.py::check_in_history_prune": (
        "The periodic pruning deletes the check-in history older than the retention period in every company."
    ),
    "src/backoffice/devices/services/registration.py::_digest_exists": (
        "Code digests are unique across companies (a device redeems a code without naming its company), "
        "so a new code is checked against every company's."
    ),
    "src/backoffice/devices/services/registration.py::registration_codes_issue_batch": (
        "a batch's code digests must be unique across every company, like _digest_exists"
    ),
    "src/backoffice/devices/services/registration.py::registration_code_wipe_expired": (
        "The periodic wipe removes the display copies of expired codes in every company."
    ),
    "src/backoffice/devices/services/registration.py::_release_candidates": (
        "The periodic release finds the expired codes holding licenses in every company; each release "
        "then runs in its device's company scope."
    ),
}

ORM_ATTRIBUTES = frozenset({"objects", "_default_manager", "_base_manager"})


def _relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _source_files() -> Iterator[Path]:
    """Every module of the app package except migrations."""
    for path in sorted(PACKAGE.rglob("*.py")):
        if "migrations" not in path.relative_to(PACKAGE).parts:
            yield path


def _view_and_form_files() -> Iterator[Path]:
    """``views.py``, ``forms.py`` and the modules of ``views/`` and ``forms/`` packages."""
    for path in _source_files():
        parts = path.relative_to(PACKAGE).parts
        if path.name in {"views.py", "forms.py"} or {"views", "forms"} & set(parts[:-1]):
            yield path


def _parse(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def test_views_and_forms_do_not_call_the_orm() -> None:
    files = list(_view_and_form_files())
    assert files, f"no views.py or forms.py found under {_relative(PACKAGE)}: did the layout change?"
    offences = [
        f"{_relative(path)}:{node.lineno}: {ast.unparse(node)}"
        for path in files
        for node in sorted(ast.walk(_parse(path)), key=lambda node: getattr(node, "lineno", 0))
        if isinstance(node, ast.Attribute) and node.attr in ORM_ATTRIBUTES
    ]
    if offences:
        pytest.fail(
            "Views and forms must not call the ORM (`.objects`, `._default_manager`, `._base_manager`); "
            "move the query into the app's selectors.py (reads) or services.py (writes) and call that instead:\n  "
            + "\n  ".join(offences),
            pytrace=False,
        )


class _ScopesDisabledFinder(ast.NodeVisitor):
    """Collect the line of every ``scopes_disabled`` use, with the qualified name of the enclosing function."""

    def __init__(self) -> None:
        self.names = {"scopes_disabled"}  # plus local aliases: ``import scopes_disabled as ...``
        self.stack: list[str] = []
        self.sites: list[tuple[str, int]] = []

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        for alias in node.names:
            if alias.name == "scopes_disabled" and alias.asname:
                self.names.add(alias.asname)

    def _visit_definition(self, node: ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        for decorator in node.decorator_list:
            target = decorator.func if isinstance(decorator, ast.Call) else decorator
            if self._names_scopes_disabled(target):
                # ``@scopes_disabled()`` (or bare) lifts the scoping for the whole body: report it under the function.
                self._record(decorator, qualname=".".join([*self.stack, node.name]))
            else:
                self.visit(decorator)
        # Defaults, bases and annotations are evaluated in the enclosing scope.
        for field, value in ast.iter_fields(node):
            if field in {"body", "decorator_list"}:
                continue
            for child in value if isinstance(value, list) else [value]:
                if isinstance(child, ast.AST):
                    self.visit(child)
        self.stack.append(node.name)
        for child in node.body:
            self.visit(child)
        self.stack.pop()

    visit_ClassDef = visit_FunctionDef = visit_AsyncFunctionDef = _visit_definition

    def visit_Call(self, node: ast.Call) -> None:
        # ``scopes_disabled()`` and django-scopes' spelling of it, ``scope(_enabled=False)``.
        if self._names_scopes_disabled(node.func) or any(keyword.arg == "_enabled" for keyword in node.keywords):
            self._record(node)
        self.generic_visit(node)

    def _names_scopes_disabled(self, node: ast.expr) -> bool:
        return (isinstance(node, ast.Name) and node.id in self.names) or (
            isinstance(node, ast.Attribute) and node.attr == "scopes_disabled"
        )

    def _record(self, node: ast.expr, qualname: str | None = None) -> None:
        self.sites.append((qualname or ".".join(self.stack) or "<module>", node.lineno))


def _scopes_disabled_sites() -> dict[str, list[int]]:
    sites: dict[str, list[int]] = {}
    for path in _source_files():
        finder = _ScopesDisabledFinder()
        finder.visit(_parse(path))
        for qualname, line in finder.sites:
            sites.setdefault(f"{_relative(path)}::{qualname}", []).append(line)
    return sites


def test_every_scopes_disabled_call_site_is_allowed_with_a_reason() -> None:
    sites = _scopes_disabled_sites()
    unlisted = [
        f'{key.split("::")[0]}:{line} in {key.split("::")[1]}: add "{key}"'
        for key, lines in sorted(sites.items())
        if key not in SCOPES_DISABLED_ALLOWED
        for line in lines
    ]
    stale = sorted(set(SCOPES_DISABLED_ALLOWED) - set(sites))
    problems = []
    if unlisted:
        problems.append(
            "scopes_disabled() lifts the tenant scoping (every company's rows become visible). "
            "Open company_scope(company) instead if one company is meant; otherwise add its key "
            "with a one-sentence reason (why it must see every company) to SCOPES_DISABLED_ALLOWED in "
            f"{_relative(Path(__file__))}:\n  " + "\n  ".join(unlisted)
        )
    if stale:
        problems.append(
            "These SCOPES_DISABLED_ALLOWED entries match no scopes_disabled() call any more "
            "(code removed, moved or renamed): remove or rename them:\n  " + "\n  ".join(stale)
        )
    if problems:
        pytest.fail("\n\n".join(problems), pytrace=False)
    assert all(reason.strip() for reason in SCOPES_DISABLED_ALLOWED.values()), "every entry needs a reason"
