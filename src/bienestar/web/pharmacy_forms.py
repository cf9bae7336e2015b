"""Forms of the pharmacy pages. They check shape only (numbers, dates, which fields go together);
the inventory and prescribing services check meaning (catalogue keys, stock, reasons)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from bienestar.inventory.services import MAX_UNITS, ReceiptLine
from bienestar.web.forms import DateInput

RECEIPT_ROWS = 5
RECEIPT_ROWS_MAX = 50


class ReceiptLineForm(forms.Form):
    """One line of a delivery. A wholly blank row is ignored; a half-filled one is an error."""

    medicine_key = forms.CharField(
        label=_("Clave del catálogo"),
        required=False,
        max_length=20,
        widget=forms.TextInput(
            attrs={
                "list": "medicine-keys",
                "autocomplete": "off",
                "placeholder": "010.000.0000.00",
                "inputmode": "decimal",
            }
        ),
    )
    lot_number = forms.CharField(
        label=_("Lote"),
        required=False,
        max_length=40,
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters"}),
    )
    expiry = forms.DateField(label=_("Caducidad"), required=False, widget=DateInput())
    quantity = forms.IntegerField(
        label=_("Unidades"),
        required=False,
        min_value=1,
        max_value=MAX_UNITS,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if "medicine_key" in data:
            data["medicine_key"] = (data["medicine_key"] or "").strip()
        if "lot_number" in data:
            data["lot_number"] = (data["lot_number"] or "").strip().upper()
        filled = [name for name in self.fields if data.get(name) not in (None, "")]
        if filled and not self.errors:
            for name in self.fields:
                if data.get(name) in (None, ""):
                    self.add_error(name, _("Complete este dato del renglón."))
        return data

    def is_blank(self) -> bool:
        data = getattr(self, "cleaned_data", None) or {}
        return not self.errors and all(data.get(name) in (None, "") for name in self.fields)

    def receipt_line(self) -> ReceiptLine:
        data = self.cleaned_data
        return ReceiptLine(
            medicine_key=data["medicine_key"],
            lot_number=data["lot_number"],
            expiry=data["expiry"],
            quantity=data["quantity"],
        )


ReceiptLineFormSet = forms.formset_factory(
    ReceiptLineForm, extra=0, max_num=RECEIPT_ROWS_MAX, absolute_max=RECEIPT_ROWS_MAX
)


class ReceiptForm(forms.Form):
    reference = forms.CharField(
        label=_("Remisión o factura"),
        required=False,
        max_length=80,
        help_text=_("El número del documento que acompaña la entrega, si lo hay."),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )


def receipt_formset(data: Any = None, *, rows: int = RECEIPT_ROWS) -> Any:
    rows = max(1, min(rows, RECEIPT_ROWS_MAX))
    initial: list[dict[str, Any]] | None = None if data is not None else [{} for _ in range(rows)]
    return ReceiptLineFormSet(data, prefix="renglon", initial=initial)


def parse_units(raw: str | None, *, allow_blank: bool = False) -> int | None:
    """A whole number of units typed in a box: None when blank (if allowed); ValueError otherwise
    when it is not a non-negative integer."""
    text = (raw or "").strip()
    if not text:
        if allow_blank:
            return None
        raise ValueError("blank")
    if not text.isdigit():
        raise ValueError("not a whole number")
    value = int(text)
    if value > MAX_UNITS:
        raise ValueError("too large")
    return value
