from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from customers.models import ImportJob


class ImportForm(forms.Form):
    kind = forms.ChoiceField(label=_("The file holds"), choices=ImportJob.Kind.choices)
    file = forms.FileField(
        label=_("File"),
        help_text=_("CSV (UTF-8 or GBK) or XLSX; Chinese or English column headers."),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,.xlsx,.xlsm"}),
    )
    partial = forms.BooleanField(
        label=_("Import the good rows even if some rows are rejected"),
        required=False,
        help_text=_("Without this, a file with a rejected row changes nothing."),
    )
    # Shown only once the page has said the same file was imported a few minutes ago.
    confirm_duplicate = forms.BooleanField(label=_("Yes, import the same file again"), required=False)

    def max_megabytes(self) -> int:
        return settings.IMPORT_MAX_FILE_BYTES // (1024 * 1024)
