"""
The rules for text and ids that come from outside (forms, query strings, the
device API), checked at the boundary so that no service or query ever sees
them (docs/decisions.md, "Text inputs").

- **Control characters** (C0 U+0000–U+001F, DEL, C1 U+0080–U+009F) are refused
  everywhere, except tab, line feed and carriage return in multi-line fields
  (a description). PostgreSQL cannot store NUL at all.
- **Lone surrogates** (U+D800–U+DFFF: a JSON ``"\\ud800"`` decodes to one) are
  refused everywhere: they cannot be encoded as UTF-8.
- **Names** (a nickname, a team, employee, client, area or user name, what a
  device reports as its name, platform, OS and version) also refuse the
  characters that change how the text around them reads without showing
  themselves: bidi embeddings, overrides and isolates (U+202A–U+202E,
  U+2066–U+2069), zero-width characters (U+200B–U+200D, U+2060, U+FEFF) and
  the line and paragraph separators (U+2028, U+2029).
- **Ids** typed into a query string or a form are at most ``ID_MAX_DIGITS``
  ASCII digits; anything else is not an id (``id_parse`` answers None), never
  an ``OverflowError`` from the database driver.

``text_problem`` is the one implementation; ``TextRulesFormMixin`` applies it
to every field of a Django form, ``text_check`` to a pydantic field (it raises
``ValueError``, which pydantic reports as a validation error).
"""

import re
from collections.abc import Callable, Iterable
from enum import StrEnum
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

ID_MAX_DIGITS = 12
# What a search takes for an id too long to be one: no row has it, so it matches nothing.
NO_SUCH_ID = 0

_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
_CONTROL_MULTILINE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_INVISIBLE = re.compile("[\u200b-\u200d\u2028\u2029\u202a-\u202e\u2060\u2066-\u2069\ufeff]")
_ID = re.compile(rf"[0-9]{{1,{ID_MAX_DIGITS}}}")


class TextKind(StrEnum):
    """Which rule a text follows."""

    LINE = "line"  # one line: no control character at all
    MULTILINE = "multiline"  # tab, LF and CR allowed
    NAME = "name"  # one line, and no invisible or direction-changing character


def text_problem(text: str, kind: TextKind = TextKind.LINE) -> str | None:
    """What is wrong with ``text`` under ``kind``, as the end of a sentence; None when nothing is."""
    if (_CONTROL_MULTILINE if kind == TextKind.MULTILINE else _CONTROL).search(text):
        return "contains a control character"
    if _SURROGATE.search(text):
        return "contains an invalid character (a lone surrogate)"
    if kind == TextKind.NAME and _INVISIBLE.search(text):
        return "contains an invisible or text-direction character (zero-width or bidi control)"
    return None


def text_is_clean(text: str, kind: TextKind = TextKind.LINE) -> bool:
    return text_problem(text, kind) is None


def search_ignored_message(labels: Iterable[str]) -> str:
    """What a list page says of the search boxes it ignored for a control character."""
    names = list(dict.fromkeys(labels))
    if len(names) == 1:
        return f"The {names[0]} search box contains a control character; it was ignored."
    return f"The {', '.join(names)} search boxes contain a control character; they were ignored."


def text_check(text: str, kind: TextKind = TextKind.LINE, *, label: str = "The text") -> str:
    """Return ``text`` when it follows the rule; raise ``ValueError`` with a sentence otherwise."""
    problem = text_problem(text, kind)
    if problem is not None:
        raise ValueError(f"{label} {problem}")
    return text


def id_parse(value: object) -> int | None:
    """
    An id typed into a query string or a form: 1 to ``ID_MAX_DIGITS`` ASCII
    digits (surrounding spaces ignored). Anything else, a negative number,
    a 30-digit one or a superscript digit included, is None.
    """
    text = str(value).strip() if value is not None else ""
    return int(text) if _ID.fullmatch(text) else None


# Django forms


def _raw_texts(value: Any) -> Iterable[str]:
    if isinstance(value, list | tuple):
        return [str(item) for item in value if item is not None]
    return [value] if isinstance(value, str) else []


def field_kind(name: str, field: forms.Field, name_fields: Iterable[str]) -> TextKind:
    if name in name_fields:
        return TextKind.NAME
    if isinstance(field.widget, forms.Textarea):
        return TextKind.MULTILINE
    return TextKind.LINE


def _guard(field: forms.Field, label: str, kind: TextKind) -> None:
    """Check the submitted value of ``field`` before the field itself parses it."""
    clean: Callable[[Any], Any] = field.clean
    takes_ids = isinstance(field, forms.ModelChoiceField)

    def guarded_clean(value: Any) -> Any:
        for text in _raw_texts(value):
            problem = text_problem(text, kind)
            if problem is not None:
                raise ValidationError(f"{label} {problem}.", code="text_rules")
            if takes_ids and text.strip() and id_parse(text) is None:
                message = field.error_messages.get("invalid_choice") or "Select a valid choice."
                raise ValidationError(message, code="invalid_choice", params={"value": "…"})
        return clean(value)

    field.clean = guarded_clean  # type: ignore[method-assign]


class TextRulesFormMixin(forms.BaseForm):
    """
    Put a form's every field under the text rules: the value as submitted
    (before stripping or parsing) follows ``TextKind.NAME`` for the fields
    named in ``name_fields``, ``MULTILINE`` for a textarea, ``LINE``
    otherwise; a model choice's value must be an id (``id_parse``). Mix it in
    before ``forms.Form``. Applied when the form cleans, so that fields added
    in a subclass's ``__init__`` are covered too.
    """

    name_fields: tuple[str, ...] = ("name", "nickname", "full_name")

    def full_clean(self) -> None:
        for name, field in self.fields.items():
            if getattr(field, "_text_rules", False):
                continue
            label = str(field.label) if field.label else name.replace("_", " ").capitalize()
            _guard(field, label, field_kind(name, field, self.name_fields))
            field._text_rules = True  # type: ignore[attr-defined]
        super().full_clean()
