"""Forms of the people pages (shape only; the rules live in the services)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from bienestar.people.affiliations import RECORDABLE_SOURCES
from bienestar.people.models import AffiliationScheme, AffiliationSource, Sex


class AffiliationForm(forms.Form):
    scheme = forms.ChoiceField(label=_("Esquema"), choices=AffiliationScheme.choices)
    insurer = forms.CharField(
        label=_("Aseguradora o EPS"),
        max_length=120,
        required=False,
        help_text=_("Obligatoria para Colombia (EPS); vacía para «sin seguridad social»."),
    )
    member_number = forms.CharField(label=_("Número de afiliación"), max_length=40, required=False)
    start = forms.DateField(
        label=_("Desde"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    source = forms.ChoiceField(
        label=_("Fuente"),
        choices=[(s.value, s.label) for s in AffiliationSource if s in RECORDABLE_SOURCES],
    )


class AffiliationEndForm(forms.Form):
    end = forms.DateField(
        label=_("Último día"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )


class RegistrationForm(forms.Form):
    curp = forms.CharField(
        label="CURP",
        max_length=18,
        required=False,
        help_text=_("Si la persona la tiene: llena el sexo y la fecha de nacimiento."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    given_names = forms.CharField(label=_("Nombre(s)"), max_length=120)
    first_surname = forms.CharField(label=_("Primer apellido"), max_length=80)
    second_surname = forms.CharField(label=_("Segundo apellido"), max_length=80, required=False)
    sex = forms.ChoiceField(label=_("Sexo"), choices=[("", "—"), *Sex.choices])
    birth_date = forms.DateField(
        label=_("Fecha de nacimiento"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    territory = forms.ChoiceField(label=_("Municipio de residencia"))
    override_reason = forms.CharField(
        label=_("Motivo para registrar a una persona nueva"),
        max_length=250,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args: Any, territories: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["territory"].choices = territories  # type: ignore[attr-defined]
