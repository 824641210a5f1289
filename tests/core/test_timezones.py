"""The time zones offered, kept and resolved (``core.timezones``) and the picker's field (``core.forms``)."""

import zoneinfo

import pytest
from django import forms

from backoffice.core.forms import TimeZoneField
from backoffice.core.timezones import (
    is_current_time_zone,
    is_valid_time_zone,
    time_zone_alias_of,
    time_zone_choices,
    time_zone_label,
    time_zone_names,
    time_zone_resolve,
)

DEPRECATED = ("US/Eastern", "GMT+0", "Asia/Calcutta", "Europe/Kiev", "America/Buenos_Aires", "Etc/GMT+5")


def test_only_current_names_are_offered():
    names = time_zone_names()
    assert names == tuple(sorted(names))
    assert {"America/Chicago", "America/New_York", "Asia/Kolkata", "Europe/Kyiv", "UTC"} <= set(names)
    assert not set(DEPRECATED) & set(names)
    assert all(zoneinfo.ZoneInfo(name) for name in names)
    # One entry per zone of the database's zone.tab, far fewer than every name.
    assert 300 < len(names) < len(zoneinfo.available_timezones()) - 100


@pytest.mark.parametrize("alias", DEPRECATED)
def test_a_deprecated_alias_is_valid_but_not_offered(alias):
    assert is_valid_time_zone(alias) is True
    assert is_current_time_zone(alias) is False


def test_unknown_names_and_non_zones_are_not_valid():
    for name in ("Mars/Olympus", "chicago", "localtime", "Factory", "posixrules", ""):
        assert is_valid_time_zone(name) is False


def test_aliases_name_the_zone_they_stand_for():
    assert time_zone_alias_of("US/Eastern") == "America/New_York"
    assert time_zone_alias_of("Asia/Calcutta") == "Asia/Kolkata"
    assert time_zone_alias_of("GMT+0") == "UTC"
    assert time_zone_alias_of("America/Chicago") is None


def test_labels_read_with_spaces_and_name_the_country():
    assert time_zone_label("America/New_York") == "America/New York · United States"
    assert time_zone_label("UTC") == "UTC"
    assert ("Europe/Berlin", "Europe/Berlin · Germany") in time_zone_choices()


@pytest.mark.parametrize(
    ("typed", "zone"),
    [
        ("chicago", "America/Chicago"),
        ("CHICAGO", "America/Chicago"),
        ("  Chicago ", "America/Chicago"),
        ("america/chicago", "America/Chicago"),
        ("new york", "America/New_York"),
        ("New_York", "America/New_York"),
        ("America/Los Angeles", "America/Los_Angeles"),
        ("indianapolis", "America/Indiana/Indianapolis"),
        ("buenos aires", "America/Argentina/Buenos_Aires"),
        ("japan", "Asia/Tokyo"),
        ("york", "America/New_York"),
        ("utc", "UTC"),
        # A deprecated alias typed anew gives its current name.
        ("US/Eastern", "America/New_York"),
        ("asia/calcutta", "Asia/Kolkata"),
        ("kiev", "Europe/Kyiv"),
        ("Etc/UTC", "UTC"),
    ],
)
def test_typed_names_resolve_in_any_case(typed, zone):
    match = time_zone_resolve(typed)
    assert (match.name, match.candidates, match.ambiguous) == (zone, (), False)


def test_the_stored_value_is_kept_even_when_deprecated():
    assert time_zone_resolve("US/Eastern", keep="US/Eastern").name == "US/Eastern"
    assert time_zone_resolve("us/eastern", keep="US/Eastern").name == "US/Eastern"
    # Another alias than the stored one resolves as usual.
    assert time_zone_resolve("US/Central", keep="US/Eastern").name == "America/Chicago"


def test_an_ambiguous_name_lists_what_it_could_mean():
    match = time_zone_resolve("america/chi")
    assert (match.name, match.candidates, match.ambiguous) == (None, ("America/Chicago", "America/Chihuahua"), True)
    germany = time_zone_resolve("Germany")
    assert (germany.name, germany.candidates) == (None, ("Europe/Berlin", "Europe/Busingen"))


def test_an_unknown_name_lists_close_spellings_or_nothing():
    assert time_zone_resolve("chicgo").candidates == ("America/Chicago",)
    assert time_zone_resolve("chicgo").ambiguous is False
    nothing = time_zone_resolve("Mars/Olympus")
    assert (nothing.name, nothing.candidates) == (None, ())
    assert time_zone_resolve("").name is None


class PickerForm(forms.Form):
    time_zone = TimeZoneField(label="Time zone")


@pytest.mark.parametrize(
    ("typed", "initial", "cleaned"),
    [
        ("chicago", None, "America/Chicago"),
        ("US/Eastern", "US/Eastern", "US/Eastern"),
        ("us/eastern", "US/Eastern", "US/Eastern"),
        ("US/Eastern", "America/Chicago", "America/New_York"),
        # No initial: the form cannot know what is stored, so a name spelled
        # exactly as the database spells it is kept.
        ("US/Eastern", None, "US/Eastern"),
        ("us/eastern", None, "America/New_York"),
    ],
)
def test_the_field_resolves_and_keeps_the_stored_value(typed, initial, cleaned):
    form = PickerForm({"time_zone": typed}, initial={"time_zone": initial} if initial else {})
    assert form.is_valid(), form.errors
    assert form.cleaned_data["time_zone"] == cleaned


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        (
            "america/chi",
            "“america/chi” matches 2 time zones: America/Chicago, America/Chihuahua. "
            "Type more of the name or pick one from the list.",
        ),
        ("chicgo", "No time zone is called “chicgo”. Did you mean America/Chicago?"),
        ("Mars/Olympus", "Choose a time zone from the list, e.g. America/Chicago."),
        ("x" * 65, "Ensure this value has at most 64 characters (it has 65)."),
        ("", "This field is required."),
    ],
)
def test_the_field_explains_what_it_refuses(typed, message):
    form = PickerForm({"time_zone": typed})
    assert form.is_valid() is False
    assert form.errors["time_zone"] == [message]


def test_a_long_list_of_matches_is_cut_short():
    form = PickerForm({"time_zone": "an"})
    assert form.is_valid() is False
    (message,) = form.errors["time_zone"]
    count = len(time_zone_resolve("an").candidates)
    assert message.startswith(f"“an” matches {count} time zones: ")
    assert f" and {count - 6} more. " in message


def test_the_widget_lists_current_zones_and_a_stored_alias():
    html = str(PickerForm(initial={"time_zone": "US/Eastern"})["time_zone"])
    assert 'list="id_time_zone_zones"' in html
    assert '<datalist id="id_time_zone_zones">' in html
    assert html.count("<option ") == len(time_zone_names()) + 1
    assert '<option value="US/Eastern" label="US/Eastern · old name of America/New_York"></option>' in html
    assert '<option value="America/Chicago" label="America/Chicago · United States"></option>' in html
    assert 'value="Asia/Calcutta"' not in html
    fresh = str(PickerForm(initial={"time_zone": "America/Chicago"})["time_zone"])
    assert fresh.count("<option ") == len(time_zone_names())


def test_the_box_is_described_by_its_hint_and_its_error():
    form = PickerForm({"time_zone": "chicgo"})
    form.is_valid()
    html = str(form["time_zone"])
    assert 'aria-describedby="id_time_zone_helptext id_time_zone_error"' in html
    assert 'aria-invalid="true"' in html
