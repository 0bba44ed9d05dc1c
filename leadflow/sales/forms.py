"""Forms of the deal screens; saving goes through sales.services."""

from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from leadflow.accounts.models import User
from leadflow.accounts.selectors import list_active_reps
from leadflow.contacts.forms import AttributesField, attach_service_error
from leadflow.contacts.models import Contact
from leadflow.contacts.normalise import InvalidEmail, validate_email_address
from leadflow.contacts.selectors import list_visible_contacts
from leadflow.errors import LeadflowError
from leadflow.sales import services
from leadflow.sales.models import Deal, DealStage


class DealForm(forms.Form):
    # Only when the deal is not started from a contact's page: who is buying, by email.
    contact_email = forms.CharField(
        max_length=254,
        label="Contact email",
        help_text="The contact this deal is with; they must already be in Leadflow.",
    )
    name = forms.CharField(max_length=200, label="Deal name")
    amount = forms.DecimalField(
        max_digits=14, decimal_places=2, min_value=Decimal("0"), initial=Decimal("0")
    )
    currency = forms.CharField(max_length=3, min_length=3, help_text="Three letters, e.g. USD.")
    stage = forms.ChoiceField(choices=DealStage.choices, initial=DealStage.QUALIFICATION)
    expected_close_on = forms.DateField(
        required=False, label="Expected close", widget=forms.DateInput(attrs={"type": "date"})
    )
    owner = forms.ModelChoiceField(
        queryset=list_active_reps(), required=False, empty_label="Unassigned"
    )
    lost_reason = forms.CharField(
        max_length=200,
        required=False,
        label="Why was it lost?",
        help_text="Needed when the stage is Lost.",
    )

    attributes = AttributesField()

    FIELDS = ("name", "amount", "currency", "expected_close_on", "owner", "attributes")

    def __init__(
        self,
        *args: Any,
        user: User,
        deal: Deal | None = None,
        contact: Contact | None = None,
        currency: str = "USD",
        **kwargs: Any,
    ) -> None:
        initial = kwargs.setdefault("initial", {})
        if deal is not None:
            initial.update({name: getattr(deal, name) for name in self.FIELDS})
            initial.update(stage=deal.stage, lost_reason=deal.lost_reason)
            if not isinstance(deal.attributes, dict):
                initial["attributes"] = {}
        else:
            initial.setdefault("currency", currency)
            if contact is not None:
                initial.setdefault("owner", contact.owner_id)
        super().__init__(*args, **kwargs)
        if deal is not None and isinstance(deal.attributes, dict):
            self.fields["attributes"].stored = dict(deal.attributes)
        self.user, self.deal, self.contact = user, deal, contact
        if deal is not None or contact is not None:
            del self.fields["contact_email"]
        if user.is_rep:
            del self.fields["owner"]  # a rep's deals are theirs; managers hand deals around

    def clean_currency(self) -> str:
        value = self.cleaned_data["currency"].strip().upper()
        if not value.isalpha():
            raise ValidationError("Use a three-letter currency code such as USD or EUR.")
        return value

    def clean_contact_email(self) -> str:
        raw = self.cleaned_data["contact_email"]
        try:
            email = validate_email_address(raw)
        except InvalidEmail as exc:
            raise ValidationError(str(exc)) from exc
        contact = list_visible_contacts(user=self.user).filter(email=email).first()
        if contact is None:
            raise ValidationError("No contact you can see has this email address.")
        self.contact = contact
        return email

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("stage") == DealStage.LOST and not (data.get("lost_reason") or "").strip():
            self.add_error("lost_reason", "Say why the deal was lost; reports group losses by it.")
        return data

    def save(self, *, actor: User) -> Deal | None:
        values = {name: self.cleaned_data[name] for name in self.FIELDS if name in self.fields}
        if self.user.is_rep and self.deal is None:
            values["owner"] = actor
        stage = self.cleaned_data["stage"]
        lost_reason = self.cleaned_data.get("lost_reason", "").strip()
        try:
            if self.deal is None:
                return services.create_deal(
                    contact=self.contact,
                    actor=actor,
                    stage=stage,
                    lost_reason=lost_reason,
                    **values,
                )
            return services.update_deal(
                deal=self.deal, actor=actor, stage=stage, lost_reason=lost_reason, **values
            )
        except LeadflowError as exc:
            attach_service_error(self, exc)
            return None
