"""The forms beside the Search pane that save, rename and delete a saved view."""

from django import forms

from backoffice.devices.models import SAVED_VIEW_NAME_MAX_LENGTH
from backoffice.tenancy.forms import PageForm


class SavedViewForm(PageForm):
    """
    "Save current as…" and Rename: a name and whether the view is shared.
    ``query`` carries the list's query string as the page wrote it; the view
    parses it again (``DeviceListState.from_query``), so that only a
    normalised search is ever stored.
    """

    name = forms.CharField(label="Name", max_length=SAVED_VIEW_NAME_MAX_LENGTH)
    is_shared = forms.BooleanField(label="Share with the company", required=False)
    query = forms.CharField(required=False, max_length=4000, widget=forms.HiddenInput)
