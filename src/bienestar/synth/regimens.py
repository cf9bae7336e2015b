"""What the synthetic clinicians diagnose and prescribe: CIE-10 codes, catalogue keys and doses.

Clinical choices follow Mexican practice in round terms (NOM-015 and the IMSS guideline for type 2
diabetes: metformin first, a sulfonylurea added, NPH insulin when glucose stays high, a statin over
40; NOM-030 for hypertension: an ACE inhibitor or an ARB, a thiazide or amlodipine added; NOM-007
for prenatal care: iron supplementation, visits monthly to week 28, fortnightly to 36, then weekly;
ACE inhibitors, ARBs, statins, TMP-SMX, NSAIDs and albendazole are avoided in pregnancy).

Every key is in both the catalogue the project ships (reference/data/medicines_core.csv) and the
IMSS Cuadro Básico, so the activity is the same whichever catalogue is loaded. Every code is a WHO
CIE-10 code; when a 4-character code is missing from the loaded table its 3-character category is
used, and a diagnosis whose category is missing too is left out (see `activity.CodeBook`).
"""

from __future__ import annotations

from dataclasses import dataclass

# --- Diagnoses (CIE-10) ---------------------------------------------------------------------------

DIABETES = "E11.9"  # type 2 diabetes without complications
DIABETES_COMPLICATED = ("E11.2", "E11.4", "E11.5")  # renal, neurological, peripheral circulatory
HYPERTENSION = "I10"
OBESITY = "E66.9"
PRENATAL = "Z34.9"  # supervision of normal pregnancy
PRENATAL_HIGH_RISK = "Z35.9"
PRENATAL_VERY_YOUNG = "Z35.6"  # very young primigravida (we use it under 16)
PREGNANCY_DIABETES = "O24.1"  # pre-existing type 2 diabetes in pregnancy
PREGNANCY_HYPERTENSION = "O10.0"  # pre-existing essential hypertension complicating pregnancy
PREGNANCY_UTI = "O23.4"


# --- Medicines ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Drug:
    """A catalogue key as prescribed for continuous use: `per_day` units a day; deliveries come in
    whole packages of `pack` units."""

    key: str
    dose: str
    frequency: str
    per_day: float
    pack: int


METFORMIN = Drug("010.000.5165.00", "1 tableta de 850 mg", "cada 12 horas con alimentos", 2, 30)
GLIBENCLAMIDE = Drug(
    "010.000.1042.00", "1 tableta de 5 mg", "cada 24 horas, antes del desayuno", 1, 50
)
# One 10 ml vial (1,000 UI) lasts about a month at 20-30 UI a day.
INSULIN_NPH = Drug(
    "010.000.1050.00", "20 UI por vía subcutánea", "cada 24 horas, por la mañana", 1 / 30, 1
)
ENALAPRIL = Drug("010.000.2501.00", "1 tableta de 10 mg", "cada 12 horas", 2, 30)
LOSARTAN = Drug("010.000.2520.00", "1 tableta de 50 mg", "cada 24 horas", 1, 30)
AMLODIPINE = Drug("010.000.2111.00", "1 tableta de 5 mg", "cada 24 horas", 1, 30)
HYDROCHLOROTHIAZIDE = Drug(
    "010.000.2301.00", "1 tableta de 25 mg", "cada 24 horas, por la mañana", 1, 20
)
ATORVASTATIN = Drug("010.000.5106.00", "1 tableta de 20 mg", "cada 24 horas, por la noche", 1, 10)
FERROUS_FUMARATE = Drug("010.000.1701.00", "1 tableta de 200 mg", "cada 24 horas", 1, 50)


@dataclass(frozen=True)
class Course:
    """A short treatment: `quantity` units of `key` over `days` days."""

    key: str
    dose: str
    frequency: str
    days: int
    quantity: int
    pack: int


PARACETAMOL = Course(
    "010.000.0104.00", "1 tableta de 500 mg", "cada 8 horas si hay fiebre o dolor", 3, 10, 10
)
PARACETAMOL_SYRUP = Course(
    "010.000.0106.00", "según peso (10-15 mg/kg)", "cada 6 horas si hay fiebre", 3, 1, 1
)
AMOXICILLIN = Course("010.000.2128.00", "1 cápsula de 500 mg", "cada 8 horas", 7, 21, 12)
AMOXICILLIN_SUSPENSION = Course(
    "010.000.2127.00", "según peso (50 mg/kg/día)", "cada 8 horas", 7, 1, 1
)
TMP_SMX = Course("010.000.1903.00", "2 tabletas de 80/400 mg", "cada 12 horas", 3, 12, 20)
NITROFURANTOIN = Course("010.000.1911.00", "1 cápsula de 100 mg", "cada 6 horas", 7, 28, 40)
ORAL_REHYDRATION = Course(
    "010.000.3623.00", "1 sobre disuelto en 1 litro de agua", "a libre demanda", 3, 4, 1
)
METRONIDAZOLE = Course("010.000.1308.00", "1 tableta de 500 mg", "cada 8 horas", 7, 21, 30)
ALBENDAZOLE = Course("010.000.1344.00", "2 tabletas de 200 mg", "dosis única", 1, 2, 2)
ALBENDAZOLE_SUSPENSION = Course("010.000.1345.00", "20 ml (400 mg)", "dosis única", 1, 1, 1)
NAPROXEN = Course(
    "010.000.3407.00", "1 tableta de 250 mg", "cada 12 horas con alimentos", 5, 10, 30
)
OMEPRAZOLE = Course("010.000.5186.00", "1 tableta o cápsula", "cada 24 horas en ayunas", 14, 14, 14)
LORATADINE = Course("010.000.2144.00", "1 tableta de 10 mg", "cada 24 horas", 5, 10, 10)
AMBROXOL = Course("010.000.2462.00", "1 comprimido de 30 mg", "cada 8 horas", 5, 15, 20)

CHRONIC_DRUGS = (
    METFORMIN,
    GLIBENCLAMIDE,
    INSULIN_NPH,
    ENALAPRIL,
    LOSARTAN,
    AMLODIPINE,
    HYDROCHLOROTHIAZIDE,
    ATORVASTATIN,
    FERROUS_FUMARATE,
)
COURSES = (
    PARACETAMOL,
    PARACETAMOL_SYRUP,
    AMOXICILLIN,
    AMOXICILLIN_SUSPENSION,
    TMP_SMX,
    NITROFURANTOIN,
    ORAL_REHYDRATION,
    METRONIDAZOLE,
    ALBENDAZOLE,
    ALBENDAZOLE_SUSPENSION,
    NAPROXEN,
    OMEPRAZOLE,
    LORATADINE,
    AMBROXOL,
)
PACK: dict[str, int] = {d.key: d.pack for d in CHRONIC_DRUGS} | {c.key: c.pack for c in COURSES}


# --- Acute episodes -------------------------------------------------------------------------------

# Visits for an acute problem per person-year at a public health centre, by age (lower bound).
ACUTE_RATE_BY_AGE = ((0, 1.0), (5, 0.45), (15, 0.3), (45, 0.35), (65, 0.5))
# Age groups an episode's weight is given for: under 5, 5-14, women 15+, men 15+.
CHILD, SCHOOL, WOMAN, MAN = range(4)


@dataclass(frozen=True)
class Episode:
    """An acute problem: its code, the reason the patient gives, how often it is the reason for an
    acute visit in each age group, the chance of fever, and the treatments a clinician picks from
    (for children under 12, for adults, and for pregnant women: (weight, courses) alternatives)."""

    code: str
    reason: str
    weights: tuple[float, float, float, float]
    fever: float
    child: tuple[tuple[float, tuple[Course, ...]], ...]
    adult: tuple[tuple[float, tuple[Course, ...]], ...]
    pregnant: tuple[tuple[float, tuple[Course, ...]], ...] | None = None
    pregnant_code: str | None = None


EPISODES: tuple[Episode, ...] = (
    Episode(
        "J06.9",
        "Tos, escurrimiento nasal y malestar general",
        (50, 40, 30, 32),
        0.5,
        child=((0.7, (PARACETAMOL_SYRUP,)), (0.15, (PARACETAMOL_SYRUP, AMBROXOL)), (0.15, ())),
        adult=(
            (0.55, (PARACETAMOL,)),
            (0.25, (PARACETAMOL, LORATADINE)),
            (0.2, (PARACETAMOL, AMBROXOL)),
        ),
        pregnant=((1.0, (PARACETAMOL,)),),
    ),
    Episode(
        "J02.9",
        "Dolor de garganta y fiebre",
        (8, 14, 10, 10),
        0.7,
        child=((0.8, (AMOXICILLIN_SUSPENSION, PARACETAMOL_SYRUP)), (0.2, (PARACETAMOL_SYRUP,))),
        adult=((0.75, (AMOXICILLIN, PARACETAMOL)), (0.25, (PARACETAMOL,))),
        pregnant=((1.0, (AMOXICILLIN, PARACETAMOL)),),
    ),
    Episode(
        "A09.9",
        "Evacuaciones diarreicas",
        (25, 14, 10, 11),
        0.3,
        child=((0.85, (ORAL_REHYDRATION,)), (0.15, (ORAL_REHYDRATION, PARACETAMOL_SYRUP))),
        adult=((0.6, (ORAL_REHYDRATION,)), (0.4, (ORAL_REHYDRATION, METRONIDAZOLE))),
        pregnant=((1.0, (ORAL_REHYDRATION,)),),
    ),
    Episode(
        "N39.0",
        "Ardor al orinar",
        (1, 3, 16, 3),
        0.2,
        child=((1.0, (AMOXICILLIN_SUSPENSION,)),),
        adult=((0.55, (TMP_SMX,)), (0.45, (NITROFURANTOIN,))),
        pregnant=((1.0, (NITROFURANTOIN,)),),
        pregnant_code=PREGNANCY_UTI,
    ),
    Episode(
        "B82.9",
        "Dolor abdominal y parásitos",
        (6, 14, 2, 2),
        0.0,
        child=((1.0, (ALBENDAZOLE_SUSPENSION,)),),
        adult=((1.0, (ALBENDAZOLE,)),),
        pregnant=((1.0, ()),),
    ),
    Episode(
        "M54.5",
        "Dolor de espalda baja",
        (0, 0, 9, 12),
        0.0,
        child=((1.0, ()),),
        adult=((0.8, (NAPROXEN,)), (0.2, (PARACETAMOL,))),
        pregnant=((1.0, (PARACETAMOL,)),),
    ),
    Episode(
        "K29.7",
        "Ardor en la boca del estómago",
        (0, 1, 8, 7),
        0.0,
        child=((1.0, ()),),
        adult=((1.0, (OMEPRAZOLE,)),),
    ),
    Episode(
        "R51",
        "Dolor de cabeza",
        (0, 2, 5, 3),
        0.0,
        child=((1.0, (PARACETAMOL_SYRUP,)),),
        adult=((1.0, (PARACETAMOL,)),),
    ),
)

CODES_USED: tuple[str, ...] = (
    DIABETES,
    *DIABETES_COMPLICATED,
    HYPERTENSION,
    OBESITY,
    PRENATAL,
    PRENATAL_HIGH_RISK,
    PRENATAL_VERY_YOUNG,
    PREGNANCY_DIABETES,
    PREGNANCY_HYPERTENSION,
    PREGNANCY_UTI,
    *(e.code for e in EPISODES),
)
KEYS_USED: tuple[str, ...] = tuple(PACK)
