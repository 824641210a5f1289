"""The upload form and the import form of the imports pages."""

from django import forms

from backoffice.imports.parsing import MAX_BYTES


class UploadForm(forms.Form):
    file = forms.FileField(
        label="Spreadsheet file",
        help_text=f"CSV or Excel (.xlsx), at most {MAX_BYTES // (1024 * 1024)} MB.",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,.xlsx,text/csv"}),
    )

    def clean_file(self) -> object:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_BYTES:
            raise forms.ValidationError(
                f"The file is larger than {MAX_BYTES // (1024 * 1024)} MB; split it into smaller files."
            )
        return upload


class RunForm(forms.Form):
    mode = forms.ChoiceField(choices=[("valid", "Import the valid rows"), ("all", "Import only if every row is valid")])
