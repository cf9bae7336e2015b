"""Vital signs and measurements: LOINC codes, UCUM units and the physiologically possible ranges.

This is the one place where the accepted ranges are written down. A value outside its range is not
a worrying value (those are recorded: a systolic of 220 is an emergency, not a typo) but one that no
living person can have, so it is refused as a data-entry error. The limits are deliberately wide:

| key          | LOINC   | unit   | accepted (inclusive) | decimals | why the limits                               |
|--------------|---------|--------|----------------------|----------|----------------------------------------------|
| systolic     | 8480-6  | mm[Hg] | 50 to 300            | 0        | shock to the highest crisis values reported  |
| diastolic    | 8462-4  | mm[Hg] | 20 to 200            | 0        | and always below the systolic of its panel   |
| heart_rate   | 8867-4  | /min   | 20 to 300            | 0        | bradycardia to neonatal/SVT tachycardia      |
| temperature  | 8310-5  | Cel    | 30 to 45             | 1        | severe hypothermia to lethal hyperthermia    |
| weight       | 29463-7 | kg     | 0.3 to 400           | 2        | extremely preterm newborn to morbid obesity  |
| height       | 8302-2  | cm     | 20 to 260            | 1        | preterm newborn to the tallest adults        |
| bmi          | 39156-5 | kg/m2  | 5 to 150             | 1        | computed from weight and height, never typed |
| waist        | 8280-0  | cm     | 20 to 300            | 1        | newborn to extreme obesity                   |
| glucose      | 2339-0  | mg/dL  | 10 to 1500           | 0        | capillary glucose; hyperosmolar states >1000 |
| hba1c        | 4548-4  | %      | 2 to 20              | 1        | assay limits of HbA1c                        |

The blood pressure is recorded as the panel 85354-9 with its systolic and diastolic components;
both must be given together. Values are `Decimal`, rounded half-up to the decimals above.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from bienestar.core.errors import ValidationFailed

BP_PANEL = "85354-9"
DISPLAY_UNITS = {"mm[Hg]": "mmHg", "Cel": "°C", "/min": "lpm", "kg/m2": "kg/m²"}


@dataclass(frozen=True)
class VitalSpec:
    key: str
    code: str
    unit: str
    minimum: Decimal
    maximum: Decimal
    decimals: int
    label: Any  # lazy translation

    @property
    def display_unit(self) -> str:
        """The unit as people write it (UCUM's "Cel" and "mm[Hg]" are for machines)."""
        return DISPLAY_UNITS.get(self.unit, self.unit)

    @property
    def quantum(self) -> Decimal:
        return Decimal(1).scaleb(-self.decimals)


def _upper_first(text: str) -> str:
    return text[:1].upper() + text[1:]


def _spec(key: str, code: str, unit: str, lo: str, hi: str, decimals: int, label: Any) -> VitalSpec:
    return VitalSpec(key, code, unit, Decimal(lo), Decimal(hi), decimals, label)


VITALS: dict[str, VitalSpec] = {
    s.key: s
    for s in [
        _spec("systolic", "8480-6", "mm[Hg]", "50", "300", 0, gettext_lazy("presión sistólica")),
        _spec("diastolic", "8462-4", "mm[Hg]", "20", "200", 0, gettext_lazy("presión diastólica")),
        _spec("heart_rate", "8867-4", "/min", "20", "300", 0, gettext_lazy("frecuencia cardiaca")),
        _spec("temperature", "8310-5", "Cel", "30", "45", 1, gettext_lazy("temperatura")),
        _spec("weight", "29463-7", "kg", "0.3", "400", 2, gettext_lazy("peso")),
        _spec("height", "8302-2", "cm", "20", "260", 1, gettext_lazy("talla")),
        _spec("bmi", "39156-5", "kg/m2", "5", "150", 1, gettext_lazy("índice de masa corporal")),
        _spec("waist", "8280-0", "cm", "20", "300", 1, gettext_lazy("circunferencia de cintura")),
        _spec("glucose", "2339-0", "mg/dL", "10", "1500", 0, gettext_lazy("glucosa capilar")),
        _spec(
            "hba1c", "4548-4", "%", "2", "20", 1, gettext_lazy("hemoglobina glucosilada (HbA1c)")
        ),
    ]
}
BY_CODE: dict[str, VitalSpec] = {s.code: s for s in VITALS.values()}
# What a caller may type; the BMI is always computed.
ENTERABLE = tuple(k for k in VITALS if k != "bmi")
# Series the chart can ask for: a vital key, or "bp" for the blood pressure pairs.
SERIES_KEYS = ("bp", *VITALS)


def _display(value: Decimal) -> str:
    return format(value.normalize(), "f")


def check_value(key: str, raw: Any) -> Decimal:
    """The value as a rounded Decimal, or ValidationFailed naming the field and the accepted range."""
    spec = VITALS.get(key)
    if spec is None:
        raise ValidationFailed(
            _("Signo vital desconocido: %(key)s. Use uno de: %(keys)s.")
            % {"key": key, "keys": ", ".join(ENTERABLE)},
            field="vitals",
        )
    if isinstance(raw, float):
        # Floats carry binary noise (36.6 is 36.599999…); go through their shortest repr.
        raw = repr(raw)
    try:
        value = Decimal(str(raw).strip().replace(",", "."))
    except (InvalidOperation, ValueError):
        value = Decimal("NaN")
    if not value.is_finite():
        raise ValidationFailed(
            _("%(label)s: «%(raw)s» no es un número.") % {"label": spec.label, "raw": raw},
            field=key,
        )
    value = value.quantize(spec.quantum, rounding=ROUND_HALF_UP)
    if not spec.minimum <= value <= spec.maximum:
        raise ValidationFailed(
            _(
                "%(label)s: %(value)s %(unit)s es fisiológicamente imposible; "
                "se aceptan valores de %(min)s a %(max)s %(unit)s."
            )
            % {
                "label": _upper_first(str(spec.label)),
                "value": _display(value),
                "unit": spec.display_unit,
                "min": _display(spec.minimum),
                "max": _display(spec.maximum),
            },
            field=key,
        )
    return value


def check_vitals(vitals: dict[str, Any]) -> dict[str, Decimal]:
    """Every given vital checked (empty values skipped), plus the checks across fields: the blood
    pressure comes as a pair and the diastolic stays below the systolic."""
    out: dict[str, Decimal] = {}
    for key, raw in vitals.items():
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            continue
        if key == "bmi":
            raise ValidationFailed(
                _("El índice de masa corporal se calcula a partir del peso y la talla."),
                field="bmi",
            )
        out[key] = check_value(key, raw)
    has_sys, has_dia = "systolic" in out, "diastolic" in out
    if has_sys != has_dia:
        missing = "diastolic" if has_sys else "systolic"
        raise ValidationFailed(
            _("La presión arterial requiere sistólica y diastólica; falta la %(label)s.")
            % {"label": VITALS[missing].label},
            field=missing,
        )
    if has_sys and out["diastolic"] >= out["systolic"]:
        raise ValidationFailed(
            _(
                "La presión diastólica (%(dia)s mmHg) debe ser menor que la sistólica "
                "(%(sys)s mmHg)."
            )
            % {"dia": _display(out["diastolic"]), "sys": _display(out["systolic"])},
            field="diastolic",
        )
    return out


def compute_bmi(weight_kg: Decimal, height_cm: Decimal) -> Decimal:
    """kg/m², rounded to one decimal; refused like any other value when impossible."""
    metres = height_cm / Decimal(100)
    bmi = weight_kg / (metres * metres)
    return check_value("bmi", bmi)
