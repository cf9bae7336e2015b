"""A tiny reference world for the generator's tests: a few states, municipalities and facilities.

Shaped like what `bienestar load-reference` writes (paths MX.<st>, MX.<st>.<mun>, census 2020
denominators with the uninsured), but small, so tests stay fast and independent of the data files.
"""

from __future__ import annotations

from bienestar.facilities.models import Facility, FacilityType, Institution
from bienestar.territories.models import PopulationDenominator, Territory, TerritoryKind

# INEGI key: (name, CLUES abbreviation, population 2020, uninsured 2020)
STATES = {
    "09": ("Ciudad de México", "DF", 9209944, 2507843),
    "13": ("Hidalgo", "HG", 3082841, 1052090),
    "20": ("Oaxaca", "OC", 4132148, 1359271),
}
MUNICIPALITIES = {
    "09": [("007", "Iztapalapa", 1835486), ("015", "Cuauhtémoc", 545884)],
    "13": [("048", "Pachuca de Soto", 314331), ("077", "Tulancingo de Bravo", 168369)],
    "20": [("067", "Oaxaca de Juárez", 270955), ("184", "San Juan Bautista Tuxtepec", 159452)],
}


def make_world(
    *, municipalities: bool = True, facilities: bool = True, denominators: bool = True
) -> dict[str, Territory]:
    country, _ = Territory.objects.get_or_create(
        path="MX", defaults={"kind": TerritoryKind.COUNTRY, "code": "MX", "name": "México"}
    )
    out: dict[str, Territory] = {"MX": country}
    for code, (name, abbreviation, total, uninsured) in STATES.items():
        state = Territory.objects.create(
            kind=TerritoryKind.STATE,
            code=code,
            name=name,
            parent=country,
            path=f"MX.{code}",
            abbreviation=abbreviation,
        )
        out[state.path] = state
        if denominators:
            PopulationDenominator.objects.create(
                territory=state, year=2020, total=total, uninsured=uninsured, source="test census"
            )
        if not municipalities:
            continue
        for mcode, mname, population in MUNICIPALITIES[code]:
            muni = Territory.objects.create(
                kind=TerritoryKind.MUNICIPALITY,
                code=mcode,
                name=mname,
                parent=state,
                path=f"{state.path}.{mcode}",
            )
            out[muni.path] = muni
            if denominators:
                PopulationDenominator.objects.create(
                    territory=muni, year=2020, total=population, source="test census"
                )
    if facilities and municipalities:
        # Real-looking IMSS-Bienestar health centres in Pachuca (two) and Tulancingo, and an IMSS
        # one (not the network's).
        Facility.objects.create(
            clues="HGIMB000011",
            name="Centro de Salud Pachuca",
            territory=out["MX.13.048"],
            institution=Institution.IMSS_BIENESTAR,
            facility_type=FacilityType.HEALTH_CENTRE,
            consulting_rooms=3,
        )
        Facility.objects.create(
            clues="HGIMB000023",
            name="Centro de Salud El Arbolito",
            territory=out["MX.13.048"],
            institution=Institution.IMSS_BIENESTAR,
            facility_type=FacilityType.HEALTH_CENTRE,
        )
        Facility.objects.create(
            clues="HGIMB000035",
            name="Centro de Salud Tulancingo",
            territory=out["MX.13.077"],
            institution=Institution.IMSS_BIENESTAR,
            facility_type=FacilityType.HEALTH_CENTRE,
        )
        Facility.objects.create(
            clues="HGIMS000012",
            name="UMF 1",
            territory=out["MX.13.048"],
            institution=Institution.IMSS,
            facility_type=FacilityType.HEALTH_CENTRE,
        )
    return out
