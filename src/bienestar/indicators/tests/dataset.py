"""A small network whose indicators are computed by hand (see test_definitions.py for the sums).

Month M is the first month of the quarter two quarters before today's, so every prescription's
validity is over and M and M+1 share a quarter. Prescriptions and dispensing go through the
domain services; clinical rows, positions and one already-expired lot are written with the ORM
(test set-up: the services refuse to receive an expired lot, which is the point of that row).
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from bienestar.access.models import User
from bienestar.clinical.models import Condition, Encounter, Immunization, Observation
from bienestar.facilities.models import Facility
from bienestar.inventory.models import Lot, StockMovement
from bienestar.inventory.tests.factories import ENALAPRIL, METFORMIN, PARACETAMOL, Network, receive
from bienestar.people.models import Person, PersonAffiliation
from bienestar.people.tests.factories import PersonFactory
from bienestar.prescribing.services import dispense_record, prescription_cancel
from bienestar.prescribing.tests.factories import fill, line, prescribe
from bienestar.terminology.models import Icd10Code, Medicine
from bienestar.territories.models import PopulationDenominator
from bienestar.workforce.tests.factories import (
    PositionFactory,
    PractitionerFactory,
    SpecialtyFactory,
    StaffingGoalFactory,
)

TZ = timezone.get_current_timezone()
CENSUS = "INEGI, Censo de Población y Vivienda 2020"
CONAPO = "CONAPO, Proyecciones de la Población de México 2020-2070 (a mitad de año)"


def first_month(today: dt.date | None = None) -> dt.date:
    today = today or timezone.localdate()
    quarter_start = dt.date(today.year, (today.month - 1) // 3 * 3 + 1, 1)
    index = quarter_start.year * 12 + quarter_start.month - 1 - 6
    return dt.date(index // 12, index % 12 + 1, 1)


def month_plus(month: dt.date, n: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + n
    return dt.date(index // 12, index % 12 + 1, 1)


def month_end(month: dt.date) -> dt.date:
    return month_plus(month, 1) - dt.timedelta(days=1)


@dataclass
class Dataset:
    net: Network
    month: dt.date
    people: dict[str, Person]

    def at(self, day: int, hour: int = 10, months: int = 0) -> dt.datetime:
        base = month_plus(self.month, months) + dt.timedelta(days=day)
        return dt.datetime.combine(base, dt.time(hour), tzinfo=TZ)

    @property
    def m(self) -> str:
        return f"{self.month:%Y-%m}"


def _encounter(person: Person, facility: Facility, at: dt.datetime, user: User) -> Encounter:
    return Encounter.objects.create(
        person=person,
        facility=facility,
        recorded_by=user,
        encounter_class="ambulatory",
        status="finished",
        start=at,
        end=at + dt.timedelta(minutes=20),
    )


def _bp(
    person: Person, facility: Facility, at: dt.datetime, user: User, sys: int, dia: int
) -> None:
    panel = Observation.objects.create(
        person=person, facility=facility, code="85354-9", effective_at=at, recorded_by=user
    )
    for code, value in (("8480-6", sys), ("8462-4", dia)):
        Observation.objects.create(
            person=person,
            facility=facility,
            panel=panel,
            code=code,
            value=value,
            unit="mm[Hg]",
            effective_at=at,
            recorded_by=user,
        )


def _condition(
    person: Person, facility: Facility, code: Icd10Code, at: dt.datetime, user: User
) -> None:
    Condition.objects.create(
        person=person,
        facility=facility,
        code=code,
        clinical_status="active",
        verification_status="confirmed",
        recorded_at=at,
        recorded_by=user,
    )


def _dose(
    person: Person, facility: Facility, vaccine: str, dose: str, day: dt.date, user: User, **kw: Any
) -> None:
    Immunization.objects.create(
        person=person,
        facility=facility,
        vaccine=vaccine,
        dose=dose,
        occurrence_date=day,
        schedule_fit="on_schedule",
        recorded_at=dt.datetime.combine(day, dt.time(10), tzinfo=TZ),
        recorded_by=user,
        **kw,
    )


def build(net: Network, geo: dict[str, Any]) -> Dataset:
    month = first_month()
    ds = Dataset(net=net, month=month, people={})
    user = net.users["clinician"]
    centre, pharmacy2, hidalgo = net.centre, net.pharmacy2, net.hidalgo_centre
    p = ds.people
    p["jose"] = PersonFactory(
        territory=geo["oaxaca_centro"], sex="M", birth_date=dt.date(1980, 5, 1)
    )
    p["pedro"] = PersonFactory(
        territory=geo["oaxaca_centro"], sex="M", birth_date=dt.date(1990, 1, 1)
    )
    p["maria"] = PersonFactory(territory=geo["pachuca"], sex="F", birth_date=dt.date(1985, 3, 3))
    PersonAffiliation.objects.create(person=p["maria"], scheme="imss", source="test")
    for name, sex, born in (
        ("ana", "F", dt.date(1960, 1, 1)),
        ("luis", "M", dt.date(1950, 1, 1)),
        ("rosa", "F", dt.date(1970, 1, 1)),
        ("tomas", "M", dt.date(1945, 1, 1)),
    ):
        p[name] = PersonFactory(territory=geo["oaxaca_centro"], sex=sex, birth_date=born)
    p["nino"] = PersonFactory(
        territory=geo["oaxaca_centro"], sex="M", birth_date=month - dt.timedelta(days=200)
    )
    p["nina"] = PersonFactory(
        territory=geo["oaxaca_centro"], sex="F", birth_date=month - dt.timedelta(days=100)
    )

    # --- stock and prescriptions (fill rate, availability) ----------------------------------
    ph1, ph2 = net.actor("pharmacist"), net.actor("pharmacist2")
    receive(ph1, centre, METFORMIN, 1000, at=ds.at(0, 8))
    receive(ph1, centre, ENALAPRIL, 15, lot_number="E", at=ds.at(0, 8))
    receive(ph2, pharmacy2, METFORMIN, 1000, lot_number="P2", at=ds.at(0, 8))
    receive(ph2, pharmacy2, ENALAPRIL, 100, lot_number="P2E", at=ds.at(0, 8))
    # Paracetamol: a lot that expires on day 15 of M (mid-period), never dispensed.
    para = Lot.objects.create(
        facility=centre,
        medicine=Medicine.objects.get(key=PARACETAMOL),
        lot_number="PX",
        expiry=month + dt.timedelta(days=14),
        quantity=20,
    )
    StockMovement.objects.create(
        lot=para,
        facility=centre,
        medicine=para.medicine,
        kind="receipt",
        quantity=20,
        balance_after=20,
        actor_username="test",
        at=ds.at(0, 8),
        operation=uuid.uuid4(),
    )
    p1 = prescribe(net, p["jose"], line(METFORMIN, 60), line(ENALAPRIL, 30), authored_at=ds.at(1))
    dispense_record(
        ph1,
        prescription=p1,
        pharmacy=centre,
        lines=fill(p1, 60, (10, "out_of_stock")),
        at=ds.at(1, 11),
    )
    # Enalapril runs out at the centre: 5 of 20 handed over, the voucher redeemed elsewhere.
    p2 = prescribe(net, p["jose"], line(ENALAPRIL, 20), authored_at=ds.at(3))
    dispense_record(
        ph1, prescription=p2, pharmacy=centre, lines=fill(p2, (5, "out_of_stock")), at=ds.at(3, 11)
    )
    # The voucher, redeemed at another pharmacy a week later (within validity).
    dispense_record(ph2, prescription=p2, pharmacy=pharmacy2, lines=fill(p2, 15), at=ds.at(10))
    prescribe(net, p["pedro"], line(PARACETAMOL, 10), authored_at=ds.at(5))
    p4 = prescribe(net, p["jose"], line(METFORMIN, 100), authored_at=ds.at(6))
    prescription_cancel(net.actor("clinician"), prescription=p4, reason="error de captura")
    prescribe(
        net, p["maria"], line(METFORMIN, 50), who="other_state_clinician", authored_at=ds.at(4)
    )

    # --- contacts (coverage of the uninsured) -----------------------------------------------
    _encounter(p["jose"], centre, ds.at(2), user)
    _encounter(p["jose"], centre, ds.at(20), user)
    _encounter(p["maria"], hidalgo, ds.at(2), user)  # insured: not counted
    _encounter(p["pedro"], centre, ds.at(4, months=1), user)
    for path, total, uninsured, projected in (
        ("MX.20", 1000, 500, 1200),
        ("MX.13", 1000, 200, 1000),
    ):
        territory = geo["oaxaca"] if path == "MX.20" else geo["hidalgo"]
        PopulationDenominator.objects.create(
            territory=territory, year=2020, total=total, uninsured=uninsured, source=CENSUS
        )
        PopulationDenominator.objects.create(
            territory=territory, year=month.year, total=projected, source=CONAPO
        )

    # --- hypertension cascade ---------------------------------------------------------------
    i10 = Icd10Code.objects.get_or_create(
        code="I10",
        defaults={
            "code_nodot": "I10",
            "level": 3,
            "description_es": "Hipertensión esencial",
            "source": "test",
        },
    )[0]
    i11 = Icd10Code.objects.get_or_create(
        code="I11",
        defaults={
            "code_nodot": "I11",
            "level": 3,
            "description_es": "Cardiopatía hipertensiva",
            "source": "test",
        },
    )[0]
    _condition(p["ana"], centre, i10, ds.at(0, months=-4), user)
    _condition(p["luis"], centre, i10, ds.at(0, months=-4), user)
    _condition(p["rosa"], centre, i10, ds.at(0, months=-1), user)
    _condition(p["tomas"], centre, i11, ds.at(0, months=-6), user)
    _bp(p["ana"], centre, ds.at(10), user, 130, 80)
    _bp(p["luis"], centre, ds.at(12), user, 150, 95)
    _bp(p["rosa"], centre, ds.at(12), user, 120, 70)
    Person.objects.filter(pk=p["tomas"].pk).update(
        deceased_date=month_plus(month, 1) + dt.timedelta(days=14)
    )

    # --- vaccination -----------------------------------------------------------------------
    _dose(p["nino"], centre, "Hexavalente acelular", "1", month + dt.timedelta(days=2), user)
    _dose(p["nino"], centre, "Hexavalente acelular", "3", month + dt.timedelta(days=19), user)
    _dose(p["nino"], centre, "BCG", "unica", month + dt.timedelta(days=2), user)
    _dose(p["nina"], centre, "Hexavalente acelular", "1", month + dt.timedelta(days=4), user)
    _dose(
        p["nina"],
        centre,
        "BCG",
        "unica",
        month + dt.timedelta(days=4),
        user,
        status="entered-in-error",
    )

    # --- workforce -------------------------------------------------------------------------
    surgery = SpecialtyFactory(code="cirugia_general", name="Cirugía general", is_core=True)
    paediatrics = SpecialtyFactory(code="pediatria", name="Pediatría", is_core=True)
    StaffingGoalFactory(facility=centre, specialty=surgery, goal=4)
    for filled in (True, True, True, False):
        PositionFactory(
            facility=centre,
            specialty=surgery,
            practitioner=PractitionerFactory() if filled else None,
        )
    StaffingGoalFactory(facility=hidalgo, specialty=paediatrics, goal=2)
    for _ in range(2):
        PositionFactory(facility=hidalgo, specialty=paediatrics, practitioner=PractitionerFactory())
    return ds
