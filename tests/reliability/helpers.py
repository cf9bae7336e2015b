"""Helpers of the reliability suite: a small but complete world (one marked patient in Oaxaca
with a chart, a household, a prescription and a dispense; stock at the health centre), bearer
tokens, and `bienestar serve` started as a child process against the test database.

Everything here talks to 127.0.0.1 only. Sizes and durations are bounded and can be raised for a
longer run with environment variables (BIENESTAR_SOAK_SECONDS, BIENESTAR_FUZZ_EXAMPLES).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.utils import timezone

from bienestar.config.database import connection_url
from bienestar.ops.bench import server as server_mod

# A name no other fixture uses: when it shows up in a response, personal data was returned.
MARK_GIVEN = "Zyanya"
MARK_SURNAME = "Ocelotlxochitl"
# Clinical answers name the patient by opaque id only; their content carries this word instead.
MARK_CLINICAL = "Tepezcohuite"


def child_database_url() -> str:
    """DATABASE_URL of the database this test runs on (pytest-django's test database)."""
    return connection_url(connection.settings_dict)


def run_verify(database_url: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, DATABASE_URL=database_url)
    env.pop("BIENESTAR_EMBEDDED_DB", None)
    return subprocess.run(
        [sys.executable, "-m", "bienestar.cli", "verify"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@dataclass
class World:
    net: Any  # inventory.tests.factories.Network
    users: dict[str, Any]
    patient: Any
    other_patient: Any  # lives in Hidalgo
    encounter: Any
    condition: Any
    allergy: Any
    household: Any
    member: Any
    prescription: Any
    dispense: Any
    lot: Any
    practitioner: Any
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def markers(self) -> list[str]:
        """Strings that only appear in a response that carries the marked patient's data."""
        from bienestar.people import national_id

        nhid = self.patient.national_health_id
        return [MARK_SURNAME, MARK_CLINICAL, nhid, national_id.display(nhid)]

    def token(self, who: str) -> str:
        from bienestar.access.models import ApiToken
        from bienestar.access.tokens import token_create

        if who not in self.tokens:
            row, plain = token_create(user=self.users[who], name="reliability")
            # last_used_at set now: no once-a-minute UPDATE inside the calls that are measured.
            ApiToken.objects.filter(pk=row.pk).update(last_used_at=timezone.now())
            self.tokens[who] = plain
        return self.tokens[who]


def build_world(geo: dict[str, Any], users: dict[str, Any]) -> World:
    from bienestar.access.tests.factories import actor_for
    from bienestar.clinical import services as clinical
    from bienestar.clinical.tests.factories import icd10_codes, schedule_entries
    from bienestar.households.tests.factories import HouseholdFactory, HouseholdMemberFactory
    from bienestar.inventory.tests.factories import ENALAPRIL, METFORMIN, build_network, receive
    from bienestar.people.tests.factories import PersonFactory
    from bienestar.prescribing.services import dispense_record
    from bienestar.prescribing.tests.factories import fill, line, prescribe
    from bienestar.workforce.tests.factories import PractitionerFactory

    net = build_network(geo, users)
    icd10_codes()
    schedule_entries()
    doctor = PractitionerFactory()
    users["clinician"].practitioner = doctor
    users["clinician"].save(update_fields=["practitioner"])
    users["integrator"].facility = net.centre
    users["integrator"].save(update_fields=["facility"])
    patient = PersonFactory(
        territory=geo["oaxaca_centro"],
        given_names=MARK_GIVEN,
        first_surname=MARK_SURNAME,
        birth_date=dt.date(1971, 4, 2),
    )
    other = PersonFactory(territory=geo["pachuca"], given_names="Citlali", first_surname="Pérez")
    clinician = actor_for(users["clinician"])
    encounter = clinical.encounter_record(
        clinician,
        person=patient,
        encounter_class="ambulatory",
        reason_text=f"Control de diabetes; pomada de {MARK_CLINICAL}",
        diagnoses=["E11"],
        vitals={"systolic": 130, "diastolic": 85, "weight": "80.0", "height": "170"},
    )
    condition = encounter.conditions.first()
    allergy = clinical.allergy_add(
        clinician, person=patient, category="environment", substance=MARK_CLINICAL
    )
    household = HouseholdFactory(territory=geo["oaxaca_centro"])
    member = HouseholdMemberFactory(household=household, person=patient)
    lot = receive(net.actor("pharmacist"), net.centre, METFORMIN, 500)
    receive(net.actor("pharmacist"), net.centre, ENALAPRIL, 500)
    prescription = prescribe(net, patient, line(METFORMIN, 60), line(ENALAPRIL, 30))
    dispense = dispense_record(
        net.actor("pharmacist"),
        prescription=prescription,
        pharmacy=net.centre,
        lines=fill(prescription, (30, "patient_declined"), (0, "patient_declined")),
    )
    prescription.refresh_from_db()
    return World(
        net=net,
        users=users,
        patient=patient,
        other_patient=other,
        encounter=encounter,
        condition=condition,
        allergy=allergy,
        household=household,
        member=member,
        prescription=prescription,
        dispense=dispense,
        lot=lot,
        practitioner=doctor,
    )


def http_session(token: str | None = None) -> Any:
    """A keep-alive HTTP session (requests), with the bearer token when given."""
    import requests

    session = requests.Session()
    session.trust_env = False  # never a proxy: the traffic stays on 127.0.0.1
    if token:
        session.headers["Authorization"] = f"Bearer {token}"
    return session


def server_errors_in_log(srv: server_mod.Server) -> str:
    """What the server logged about unhandled exceptions (for the failure message)."""
    text = srv.log.read_text(errors="replace") if srv.log.exists() else ""
    return "\n".join(line for line in text.splitlines() if "Error" in line or "Traceback" in line)[
        -4000:
    ]


PARAM = re.compile(
    r"<(?:(?P<conv>\w+):)?(?P<name>\w+)>|\{(?P<oname>\w+)\}|\(\?P<(?P<rname>\w+)>[^)]*\)"
)


def path_value(world: World, route: str, name: str) -> str:
    """A real value for a path parameter of `route`: the marked patient's own records wherever the
    route names one, so that a refusal proves scoping rather than a missing id."""
    from bienestar.access.tokens import token_create

    r = route.lower()
    if name == "value":
        return world.patient.national_health_id
    if name == "code":
        return world.prescription.code
    if name == "path":
        return "MX.20" if "territor" in r else "x"
    if name == "prefix":
        # A token of its own: revoking it (DELETE …/tokens/<prefix>) must not log the caller out.
        row, _plain = token_create(user=world.users["integrator"], name="throwaway")
        return row.prefix
    if name == "key":
        return "bp" if "vitals" in r else str(world.net.centre.public_id)
    if name == "member_id":
        return str(world.member.public_id)
    if name == "resource_type":
        return "Patient"
    if name in ("resource_id", "object_id", "id"):
        if "fhir" in r:
            return str(world.patient.public_id)
        return str(_admin_object_pk(route) or world.patient.pk)
    if name == "version_id":
        return "1"
    if name == "app_label":
        return "people"
    if name == "content_type_id":
        from django.contrib.contenttypes.models import ContentType

        return str(ContentType.objects.get(app_label="people", model="person").pk)
    if name == "public_id":
        for needle, obj in (
            ("households", world.household),
            ("encounters", world.encounter),
            ("conditions", world.condition),
            ("allergies", world.allergy),
            ("practitioners", world.practitioner),
            ("lots", world.lot),
            ("surtimientos", world.dispense),
            ("prescriptions", world.prescription),
            ("recetas", world.prescription),
            ("people", world.patient),
            ("personas", world.patient),
            ("persons", world.patient),
        ):
            if needle in r:
                return str(obj.public_id)
    return str(world.patient.public_id)


def _admin_object_pk(route: str) -> Any:
    """For /admin/<app>/<model>/<id>/…: the primary key of some row of that model."""
    from django.apps import apps

    parts = route.strip("^/").split("/")
    if len(parts) < 3 or parts[0] != "admin":
        return None
    try:
        model = apps.get_model(parts[1], parts[2])
    except (LookupError, ValueError):
        return None
    row = model._default_manager.order_by("pk").first()
    return row.pk if row is not None else None


def fill_route(world: World, route: str) -> str:
    """A concrete URL for a Django route (`path()` or regex) or an OpenAPI path template."""
    url = PARAM.sub(
        lambda m: path_value(world, route, m.group("name") or m.group("oname") or m.group("rname")),
        route,
    )
    url = url.replace("^", "").replace("$", "").replace("\\", "")
    return url if url.startswith("/") else "/" + url
