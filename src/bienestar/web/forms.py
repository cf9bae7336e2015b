"""Forms of the pages. They check shape only; selectors check meaning and permissions."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from bienestar.access.models import AuditAction
from bienestar.access.selectors import AuditFilters


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self) -> None:
        # The browser's date picker sends ISO dates whatever the page language is.
        super().__init__(format="%Y-%m-%d")


class AuditFilterForm(forms.Form):
    person = forms.CharField(
        label=_("Persona (clave de salud)"),
        required=False,
        max_length=40,
        help_text=_("Quién consultó o modificó el expediente de esta persona."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters"}),
    )
    actor = forms.CharField(label=_("Usuario"), required=False, max_length=150)
    action = forms.ChoiceField(
        label=_("Acción"), required=False, choices=[("", _("Todas")), *AuditAction.choices]
    )
    resource_type = forms.CharField(label=_("Tipo de recurso"), required=False, max_length=40)
    date_from = forms.DateField(label=_("Desde"), required=False, widget=DateInput())
    date_to = forms.DateField(label=_("Hasta"), required=False, widget=DateInput())

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", _("La fecha final debe ser igual o posterior a la inicial."))
        return data

    def filters(self) -> AuditFilters:
        data = self.cleaned_data
        return AuditFilters(
            actor=data.get("actor") or "",
            action=data.get("action") or "",
            resource_type=data.get("resource_type") or "",
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
            person=(data.get("person") or "").strip(),
        )
