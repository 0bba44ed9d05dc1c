"""The import screens' forms: the upload with its options, and the column mapping review."""

from decimal import Decimal

from django import forms

from leadflow.acquisition.jobs import Preview, column_choices
from leadflow.acquisition.kinds import RUNNERS
from leadflow.acquisition.models import DuplicatePolicy, ImportKind
from leadflow.acquisition.services import ImportOptions, phone_region_problem

DELIMITERS = [
    ("", "Detect"),
    (",", "Comma ,"),
    (";", "Semicolon ;"),
    ("tab", "Tab"),
    ("|", "Pipe |"),
]
ENCODINGS = [
    ("", "Detect"),
    ("utf-8", "UTF-8"),
    ("utf-16", "UTF-16"),
    ("cp1252", "Windows-1252 (Western Europe)"),
    ("cp1250", "Windows-1250 (Central Europe)"),
    ("cp1251", "Windows-1251 (Cyrillic)"),
    ("latin-1", "ISO-8859-1 (Latin-1)"),
]


class UploadForm(forms.Form):
    file = forms.FileField(
        help_text="A CSV, TSV or Excel (.xlsx) file with a header line.",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.tsv,.txt,.xlsx,text/csv"}),
    )
    kind = forms.ChoiceField(
        label="What the file holds",
        choices=[(value, label) for value, label in ImportKind.choices if value in RUNNERS],
        initial=ImportKind.CONTACTS,
    )
    vendor = forms.CharField(
        required=False, max_length=200, help_text="Who sold the list; created if new."
    )
    cost_per_lead = forms.DecimalField(
        required=False,
        min_value=Decimal(0),
        decimal_places=4,
        max_digits=14,
        help_text="Price per new contact. Or give the total cost.",
    )
    total_cost = forms.DecimalField(
        required=False,
        min_value=Decimal(0),
        decimal_places=2,
        max_digits=14,
        help_text="Price of the whole list.",
    )
    currency = forms.CharField(max_length=3, min_length=3, initial="USD")
    channel = forms.CharField(
        required=False, max_length=100, help_text="First-touch channel of the new contacts."
    )
    campaign = forms.CharField(
        required=False, max_length=200, help_text="First-touch campaign of the new contacts."
    )
    on_duplicate = forms.ChoiceField(
        label="When a contact already exists",
        choices=[
            (DuplicatePolicy.SKIP, "Skip it: leave the contact as it is"),
            (DuplicatePolicy.UPDATE, "Update it: the file's values replace the contact's"),
            (DuplicatePolicy.MERGE, "Merge: fill empty fields; a dated newer row wins"),
        ],
        initial=DuplicatePolicy.SKIP,
    )
    allow_no_email = forms.BooleanField(
        required=False,
        label="Take rows without an email",
        help_text="If they have a name or an external id.",
    )
    phone_region = forms.CharField(
        required=False, max_length=2, help_text="Country of phones without a +code, e.g. US."
    )
    date_order = forms.ChoiceField(
        choices=[
            ("", "As the file's dates tell"),
            ("dmy", "Day first (31/12/2024)"),
            ("mdy", "Month first (12/31/2024)"),
        ],
        required=False,
        label="Dates",
    )
    encoding = forms.ChoiceField(choices=ENCODINGS, required=False)
    delimiter = forms.ChoiceField(choices=DELIMITERS, required=False)
    sheet = forms.CharField(
        required=False, max_length=100, help_text="For a spreadsheet: the sheet to read."
    )

    def clean_currency(self) -> str:
        return self.cleaned_data["currency"].upper()

    def clean_phone_region(self) -> str:
        region = self.cleaned_data["phone_region"].strip().upper()
        if problem := phone_region_problem(region or None):
            raise forms.ValidationError(problem[:1].upper() + problem[1:])
        return region

    def clean(self) -> dict:
        data = super().clean()
        per_lead, total = data.get("cost_per_lead"), data.get("total_cost")
        if per_lead is not None and total is not None:
            self.add_error("total_cost", "Give a cost per lead or a total cost, not both.")
        elif (per_lead is not None or total is not None) and not (
            data.get("vendor") or data.get("campaign")
        ):
            self.add_error("vendor", "A list cost needs a vendor (or a campaign) to book it to.")
        return data

    def to_options(self) -> ImportOptions:
        data = self.cleaned_data
        return ImportOptions(
            kind=data["kind"],
            encoding=data["encoding"] or None,
            delimiter=data["delimiter"] or None,
            sheet=data["sheet"] or None,
            on_duplicate=data["on_duplicate"],
            vendor=data["vendor"] or None,
            cost_per_lead=data["cost_per_lead"],
            total_cost=data["total_cost"],
            currency=data["currency"],
            channel=data["channel"] or None,
            campaign=data["campaign"] or None,
            allow_no_email=data["allow_no_email"],
            phone_region=data["phone_region"] or None,
            date_order=data["date_order"] or None,
        )


class MappingForm(forms.Form):
    """One select per column of the file, set to the proposed field."""

    def __init__(self, *args, preview: Preview, mapping: dict[str, str] | None = None, **kw):
        super().__init__(*args, **kw)
        self.preview = preview
        chosen = {**preview.proposed, **(mapping or {})}
        for index, header in enumerate(preview.headers):
            self.fields[f"col_{index}"] = forms.ChoiceField(
                label=header,
                choices=column_choices(header, preview.kind),
                initial=chosen.get(header),
            )

    def rows(self):
        """(header, samples, bound field) per column, for the review table."""
        for index, header in enumerate(self.preview.headers):
            yield header, self.preview.samples.get(header, []), self[f"col_{index}"]

    def mapping(self) -> dict[str, str]:
        return {
            header: self.cleaned_data[f"col_{index}"]
            for index, header in enumerate(self.preview.headers)
        }
