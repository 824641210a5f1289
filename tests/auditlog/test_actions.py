"""Every action the source records has a label in the registry (backoffice.audit.actions)."""

import ast
import pathlib
import re

from backoffice.audit.actions import ACTION_GROUPS, ACTIONS, audit_action_groups, audit_action_label

SRC = pathlib.Path(__file__).resolve().parents[2] / "src" / "backoffice"
ACTION = re.compile(r"[a-z_]+\.[a-z_]+")


def recorded_actions() -> set[str]:
    """Every string literal given as ``action=`` to a call anywhere in src/ (migrations aside), in any branch."""
    found = set()
    for path in SRC.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Call):
                for keyword in node.keywords:
                    if keyword.arg == "action":
                        found |= {
                            leaf.value
                            for leaf in ast.walk(keyword.value)
                            if isinstance(leaf, ast.Constant)
                            and isinstance(leaf.value, str)
                            and ACTION.fullmatch(leaf.value)
                        }
    return found


def test_every_recorded_action_has_a_label():
    recorded = recorded_actions()
    assert "device.changed" in recorded
    assert "user.deactivated" in recorded  # the other branch of a conditional expression
    missing = sorted(recorded - set(ACTIONS))
    assert not missing, f"Add these actions with a label to backoffice/audit/actions.py: {missing}"


def test_every_action_falls_in_a_group_and_reads_as_its_label():
    assert {action.partition(".")[0] for action in ACTIONS} <= set(ACTION_GROUPS)
    grouped = [action for _, items in audit_action_groups() for action, _ in items]
    assert sorted(grouped) == sorted(ACTIONS)
    assert audit_action_label("registration_code.replaced") == "Registration code replaced"
    assert audit_action_label("thing.unknown") == "thing.unknown"
