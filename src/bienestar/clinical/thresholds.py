"""Abnormal values and control targets: the one place where the cut-offs a clinician is alerted by
are written down (the accepted, physiologically possible ranges are in `vitals.py`).

| what                 | abnormal                      | urgent          | target if known disease        |
|----------------------|-------------------------------|-----------------|--------------------------------|
| blood pressure       | ≥ 140/90 mmHg                 | ≥ 180/110 mmHg  | hypertensive: < 140/90 mmHg    |
| glucose, fasting     | ≥ 126 mg/dL                   |                 | diabetic: 80-130 mg/dL fasting |
| glucose, random      | ≥ 200 mg/dL                   |                 |                                |
| BMI                  | ≥ 30 kg/m² (obesity)          |                 |                                |
| HbA1c                | ≥ 7 %                         |                 | diabetic: < 7 %                |

Sources: NOM-030-SSA2-2017 (hypertension: ≥ 140/90 confirms; ≥ 180/110 hypertensive crisis),
NOM-015-SSA2-2010 and the ADA Standards of Care (diabetes: fasting ≥ 126, random ≥ 200 mg/dL; control
HbA1c < 7 %, fasting 80-130 mg/dL), WHO (obesity BMI ≥ 30). A capillary glucose whose fasting state
is not recorded is flagged from 126 mg/dL "if fasting", and as high from 200 mg/dL at any time.

Pure functions of the values: other apps (outreach screening, indicators) may reuse them.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.utils.translation import gettext as _

BP_HIGH = (140, 90)
BP_URGENT = (180, 110)
BP_TARGET_HYPERTENSIVE = (140, 90)
GLUCOSE_FASTING_HIGH = 126
GLUCOSE_RANDOM_HIGH = 200
GLUCOSE_FASTING_TARGET = (80, 130)
BMI_OBESITY = 30
HBA1C_HIGH = 7
HBA1C_TARGET = 7

HYPERTENSION_CODES = ("I10", "I11", "I12", "I13", "I15")
DIABETES_CODES = ("E10", "E11", "E12", "E13", "E14")

HIGH = "high"
URGENT = "urgent"


@dataclass(frozen=True)
class Flag:
    """What the chart says next to a value: its level (`high` or `urgent`), why, and the control
    target when the person is known to have the disease."""

    level: str
    text: str
    target: str = ""

    @property
    def urgent(self) -> bool:
        return self.level == URGENT


def blood_pressure(
    systolic: Decimal | int, diastolic: Decimal | int, *, hypertensive: bool = False
) -> Flag | None:
    target = _("Meta de control: < %(s)d/%(d)d mmHg") % {
        "s": BP_TARGET_HYPERTENSIVE[0],
        "d": BP_TARGET_HYPERTENSIVE[1],
    }
    if systolic >= BP_URGENT[0] or diastolic >= BP_URGENT[1]:
        return Flag(
            URGENT, _("Crisis hipertensiva (≥ 180/110 mmHg)"), target if hypertensive else ""
        )
    if systolic >= BP_HIGH[0] or diastolic >= BP_HIGH[1]:
        if hypertensive:
            return Flag(HIGH, _("Fuera de meta de control"), target)
        return Flag(HIGH, _("Presión elevada (≥ 140/90 mmHg)"))
    return None


def glucose(
    value: Decimal | int, *, fasting: bool | None = None, diabetic: bool = False
) -> Flag | None:
    """Capillary or venous glucose in mg/dL; `fasting` None when not recorded."""
    target = (
        _("Meta de control en ayuno: %(lo)d a %(hi)d mg/dL")
        % {"lo": GLUCOSE_FASTING_TARGET[0], "hi": GLUCOSE_FASTING_TARGET[1]}
        if diabetic
        else ""
    )
    if value >= GLUCOSE_RANDOM_HIGH:
        return Flag(HIGH, _("Glucosa alta (≥ 200 mg/dL)"), target)
    if value >= GLUCOSE_FASTING_HIGH and fasting is not False:
        text = (
            _("Glucosa alta en ayuno (≥ 126 mg/dL)")
            if fasting
            else _("Glucosa alta si fue en ayuno (≥ 126 mg/dL)")
        )
        return Flag(HIGH, text, target)
    return None


def bmi(value: Decimal | int) -> Flag | None:
    if value >= BMI_OBESITY:
        return Flag(HIGH, _("Obesidad (IMC ≥ 30)"))
    return None


def hba1c(value: Decimal | int, *, diabetic: bool = False) -> Flag | None:
    if value >= HBA1C_HIGH:
        target = _("Meta de control: < %(n)d %%") % {"n": HBA1C_TARGET} if diabetic else ""
        return Flag(HIGH, _("HbA1c alta (≥ 7 %)"), target)
    return None


def known_conditions(codes: list[str]) -> tuple[bool, bool]:
    """(hypertensive, diabetic) from a person's active CIE-10 codes."""
    hypertensive = any(c.startswith(HYPERTENSION_CODES) for c in codes)
    diabetic = any(c.startswith(DIABETES_CODES) for c in codes)
    return hypertensive, diabetic


def flags(
    values: dict[str, Decimal], *, hypertensive: bool = False, diabetic: bool = False
) -> dict[str, Flag]:
    """The flags of a set of vitals keyed as `vitals.VITALS` ("bp" for the pressure pair)."""
    out: dict[str, Flag] = {}
    if "systolic" in values and "diastolic" in values:
        flag = blood_pressure(values["systolic"], values["diastolic"], hypertensive=hypertensive)
        if flag:
            out["bp"] = flag
    for key, check in (
        ("glucose", lambda v: glucose(v, diabetic=diabetic)),
        ("bmi", bmi),
        ("hba1c", lambda v: hba1c(v, diabetic=diabetic)),
    ):
        if key in values:
            flag = check(values[key])
            if flag:
                out[key] = flag
    return out
