"""`build_network` against the real PostgreSQL, on a tiny reference world (see reference.py)."""

from __future__ import annotations

import hashlib
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction

from bienestar.access.models import AuditEvent
from bienestar.core.errors import Conflict
from bienestar.facilities.models import CLUES_RE, Facility
from bienestar.households.models import Household, HouseholdMember
from bienestar.people import curp as curp_rules
from bienestar.people import national_id
from bienestar.people.models import (
    IssuedHealthId,
    Person,
    PersonAddress,
    PersonAffiliation,
    PersonIdentifier,
)
from bienestar.synth import generate
from bienestar.synth.generate import build_network
from bienestar.synth.models import SynthFacility, SynthProfile, SynthRun
from bienestar.synth.tests.reference import make_world
from bienestar.territories.models import Territory
from bienestar.workforce.models import Position, Practitioner, StaffingGoal

N = 300


class _Rollback(Exception):
    pass


def digest() -> str:
    """Everything that must be identical between two runs with the same seed (ids and clocks aside)."""
    queries = [
        "SELECT p.public_id, p.national_health_id, p.given_names, p.first_surname, p.second_surname, p.sex,"
        " p.birth_date, p.indigenous, p.indigenous_language, p.disability, t.path"
        " FROM people_person p JOIN territories_territory t ON t.id = p.territory_id ORDER BY p.national_health_id",
        "SELECT p.national_health_id, i.system, i.value FROM people_personidentifier i"
        " JOIN people_person p ON p.id = i.person_id ORDER BY 1, 2",
        "SELECT p.national_health_id, a.scheme, a.member_number, a.start FROM people_personaffiliation a"
        " JOIN people_person p ON p.id = a.person_id ORDER BY 1",
        "SELECT h.public_id, h.address_line, h.postal_code, h.rooms, h.dirt_floor, h.monthly_income_band,"
        " p.national_health_id, m.relationship, m.since FROM households_householdmember m"
        " JOIN households_household h ON h.id = m.household_id JOIN people_person p ON p.id = m.person_id"
        " ORDER BY 7",
        "SELECT p.national_health_id, s.bmi, s.diabetes, s.diabetes_diagnosed, s.hypertension, s.pregnant,"
        " s.fasting_glucose, f.clues FROM synth_synthprofile s JOIN people_person p ON p.id = s.person_id"
        " LEFT JOIN facilities_facility f ON f.id = s.facility_id ORDER BY 1",
        "SELECT f.clues, f.name, s.code, x.licence_number, x.given_names, p.since FROM workforce_position p"
        " JOIN facilities_facility f ON f.id = p.facility_id JOIN workforce_specialty s ON s.id = p.specialty_id"
        " LEFT JOIN workforce_practitioner x ON x.id = p.practitioner_id ORDER BY p.public_id",
    ]
    h = hashlib.sha256()
    with connection.cursor() as cursor:
        for sql in queries:
            cursor.execute(sql)
            for row in cursor.fetchall():
                h.update(repr(row).encode())
    return h.hexdigest()


def digest_of_fresh_run(seed: int, **world: bool) -> str:
    """Build into an empty database (a transaction rolled back afterwards) and digest the result."""
    try:
        with transaction.atomic():
            make_world(**world)
            build_network(people=N, seed=seed)
            value = digest()
            raise _Rollback
    except _Rollback:
        pass
    assert not Person.objects.exists()
    return value


@pytest.mark.django_db
def test_same_seed_gives_identical_rows_and_another_seed_does_not():
    first, second = digest_of_fresh_run(7), digest_of_fresh_run(7)
    assert first == second
    assert digest_of_fresh_run(8) != first


@pytest.mark.django_db
def test_network_is_complete_and_its_identifiers_are_valid():
    make_world()
    summary = build_network(people=N, seed=1)
    assert summary.counts["people"] == N and not summary.skipped
    assert (
        Person.objects.count()
        == N
        == SynthProfile.objects.count()
        == PersonAffiliation.objects.count()
    )
    assert PersonAddress.objects.count() == N == HouseholdMember.objects.count()

    health_ids = list(Person.objects.values_list("national_health_id", flat=True))
    assert len(set(health_ids)) == N and all(national_id.is_valid(v) for v in health_ids)
    assert IssuedHealthId.objects.filter(value__in=health_ids).count() == N

    curps = list(PersonIdentifier.objects.filter(system="curp").select_related("person"))
    assert len(curps) >= 0.97 * N
    assert all(c.source == "synth" and curp_rules.is_valid(c.value) for c in curps)
    for c in curps:
        p = c.person
        assert c.value[4:10] == p.birth_date.strftime("%y%m%d")
        assert c.value[10] == {"F": "M", "M": "H"}[p.sex]
        assert c.value[16].isdigit() == (p.birth_date.year < 2000)

    # People live in the loaded municipalities, in proportion to the states' population.
    paths = list(Person.objects.values_list("territory__path", flat=True))
    assert all(p.count(".") == 2 for p in paths)
    cdmx = sum(p.startswith("MX.09.") for p in paths) / N
    assert 0.5 <= cdmx <= 0.62  # 9.2 of 16.4 million

    # Name search's dictionary of name words is kept by a statement trigger, which COPY fires too.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(DISTINCT w.word), count(DISTINCT w.word) FILTER (WHERE NOT EXISTS "
            "(SELECT 1 FROM people_nameword n WHERE n.word = w.word)) FROM people_person, "
            "unnest(string_to_array(name_search, ' ')) AS w(word) WHERE w.word <> ''"
        )
        words, missing = cursor.fetchone()
    assert words > 50 and missing == 0

    run = SynthRun.objects.get()
    assert run.finished_at is not None and run.summary["counts"]["people"] == N
    assert AuditEvent.objects.filter(resource_type="SynthRun", resource_id=str(run.id)).exists()


@pytest.mark.django_db
def test_households_are_sane():
    make_world()
    build_network(people=N, seed=2)
    households = list(Household.objects.prefetch_related("members__person"))
    assert 2.8 <= N / len(households) <= 4.2
    for hh in households:
        members = list(hh.members.all())
        heads = [m for m in members if m.relationship == "head"]
        assert len(heads) == 1
        head = heads[0].person
        assert all(m.person.territory_id == hh.territory_id for m in members)
        for m in members:
            if m.relationship == "spouse":
                assert m.person.sex != head.sex
            if m.relationship == "child":
                assert m.person.birth_date > head.birth_date
    # Every person belongs to exactly one household (the database also enforces it).
    assert HouseholdMember.objects.values("person").distinct().count() == N


@pytest.mark.django_db
def test_affiliation_follows_the_uninsured_share_and_imss_has_nss():
    make_world()
    build_network(people=N, seed=3)
    schemes = list(PersonAffiliation.objects.values_list("scheme", "member_number", "person_id"))
    uninsured = sum(s == "none" for s, _m, _p in schemes) / N
    expected = (2507843 + 1052090 + 1359271) / (9209944 + 3082841 + 4132148)  # ~0.30
    assert abs(uninsured - expected) <= 0.12
    imss = [(m, p) for s, m, p in schemes if s == "imss"]
    assert imss and {s for s, _m, _p in schemes} <= {
        "none",
        "imss",
        "issste",
        "pemex",
        "sedena",
        "semar",
    }
    nss = dict(PersonIdentifier.objects.filter(system="imss-nss").values_list("person_id", "value"))
    for member_number, person_id in imss:
        assert (
            nss[person_id] == member_number and len(member_number) == 11 and member_number.isdigit()
        )
        digits = [int(c) for c in member_number]
        luhn = sum(
            d if i % 2 == 0 else (2 * d - 9 if 2 * d > 9 else 2 * d)
            for i, d in enumerate(reversed(digits))
        )
        assert luhn % 10 == 0


@pytest.mark.django_db
def test_chronic_conditions_among_adults():
    make_world()
    build_network(people=N, seed=4)
    adults = SynthProfile.objects.filter(person__birth_date__lte="2006-01-01")
    n = adults.count()
    assert n > 150
    diabetes = adults.filter(diabetes=True).count() / n
    assert 0.10 <= diabetes <= 0.27
    assert not SynthProfile.objects.filter(diabetes=False, diabetes_diagnosed=True).exists()
    assert not SynthProfile.objects.filter(pregnant=True, person__sex="M").exists()
    assert SynthProfile.objects.filter(bmi__gte=Decimal("30")).exists()


@pytest.mark.django_db
def test_facilities_come_from_the_catalogue_and_are_staffed_with_gaps():
    make_world()
    build_network(people=N, seed=5)
    links = list(SynthFacility.objects.select_related("facility"))
    catalogue = [s for s in links if not s.created]
    # One catalogue centre per municipality with households (Pachuca has two to choose from).
    catalogue_centres = {s.facility.clues for s in catalogue if s.role == "primary_care"}
    assert len(catalogue_centres) == 2 and "HGIMB000035" in catalogue_centres
    assert catalogue_centres <= {"HGIMB000011", "HGIMB000023", "HGIMB000035"}
    # IMSS units are not the network's.
    assert not any(s.facility.clues == "HGIMS000012" for s in links)
    for s in links:
        f = s.facility
        assert f.clues and CLUES_RE.match(f.clues)
        if s.created:
            assert f.source == "synth" and f.clues[2:5] == "IMB" and f.clues[5] == "9"
        assert StaffingGoal.objects.filter(facility=f).exists()
    # Everybody is served by one of the network's health centres; in Hidalgo by the catalogue's
    # centre of their own municipality.
    centres = {s.facility_id for s in links if s.role == "primary_care"}
    assert set(SynthProfile.objects.values_list("facility_id", flat=True)) <= centres
    hidalgo = SynthProfile.objects.filter(person__territory__path__startswith="MX.13.")
    assert hidalgo.exists()
    for profile in hidalgo.select_related("facility__territory", "person__territory"):
        assert profile.facility.source != "synth"
        assert profile.facility.territory.path == profile.person.territory.path

    def filled_share(role: str, core: bool) -> float:
        positions = Position.objects.filter(
            facility__in=[s.facility_id for s in links if s.role == role], specialty__is_core=core
        )
        return positions.exclude(practitioner=None).count() / positions.count()

    assert filled_share("rural_hospital", core=True) < filled_share("general_hospital", core=True)
    assert Position.objects.filter(practitioner=None).exists()
    assert all(p.since for p in Position.objects.all())
    licences = list(Practitioner.objects.values_list("licence_number", flat=True))
    assert all(v.isdigit() and len(v) in (7, 8) for v in licences) and len(set(licences)) == len(
        licences
    )
    centre_specialties = set(
        Position.objects.filter(facility_id__in=centres).values_list("specialty__code", flat=True)
    )
    assert {"family_medicine", "nursing"} <= centre_specialties


@pytest.mark.django_db
def test_only_states_loaded_gets_real_municipalities_and_synthetic_facilities():
    make_world(municipalities=False, facilities=False, denominators=False)
    build_network(people=120, seed=6)
    munis = Territory.objects.filter(kind="municipality")
    assert set(munis.values_list("path", flat=True)) >= {"MX.09.007", "MX.13.048", "MX.20.067"}
    assert all(m.source == "synth" for m in munis)
    assert Person.objects.exclude(territory__in=munis).count() == 0
    assert Facility.objects.filter(source="synth").count() == SynthFacility.objects.count() >= 9
    # Without denominators the national uninsured share applies.
    uninsured = PersonAffiliation.objects.filter(scheme="none").count() / 120
    assert 0.1 <= uninsured <= 0.45


@pytest.mark.django_db
def test_rerun_with_same_seed_and_size_does_not_duplicate():
    make_world()
    build_network(people=N, seed=1)
    again = build_network(people=N, seed=1)
    assert again.skipped and "Ya existe" in again.message
    assert Person.objects.count() == N and SynthRun.objects.count() == 1


@pytest.mark.django_db
def test_different_seed_is_refused_unless_added():
    make_world()
    build_network(people=N, seed=1)
    with pytest.raises(Conflict):
        build_network(people=N, seed=2)
    assert Person.objects.count() == N
    build_network(people=100, seed=2, add=True)
    assert Person.objects.count() == N + 100
    values = list(PersonIdentifier.objects.values_list("system", "value"))
    assert len(values) == len(set(values))
    # The second network reuses the facilities (and staff) the first one created.
    assert (
        Facility.objects.filter(source="synth").count()
        == SynthFacility.objects.filter(run__seed=1, created=True).count()
    )


@pytest.mark.django_db
def test_an_interrupted_run_leaves_nothing_and_can_be_rerun(monkeypatch):
    make_world()

    def crash(**kwargs):  # type: ignore[no-untyped-def]
        raise KeyboardInterrupt

    monkeypatch.setattr(generate, "write_staff", crash)
    with pytest.raises(KeyboardInterrupt):
        build_network(people=N, seed=1)
    assert (
        not Person.objects.exists()
        and not SynthRun.objects.exists()
        and not Household.objects.exists()
    )
    assert not Facility.objects.filter(source="synth").exists()
    monkeypatch.undo()
    assert build_network(people=N, seed=1).counts["people"] == N


@pytest.mark.django_db
def test_an_unfinished_run_is_discarded_before_building_again():
    make_world()
    build_network(people=N, seed=1)
    SynthRun.objects.update(finished_at=None)  # as if it had crashed after writing part of it
    summary = build_network(people=N, seed=1)
    assert summary.discarded_unfinished == 1 and not summary.skipped
    assert Person.objects.count() == N == HouseholdMember.objects.count()
    assert Household.objects.count() == summary.counts["households"]
    assert SynthRun.objects.filter(finished_at__isnull=False).count() == 1
    assert Practitioner.objects.count() == summary.counts["practitioners"]
    assert Facility.objects.filter(source="synth").count() == summary.counts["facilities_created"]


@pytest.mark.django_db
def test_command_reports_creation_skip_and_refusal(capsys):
    make_world()
    call_command("synth", people=50, seed=9, no_progress=True)
    assert "Red sintética generada" in capsys.readouterr().out
    call_command("synth", people=50, seed=9, no_progress=True)
    assert "Ya existe" in capsys.readouterr().out
    with pytest.raises(CommandError, match="--add"):
        call_command("synth", people=60, seed=9, no_progress=True)
    assert Person.objects.count() == 50


@pytest.mark.django_db
def test_states_outside_imss_bienestar_get_state_services_units():
    from bienestar.facilities.models import Institution
    from bienestar.synth.generate import _network_institution
    from bienestar.terminology.models import CluesKey

    assert _network_institution("14", "JC") == Institution.STATE_SERVICES
    assert _network_institution("20", "OC") == Institution.IMSS_BIENESTAR
    # With the CLUES key catalogue loaded, it decides: a state with IMB keys is in the network.
    for n in range(10):
        CluesKey.objects.create(
            clues=f"JCIMB{n:06d}",
            state_abbreviation="JC",
            institution_code="IMB",
            edition="202604",
            source="test",
        )
    assert _network_institution("14", "JC") == Institution.IMSS_BIENESTAR
    assert _network_institution("20", "OC") == Institution.STATE_SERVICES
