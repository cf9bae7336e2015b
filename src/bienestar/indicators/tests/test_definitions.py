"""Every indicator on the hand-made network of dataset.py, with the sums done by hand.

Fill rate, month M (prescribing facility; cancelled P4 left out):
  Centro Oaxaca  P1 metformin 60/60 (filled), enalapril 10/30 (not)   lines 1/2  units 70/90
                 P2 enalapril 5 here (the last) + 15 at pharmacy2    lines 1/1  units 20/20
                    (the voucher, within validity)
                 P3 paracetamol 0/10                                  lines 0/1  units 0/10
                 → 2/4 lines, 90/120 units (= prescribing.fill_rate for Oaxaca: one definition)
  Centro Pachuca P7 metformin 0/50                                    lines 0/1 (a zero)
  Farmacia Oaxaca prescribed nothing: no row (missing, not zero)
  Nation 2/5 lines, 90/170 units.
Availability at the end of M (pairs unit × key ever received): centre metformin 940 > 0,
  enalapril 0 (15 received, 10 + 5 dispensed), paracetamol 20 but expired on day 15 (not usable);
  pharmacy2 metformin 1,000 and enalapril 85 > 0 → 3/5. The month before M: no pair yet → no row.
Coverage of the uninsured (residence): M → José (two visits, counted once) = 1 in Oaxaca; María is
  insured. M+1 → Pedro. Quarter → 2. Denominator Oaxaca = 1,200 × 500/1,000 = 600; Hidalgo 200;
  nation 800.
Hypertension control: end of M → Ana (130/80, controlled), Luis (150/95), Tomás (registered
  6 months before, no BP in 3 months); Rosa registered only 1 month before → 1/3.
  End of M+1 → Tomás died mid-month, out; Rosa still < 3 months → Ana, Luis → 1/2.
Vaccination, M: doses Hexavalente 3 (niño 1 and 3, niña 1) + BCG 1 (niña's BCG entered in error)
  = 4; dropout hexavalente (2 first − 1 third) ÷ 2 = 0.5.
Workforce (today): Oaxaca surgery 3 filled of goal 4, Hidalgo paediatrics 2 of 2 →
  nation 5/6 = 0.8333 (not the mean of 75 % and 100 %).
"""

from __future__ import annotations

import pytest
from django.utils import timezone

from bienestar.indicators.models import Aggregate
from bienestar.indicators.refresh import refresh
from bienestar.indicators.tests.dataset import build, first_month, month_end, month_plus
from bienestar.prescribing.fill_rate import fill_rate

pytestmark = pytest.mark.django_db


@pytest.fixture
def ds(net, geo):  # type: ignore[no-untyped-def]
    data = build(net, geo)
    refresh(full=True)
    return data


def agg(code: str, level: str, area: str, period: str, dimension: str = "", category: str = ""):  # type: ignore[no-untyped-def]
    row = Aggregate.objects.filter(
        indicator=code,
        level=level,
        area=area,
        period=period,
        dimension=dimension,
        category=category,
    ).first()
    return None if row is None else (row.numerator, row.denominator)


def test_fill_rate_by_line_and_unit_is_the_prescribing_definition(ds, net):
    m = ds.m
    assert agg("fill_rate_line", "nation", "MX", m) == (2, 5)
    assert agg("fill_rate_unit", "nation", "MX", m) == (90, 170)
    assert agg("fill_rate_line", "state", "MX.20", m) == (2, 4)
    assert agg("fill_rate_unit", "state", "MX.20", m) == (90, 120)
    assert agg("fill_rate_line", "state", "MX.13", m) == (0, 1)  # a zero
    assert agg("fill_rate_line", "unit", str(net.centre.id), m) == (2, 4)
    assert agg("fill_rate_line", "unit", str(net.pharmacy2.id), m) is None  # missing
    assert agg(
        "fill_rate_line", "nation", "MX", f"{ds.month.year}Q{(ds.month.month - 1) // 3 + 1}"
    ) == (2, 5)
    # One definition: the figures of prescribing/fill_rate.py for the same month.
    same = fill_rate(
        net.actor("state_coordinator"),
        date_from=ds.month,
        date_to=month_end(ds.month),
        territory_path="MX.20",
    )
    assert (same.lines_filled, same.lines_prescribed) == agg("fill_rate_line", "state", "MX.20", m)
    assert (same.units_dispensed, same.units_prescribed) == agg(
        "fill_rate_unit", "state", "MX.20", m
    )
    # Disaggregated by sex: all four Oaxaca lines are men's (José, Pedro); María's is a woman's.
    assert agg("fill_rate_line", "nation", "MX", m, "sex", "M") == (2, 4)
    assert agg("fill_rate_line", "nation", "MX", m, "sex", "F") == (0, 1)


def test_availability_is_pairs_in_stock_over_pairs_at_the_end_of_the_period(ds, net):
    assert agg("availability", "nation", "MX", ds.m) == (3, 5)
    assert agg("availability", "unit", str(net.centre.id), ds.m) == (1, 3)
    assert agg("availability", "unit", str(net.pharmacy2.id), ds.m) == (2, 2)
    before = f"{month_plus(ds.month, -1):%Y-%m}"
    assert agg("availability", "nation", "MX", before) is None
    # A quarter is its last month's snapshot, not a sum of three months' pairs.
    quarter = f"{ds.month.year}Q{(ds.month.month - 1) // 3 + 1}"
    assert agg("availability", "nation", "MX", quarter) == (3, 5)
    # No disaggregation by sex for unit × key pairs.
    assert not Aggregate.objects.filter(indicator="availability", dimension="sex").exists()


def test_coverage_counts_each_uninsured_person_once_over_the_estimated_population(ds):
    m1 = f"{month_plus(ds.month, 1):%Y-%m}"
    quarter = f"{ds.month.year}Q{(ds.month.month - 1) // 3 + 1}"
    assert agg("uninsured_coverage", "state", "MX.20", ds.m) == (1, 600)
    assert agg("uninsured_coverage", "state", "MX.20", m1) == (1, 600)
    assert agg("uninsured_coverage", "state", "MX.20", quarter) == (2, 600)
    assert agg("uninsured_coverage", "nation", "MX", ds.m) == (1, 800)
    assert agg("uninsured_coverage", "state", "MX.13", ds.m) is None  # no uninsured contact
    # No denominator by sex: the numerator is there, the denominator is missing (not zero).
    assert agg("uninsured_coverage", "nation", "MX", ds.m, "sex", "M") == (1, None)


def test_hypertension_control_keeps_a_patient_who_dies_in_the_months_before(ds):
    m1 = f"{month_plus(ds.month, 1):%Y-%m}"
    assert agg("hypertension_control", "state", "MX.20", ds.m) == (1, 3)
    assert agg("hypertension_control", "state", "MX.20", m1) == (1, 2)


def test_vaccination_doses_and_dropout(ds):
    assert agg("vaccine_doses", "state", "MX.20", ds.m) == (4, None)
    assert agg("vaccine_doses", "state", "MX.20", ds.m, "category", "Hexavalente acelular") == (
        3,
        None,
    )
    assert agg("vaccine_doses", "state", "MX.20", ds.m, "category", "BCG") == (1, None)
    assert agg("vaccine_dropout", "state", "MX.20", ds.m) == (1, 2)


def test_workforce_national_is_sum_over_sum(ds):
    today = f"{timezone.localdate():%Y-%m}"
    assert agg("specialists_filled", "nation", "MX", today) == (5, 6)
    assert agg("specialists_filled", "state", "MX.20", today) == (3, 4)
    assert agg("specialists_filled", "nation", "MX", today, "category", "pediatria") == (2, 2)
    # The registry keeps no history: earlier months have no figure (missing, not zero).
    assert agg("specialists_filled", "nation", "MX", ds.m) is None


def test_a_full_refresh_twice_gives_the_same_rows(ds):
    def rows() -> set[tuple]:  # type: ignore[type-arg]
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

    before = rows()
    refresh(full=True)
    assert rows() == before
    run = refresh()  # incremental with nothing new: only the current month is recomputed
    assert run.kind == "incremental" and run.since == timezone.localdate().replace(day=1)
    assert rows() == before


def test_the_refresh_runs_as_a_job_with_progress(net, geo, users):
    from bienestar.access.actor import Actor
    from bienestar.access.roles import Permission
    from bienestar.indicators.tasks import KIND
    from bienestar.jobs import services as jobs
    from bienestar.jobs.runner import run_inline

    build(net, geo)
    actor = Actor(user=users["national_coordinator"])
    job = jobs.start(
        actor=actor,
        kind=KIND,
        title="Recálculo de indicadores",
        params={"full": True},
        permission=Permission.INDICATOR_READ,
        queue=False,
    )
    job = run_inline(job)
    assert job.status == "succeeded" and job.progress_done == job.progress_total == 4
    assert agg("fill_rate_line", "nation", "MX", f"{first_month():%Y-%m}") == (2, 5)


def test_a_published_month_stays_as_published_and_a_correction_is_a_new_version(ds, net, users):
    from bienestar.access.actor import Actor
    from bienestar.access.errors import Forbidden
    from bienestar.indicators.models import PublishedValue
    from bienestar.indicators.services import publication_create
    from bienestar.prescribing.models import Prescription

    national = Actor(user=users["national_coordinator"])
    with pytest.raises(Forbidden):
        publication_create(
            actor=Actor(user=users["state_coordinator"]), indicator="fill_rate_line", period=ds.m
        )
    first = publication_create(actor=national, indicator="fill_rate_line", period=ds.m)
    value = PublishedValue.objects.get(publication=first, level="nation", dimension="")
    assert (first.version, value.numerator, value.denominator) == (1, 2, 5)
    # A correction: Pedro's paracetamol prescription was entered in error (cancelled).
    # (Its validity is over, so the service would refuse to cancel it: the record is fixed directly.)
    Prescription.objects.filter(person=ds.people["pedro"]).update(
        status="cancelled", cancelled_at=timezone.now(), updated_at=timezone.now()
    )
    refresh()
    assert agg("fill_rate_line", "nation", "MX", ds.m) == (2, 4)
    second = publication_create(
        actor=national, indicator="fill_rate_line", period=ds.m, note="corrección"
    )
    assert second.version == 2
    assert (
        PublishedValue.objects.get(publication=second, level="nation", dimension="").denominator
        == 4
    )
    # The first version is unchanged.
    assert (
        PublishedValue.objects.get(publication=first, level="nation", dimension="").denominator == 5
    )


def test_dhis2_export_round_trips_in_json_and_adx_through_the_command(ds, net):
    import io

    from django.core.management import call_command
    from django.core.management.base import CommandError

    from bienestar.indicators.dhis2 import parse_adx, parse_json

    period = f"{ds.month:%Y%m}"
    out = io.StringIO()
    call_command(
        "indicators", "export", format="dhis2-json", period=period, territory="MX", stdout=out
    )
    values = parse_json(out.getvalue())
    assert ("BNS_FILL_RATE_LINE_NUM", period, "MX", "2") in values
    assert ("BNS_FILL_RATE_LINE_DEN", period, "MX", "5") in values
    assert ("BNS_FILL_RATE_LINE_DEN", period, net.centre.clues, "4") in values
    # A count has no denominator: nothing is sent for it (missing is not zero).
    assert not any(v[0] == "BNS_VACCINE_DOSES_DEN" for v in values)
    adx = io.StringIO()
    call_command("indicators", "export", format="adx", period=period, territory="MX", stdout=adx)
    assert f'period="{ds.month:%Y-%m}-01/P1M"' in adx.getvalue()
    assert parse_adx(adx.getvalue()) == values
    quarter = f"{ds.month.year}Q{(ds.month.month - 1) // 3 + 1}"
    q = io.StringIO()
    call_command("indicators", "export", format="adx", period=quarter, territory="MX.20", stdout=q)
    assert ("BNS_UNINSURED_COVERAGE_NUM", quarter, "MX.20", "2") in parse_adx(q.getvalue())
    assert not any(v[2].startswith("MX.13") for v in parse_adx(q.getvalue()))
    with pytest.raises(CommandError):
        call_command("indicators", "export", format="adx", period="2026-13", territory="MX")
