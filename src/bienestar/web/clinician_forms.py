"""Forms of the clinician pages: a consultation (encounter) and a prescription.

They check shape and the physiological ranges of vitals.py (so every wrong field is reported at
once); the services remain the authority and refuse anything that slips past, writing nothing.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from bienestar.access.actor import Actor
from bienestar.clinical import vitals
from bienestar.clinical.models import EncounterClass
from bienestar.core.errors import ValidationFailed
from bienestar.inventory.services import MAX_UNITS
from bienestar.prescribing.services import MAX_DURATION_DAYS, MAX_LINES
from bienestar.terminology.models import Icd10Code, Medicine
from bienestar.web import clinician_selectors as sel

# The vitals the form offers, in the order a nurse takes them (BMI is computed, never typed).
VITAL_FIELDS = (
    "systolic",
    "diastolic",
    "heart_rate",
    "temperature",
    "weight",
    "height",
    "waist",
    "glucose",
    "hba1c",
)
MAX_DIAGNOSES = 12
_TOKEN_SPLIT = re.compile(r"[,;\s]+")

# Service error fields → the form field that shows the message (others become form-wide errors).
ENCOUNTER_FIELD_MAP = {
    "encounter_class": "encounter_class",
    "reason": "reason_text",
    "reason_code": "reason_text",
    "diagnoses": "diagnosis_text",
    "bmi": "weight",
    **{key: key for key in VITAL_FIELDS},
}
LINE_FIELD_MAP = {
    "medicine": "medicine",
    "quantity": "quantity",
    "dose": "dose",
    "frequency": "frequency",
    "duration_days": "duration_days",
    "instructions": "instructions",
}


def upper_first(text: str) -> str:
    """The first letter in upper case and the rest untouched: str.capitalize would turn
    "hemoglobina glucosilada (HbA1c)" into "… (hba1c)"."""
    return text[:1].upper() + text[1:]


def vital_widget(key: str) -> forms.TextInput:
    spec = vitals.VITALS[key]
    # Text with a decimal keypad rather than type=number: the browser would otherwise block an
    # out-of-range value with its own wording before the server can explain the accepted range.
    return forms.TextInput(
        attrs={
            "inputmode": "decimal" if spec.decimals else "numeric",
            "autocomplete": "off",
            "size": 6,
            "aria-describedby": f"range-{key}",
        }
    )


class EncounterForm(forms.Form):
    encounter_class = forms.ChoiceField(
        label=gettext_lazy("Tipo de atención"),
        choices=EncounterClass.choices,
        initial=EncounterClass.AMBULATORY,
        widget=forms.RadioSelect,
    )
    reason_text = forms.CharField(
        label=gettext_lazy("Motivo de la consulta"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": gettext_lazy("Indique el motivo de la atención.")},
    )
    diagnosis_text = forms.CharField(
        label=gettext_lazy("Buscar diagnóstico (CIE-10)"),
        required=False,
        max_length=100,
        widget=forms.TextInput(
            attrs={
                "id": "diagnosis-search",
                "type": "search",
                "autocomplete": "off",
                "autocapitalize": "none",
                "spellcheck": "false",
            }
        ),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for key in VITAL_FIELDS:
            spec = vitals.VITALS[key]
            self.fields[key] = forms.CharField(
                label=upper_first(str(spec.label)),
                required=False,
                max_length=12,
                widget=vital_widget(key),
            )
        self.selected: list[Icd10Code] = []

    def picked_codes(self) -> list[str]:
        """Codes picked from the search list (checkboxes named "diagnoses"), in order."""
        if not self.is_bound:
            return []
        data: Any = self.data
        return [c.strip().upper() for c in data.getlist("diagnoses") if c.strip()]

    def _clean_vital(self, key: str) -> Decimal | None:
        raw = (self.cleaned_data.get(key) or "").strip()
        if not raw:
            return None
        try:
            return vitals.check_value(key, raw)
        except ValidationFailed as exc:
            self.add_error(key, str(exc.message))
            return None

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        checked: dict[str, Decimal] = {}
        for key in VITAL_FIELDS:
            value = self._clean_vital(key)
            if value is not None:
                checked[key] = value
        if not any(k in self.errors for k in ("systolic", "diastolic")):
            pair: dict[str, Any] = {
                k: checked[k] for k in ("systolic", "diastolic") if k in checked
            }
            try:
                vitals.check_vitals(pair)
            except ValidationFailed as exc:
                self.add_error(exc.field if exc.field in self.fields else None, str(exc.message))
        data["vitals"] = checked
        data["diagnoses"] = self._clean_diagnoses(data.get("diagnosis_text") or "")
        return data

    def _clean_diagnoses(self, typed: str) -> list[str]:
        wanted = self.picked_codes()
        tokens = [t for t in _TOKEN_SPLIT.split(typed.strip()) if t]
        if tokens and all(sel.looks_like_icd10(t) for t in tokens):
            wanted += [t.upper() for t in tokens]
        elif tokens:
            self.add_error(
                "diagnosis_text",
                _(
                    "«%(text)s» no es un código CIE-10: elija un diagnóstico de la lista o "
                    "escriba su código (p. ej. E11)."
                )
                % {"text": typed.strip()},
            )
        found = sel.icd10_lookup(wanted)
        unknown = [c for c in dict.fromkeys(wanted) if c not in found]
        if unknown:
            self.add_error(
                "diagnosis_text",
                _("Código CIE-10 desconocido: %(code)s.") % {"code": ", ".join(unknown)},
            )
        codes: list[str] = []
        for code in wanted:
            row = found.get(code)
            if row is not None and row.code not in codes:
                codes.append(row.code)
                self.selected.append(row)
        if len(codes) > MAX_DIAGNOSES:
            self.add_error(
                "diagnosis_text",
                _("Registre como máximo %(n)d diagnósticos.") % {"n": MAX_DIAGNOSES},
            )
        return codes

    def selection(self) -> list[Icd10Code]:
        """The diagnoses to show as picked when the form is shown again (known codes only)."""
        if self.is_bound and not hasattr(self, "cleaned_data"):
            self.is_valid()
        return self.selected

    def vital_rows(self) -> list[dict[str, Any]]:
        """Each vital field with its unit and accepted range, for the template."""
        rows = []
        for key in VITAL_FIELDS:
            spec = vitals.VITALS[key]
            rows.append(
                {
                    "field": self[key],
                    "unit": spec.display_unit,
                    "minimum": format(spec.minimum.normalize(), "f"),
                    "maximum": format(spec.maximum.normalize(), "f"),
                }
            )
        return rows


class LineForm(forms.Form):
    """One prescription line. Without a prefix it is the line being written (ids id_dose,
    id_quantity…; the medicine box is #medicine-search); with `line-N` prefixes, a line already added."""

    medicine = forms.CharField(
        label=gettext_lazy("Medicamento"),
        max_length=100,
        widget=forms.TextInput(
            attrs={
                "id": "medicine-search",
                "type": "search",
                "autocomplete": "off",
                "autocapitalize": "none",
                "spellcheck": "false",
            }
        ),
        error_messages={"required": gettext_lazy("Elija un medicamento del catálogo.")},
    )
    dose = forms.CharField(
        label=gettext_lazy("Dosis"),
        max_length=80,
        widget=forms.TextInput(attrs={"placeholder": gettext_lazy("p. ej. 1 tableta")}),
    )
    frequency = forms.CharField(
        label=gettext_lazy("Frecuencia"),
        max_length=80,
        widget=forms.TextInput(attrs={"placeholder": gettext_lazy("p. ej. cada 12 horas")}),
    )
    duration_days = forms.IntegerField(
        label=gettext_lazy("Duración (días)"),
        min_value=1,
        max_value=MAX_DURATION_DAYS,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    quantity = forms.IntegerField(
        label=gettext_lazy("Cantidad a surtir"),
        min_value=1,
        max_value=MAX_UNITS,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    instructions = forms.CharField(
        label=gettext_lazy("Indicaciones"), required=False, max_length=300
    )

    def __init__(self, *args: Any, actor: Actor, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.actor = actor
        self.medicine_row: Medicine | None = None
        if self.prefix:
            # An added line travels in hidden inputs; the visible box id belongs to the editor.
            self.fields["medicine"].widget = forms.HiddenInput()

    def is_blank(self) -> bool:
        return not any((self.data.get(self.add_prefix(name)) or "").strip() for name in self.fields)

    def clean_medicine(self) -> str:
        typed = self.cleaned_data["medicine"]
        row = sel.medicine_lookup(self.actor, key=typed)
        if row is None:
            raise forms.ValidationError(
                _(
                    "Elija un medicamento de la lista o escriba su clave del catálogo "
                    "(p. ej. 010.000.5165.00)."
                )
            )
        self.medicine_row = row
        return row.key

    def add_domain_error(self, exc: ValidationFailed) -> None:
        field = LINE_FIELD_MAP.get(exc.field or "")
        self.add_error(field, str(exc.message))


def line_indices(data: Any) -> list[int]:
    """Indices of the lines already added (hidden "line" inputs), without the ones ticked to remove."""
    removed = set(data.getlist("line_remove"))
    out = []
    for raw in data.getlist("line"):
        if raw.isdigit() and raw not in removed and int(raw) < MAX_LINES and int(raw) not in out:
            out.append(int(raw))
    return out
