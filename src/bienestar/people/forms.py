"""Forms of the people pages (shape only; the rules live in the services)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from bienestar.people.affiliations import RECORDABLE_SOURCES
from bienestar.people.models import AffiliationScheme, AffiliationSource


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
