"""The indicators: one declarative, versioned definition each (docs/indicators/*.md say the same).

A definition says what is counted (numerator, denominator, unit of analysis), over which window,
how a period's figure is formed from the facts (`Aggregation`), which disaggregations the data
allow, and where the data come from. The facts themselves are extracted by `facts.py` (one SQL
statement per indicator) and aggregated by `engine.py`; a change of meaning is a new `version`,
and the aggregates and publications carry the version they were computed with.

Aggregation rules:
- FLOW: numerators and denominators are summed over the period (doses, prescription lines);
- DISTINCT: the numerator counts distinct subjects (people) in the period — a person seen in
  January and in March counts once in the quarter; the denominator comes from reference data;
- SNAPSHOT: the value at the end of the period (or today, for the current period): stocks,
  positions, patients under control. A quarter is its last month's snapshot, never an average.
A national or state figure is always Σ numerator ÷ Σ denominator over its units, never a mean of
percentages.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from decimal import Decimal

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


class Aggregation(enum.StrEnum):
    FLOW = "flow"
    DISTINCT = "distinct"
    SNAPSHOT = "snapshot"


class Scale(enum.StrEnum):
    PERCENT = "percent"
    COUNT = "count"


# Disaggregations every person-based indicator offers; "category" is indicator-specific.
SEX = "sex"
AGE_GROUP = "age_group"
CATEGORY = "category"
DIMENSION_LABELS = {SEX: _("Sexo"), AGE_GROUP: _("Grupo de edad"), CATEGORY: _("Categoría")}
AGE_GROUPS = ("0-4", "5-9", "10-19", "20-39", "40-59", "60+")


@dataclass(frozen=True)
class Definition:
    code: str
    version: int
    name: Promise
    short: Promise
    numerator: Promise
    denominator: Promise
    unit: Promise  # unit of analysis
    window: Promise
    aggregation: Aggregation
    disaggregations: tuple[str, ...]
    source: Promise
    scale: Scale = Scale.PERCENT
    category_label: Promise | None = None
    higher_is_better: bool = True
    target: Decimal | None = None  # as a proportion for PERCENT, a count otherwise
    doc: str = ""
    headline: bool = True

    @property
    def is_ratio(self) -> bool:
        return self.scale == Scale.PERCENT


FILL_RATE_LINE = Definition(
    code="fill_rate_line",
    version=1,
    name=_("Surtimiento completo de recetas (por línea)"),
    short=_("Surtimiento por línea"),
    numerator=_(
        "Líneas de receta surtidas por completo dentro de la vigencia de la receta (en una o más "
        "visitas, en cualquier farmacia de la red; un vale canjeado a tiempo cuenta)"
    ),
    denominator=_("Líneas de las recetas emitidas en el periodo (sin las canceladas)"),
    unit=_("Línea de receta, por la unidad que prescribe"),
    window=_("Recetas emitidas en el periodo; el surtido se cuenta hasta el fin de su vigencia"),
    aggregation=Aggregation.FLOW,
    disaggregations=(SEX, AGE_GROUP),
    source=_(
        "Recetas y surtimientos del sistema. Misma definición que prescribing/fill_rate.py y "
        "docs/indicators/fill-rate.md (una sola definición)."
    ),
    target=Decimal("0.95"),
    doc="docs/indicators/fill-rate.md",
)
FILL_RATE_UNIT = Definition(
    code="fill_rate_unit",
    version=1,
    name=_("Surtimiento de piezas (por unidades)"),
    short=_("Surtimiento por piezas"),
    numerator=_("Piezas entregadas dentro de la vigencia de la receta"),
    denominator=_("Piezas prescritas en las recetas emitidas en el periodo (sin las canceladas)"),
    unit=_("Pieza prescrita, por la unidad que prescribe"),
    window=FILL_RATE_LINE.window,
    aggregation=Aggregation.FLOW,
    disaggregations=(SEX, AGE_GROUP),
    source=FILL_RATE_LINE.source,
    target=Decimal("0.95"),
    doc="docs/indicators/fill-rate.md",
    headline=False,
)
AVAILABILITY = Definition(
    code="availability",
    version=1,
    name=_("Disponibilidad de medicamentos (abasto)"),
    short=_("Abasto de claves"),
    numerator=_(
        "Pares unidad × clave con existencia utilizable mayor que cero (suma de todos sus lotes no "
        "caducados) al cierre del periodo"
    ),
    denominator=_(
        "Pares unidad × clave autorizados: las claves que la unidad ha recibido alguna vez hasta esa fecha"
    ),
    unit=_("Par unidad × clave del catálogo"),
    window=_("Un momento: el último día del periodo (hoy, si el periodo está en curso)"),
    aggregation=Aggregation.SNAPSHOT,
    disaggregations=(),
    source=_(
        "Kárdex por lote (inventario). Nunca un promedio entre productos: cada par cuenta una vez."
    ),
    target=Decimal("0.95"),
)
UNINSURED_COVERAGE = Definition(
    code="uninsured_coverage",
    version=1,
    name=_("Cobertura de la población sin seguridad social"),
    short=_("Cobertura sin seguridad social"),
    numerator=_(
        "Personas sin seguridad social (sin afiliación vigente a IMSS, ISSSTE, Pemex, Sedena, Semar "
        "o seguro privado) con al menos una atención en el periodo, por su lugar de residencia"
    ),
    denominator=_(
        "Población sin seguridad social estimada: proporción sin afiliación del Censo 2020 (INEGI) "
        "aplicada a la proyección de CONAPO a mitad del año del periodo"
    ),
    unit=_("Persona"),
    window=_("Atenciones en el periodo; cada persona cuenta una vez"),
    aggregation=Aggregation.DISTINCT,
    disaggregations=(SEX, AGE_GROUP),
    source=_(
        "Atenciones del sistema; INEGI Censo de Población y Vivienda 2020 (PSINDER/POBTOT); "
        "CONAPO Proyecciones 2020-2070. Sin denominador por unidad, sexo o edad: se muestra como "
        "«sin dato», no como cero."
    ),
)
WORKFORCE = Definition(
    code="specialists_filled",
    version=1,
    name=_("Plazas de médicos ocupadas frente a la meta"),
    short=_("Plazas ocupadas / meta"),
    numerator=_(
        "Plazas médicas ocupadas (con profesional asignado) de las especialidades con meta"
    ),
    denominator=_("Meta de plazas por unidad y especialidad"),
    unit=_("Plaza, por unidad y especialidad"),
    window=_("Un momento: el registro de personal al calcular (el registro no guarda historia)"),
    aggregation=Aggregation.SNAPSHOT,
    disaggregations=(CATEGORY,),
    category_label=_("Especialidad"),
    source=_(
        "Registro de personal (plazas y metas). Nacional = Σ ocupadas ÷ Σ meta, nunca un promedio "
        "de porcentajes estatales."
    ),
    target=Decimal("1"),
)
HYPERTENSION_CONTROL = Definition(
    code="hypertension_control",
    version=1,
    name=_("Hipertensión controlada (HEARTS)"),
    short=_("Hipertensión controlada"),
    numerator=_(
        "Pacientes registrados cuya última presión arterial de los últimos 3 meses es < 140/90 mmHg"
    ),
    denominator=_(
        "Pacientes con hipertensión (CIE-10 I10–I15) registrados hace más de 3 meses y vivos al "
        "cierre del periodo"
    ),
    unit=_("Persona"),
    window=_("Al cierre del periodo; medición en los 3 meses previos"),
    aggregation=Aggregation.SNAPSHOT,
    disaggregations=(SEX, AGE_GROUP),
    source=_(
        "Diagnósticos y signos vitales del expediente. Un paciente que fallece sigue contando en los "
        "meses anteriores a su muerte; los meses publicados no cambian."
    ),
    target=Decimal("0.5"),
)
DIABETES_CONTROL = Definition(
    code="diabetes_control",
    version=1,
    name=_("Diabetes controlada (HEARTS)"),
    short=_("Diabetes controlada"),
    numerator=_(
        "Pacientes registrados cuya última glucosa en ayuno de los últimos 3 meses es < 126 mg/dL "
        "o cuya última HbA1c es < 7 %"
    ),
    denominator=_(
        "Pacientes con diabetes (CIE-10 E10–E14) registrados hace más de 3 meses y vivos al cierre "
        "del periodo"
    ),
    unit=_("Persona"),
    window=HYPERTENSION_CONTROL.window,
    aggregation=Aggregation.SNAPSHOT,
    disaggregations=(SEX, AGE_GROUP),
    source=HYPERTENSION_CONTROL.source,
    target=Decimal("0.5"),
)
VACCINE_DOSES = Definition(
    code="vaccine_doses",
    version=1,
    name=_("Dosis de vacuna aplicadas"),
    short=_("Dosis aplicadas"),
    numerator=_("Dosis aplicadas en el periodo (sin las registradas por error)"),
    denominator=_("No aplica (conteo)"),
    unit=_("Dosis"),
    window=_("Fecha de aplicación en el periodo"),
    aggregation=Aggregation.FLOW,
    disaggregations=(SEX, AGE_GROUP, CATEGORY),
    category_label=_("Vacuna"),
    source=_("Vacunas aplicadas del expediente, contra el esquema nacional de vacunación"),
    scale=Scale.COUNT,
    headline=False,
)
VACCINE_DROPOUT = Definition(
    code="vaccine_dropout",
    version=1,
    name=_("Deserción de la vacuna hexavalente (1.ª a 3.ª dosis)"),
    short=_("Deserción hexavalente"),
    numerator=_("Primeras dosis menos terceras dosis de hexavalente aplicadas en el periodo"),
    denominator=_("Primeras dosis de hexavalente aplicadas en el periodo"),
    unit=_("Dosis"),
    window=_("Fecha de aplicación en el periodo"),
    aggregation=Aggregation.FLOW,
    disaggregations=(SEX,),
    source=VACCINE_DOSES.source,
    higher_is_better=False,
    target=Decimal("0.1"),
)

DEFINITIONS: dict[str, Definition] = {
    d.code: d
    for d in (
        FILL_RATE_LINE,
        FILL_RATE_UNIT,
        AVAILABILITY,
        UNINSURED_COVERAGE,
        WORKFORCE,
        HYPERTENSION_CONTROL,
        DIABETES_CONTROL,
        VACCINE_DOSES,
        VACCINE_DROPOUT,
    )
}


def get(code: str) -> Definition | None:
    return DEFINITIONS.get(code)
