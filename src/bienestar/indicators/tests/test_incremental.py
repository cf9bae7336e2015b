"""Incremental refresh = full rebuild, on random sequences of events (hypothesis).

Events arrive in batches, in any order of their dates (a dispense recorded today for a prescription
of four months ago, a blood pressure measured last quarter and typed in now, a stock receipt
backdated, a dose, a death); after each batch an incremental refresh runs. At the end the
aggregates must be exactly those a full rebuild computes. (DHIS2 double-counted values after partial
refreshes in 2026: this is the property that rules that out.)
"""

from __future__ import annotations

import contextlib
import datetime as dt

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bienestar.core.errors import DomainError
from bienestar.indicators.models import Aggregate, RefreshRun
from bienestar.indicators.refresh import refresh
from bienestar.indicators.tests.dataset import TZ, _bp, _condition, _dose, _encounter, first_month
from bienestar.inventory.tests.factories import ENALAPRIL, METFORMIN, receive
from bienestar.people.models import Person
from bienestar.people.tests.factories import PersonFactory
from bienestar.prescribing.services import dispense_record
from bienestar.prescribing.tests.factories import fill, line, prescribe
from bienestar.terminology.models import Icd10Code

pytestmark = pytest.mark.django_db

DAYS = 170
event = st.one_of(
    st.tuples(
        st.just("prescribe"),
        st.integers(0, DAYS),
        st.integers(1, 40),
        st.integers(0, 40),
        st.integers(0, 20),
    ),
    st.tuples(st.just("encounter"), st.integers(0, DAYS)),
    st.tuples(st.just("bp"), st.integers(0, DAYS), st.integers(110, 170)),
    st.tuples(st.just("dose"), st.integers(0, DAYS), st.sampled_from(["1", "3"])),
    st.tuples(st.just("receive"), st.integers(0, DAYS), st.integers(1, 30)),
    st.tuples(st.just("death"), st.integers(0, DAYS)),
)


class _Rollback(Exception):
    pass


def _rows() -> set[tuple]:  # type: ignore[type-arg]
    return set(
        Aggregate.objects.values_list(
            "indicator",
            "period_type",
            "period",
            "level",
            "area",
            "dimension",
            "category",
            "numerator",
            "denominator",
        )
    )


@pytest.mark.slow
@settings(
    max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(batches=st.lists(st.lists(event, min_size=1, max_size=4), min_size=1, max_size=3))
def test_incremental_refresh_equals_full_rebuild(net, geo, batches):
    base = first_month()
    today = dt.date.today()

    def at(day: int, hour: int = 10) -> dt.datetime:
        when = min(base + dt.timedelta(days=day), today)
        return dt.datetime.combine(when, dt.time(hour), tzinfo=TZ)

    try:
        with transaction.atomic():
            user = net.users["clinician"]
            ph = net.actor("pharmacist")
            i10 = Icd10Code.objects.get_or_create(
                code="I10",
                defaults={
                    "code_nodot": "I10",
                    "level": 3,
                    "description_es": "HTA",
                    "source": "test",
                },
            )[0]
            people = [
                PersonFactory(
                    territory=geo["oaxaca_centro"], sex=s, birth_date=dt.date(1960 + i, 1, 1)
                )
                for i, s in enumerate("FMF")
            ]
            for person in people:
                _condition(person, net.centre, i10, at(0) - dt.timedelta(days=200), user)
            receive(ph, net.centre, METFORMIN, 100000, at=at(0, 7))
            refresh(full=True)
            for batch in batches:
                for n, ev in enumerate(batch):
                    person = people[n % len(people)]
                    kind, day = ev[0], ev[1]
                    if kind == "prescribe":
                        qty, given_units, delay = ev[2], min(ev[3], ev[2]), ev[4]
                        p = prescribe(net, person, line(METFORMIN, qty), authored_at=at(day, 9))
                        if given_units:
                            with contextlib.suppress(DomainError):  # past validity: unfilled
                                dispense_record(
                                    ph,
                                    prescription=p,
                                    pharmacy=net.centre,
                                    lines=fill(
                                        p,
                                        (given_units, "patient_declined")
                                        if given_units < qty
                                        else given_units,
                                    ),
                                    at=at(day + delay, 12),
                                )
                    elif kind == "encounter":
                        _encounter(person, net.centre, at(day), user)
                    elif kind == "bp":
                        _bp(person, net.centre, at(day), user, ev[2], 85)
                    elif kind == "dose":
                        # A second dose 1 breaks the one-dose-per-person rule: left out.
                        with contextlib.suppress(IntegrityError), transaction.atomic():
                            _dose(
                                person,
                                net.centre,
                                "Hexavalente acelular",
                                ev[2],
                                at(day).date(),
                                user,
                            )
                    elif kind == "receive":
                        receive(
                            ph, net.centre, ENALAPRIL, ev[2], lot_number=f"E{day}", at=at(day, 7)
                        )
                    elif kind == "death":
                        Person.objects.filter(pk=person.pk, deceased_date__isnull=True).update(
                            deceased_date=at(day).date(), updated_at=timezone.now()
                        )
                run = refresh()
                assert run.kind == RefreshRun.Kind.INCREMENTAL
            incremental = _rows()
            refresh(full=True)
            assert _rows() == incremental
            raise _Rollback
    except _Rollback:
        pass
