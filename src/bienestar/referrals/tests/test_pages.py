"""Referral pages: the authorization matrix (anonymous, other territory, wrong role, the other
side) with nothing written on refusal, and the form's errors shown, not raised."""

from __future__ import annotations

import pytest
from django.test import Client

from bienestar.referrals.models import Referral, ReferralChange
from bienestar.referrals.tests.test_referrals import _send, net  # noqa: F401 - the fixture


def _client(user):  # type: ignore[no-untyped-def]
    c = Client()
    if user is not None:
        c.force_login(user)
    return c


def test_pages_matrix(net):  # noqa: F811
    referral = _send(net)
    detail = f"/referencias/{referral.public_id}/"
    assert _client(None).get(detail).status_code == 302
    assert _client(net["pharmacist"]).get(detail).status_code == 403
    assert _client(net["other"]).get(detail).status_code == 404
    assert _client(net["sender"]).get(detail).status_code == 200
    changes = ReferralChange.objects.count()
    for user, expected in [
        (None, 302),
        (net["pharmacist"], 403),
        (net["other"], 404),
        (net["sender"], 403),
    ]:
        res = _client(user).post(f"{detail}estado/", {"status": "received"})
        assert res.status_code == expected, user
    referral.refresh_from_db()
    assert referral.status == "requested" and ReferralChange.objects.count() == changes
    res = _client(net["receiver"]).post(f"{detail}estado/", {"status": "received"})
    assert res.status_code == 302
    referral.refresh_from_db()
    assert referral.status == "received"


def test_the_form_explains_what_is_wrong(net):  # noqa: F811
    c = _client(net["sender"])
    url = f"/referencias/nueva/{net['person'].public_id}/"
    assert c.get(url).status_code == 200
    before = Referral.objects.count()
    res = c.post(
        url,
        {
            "destination": str(net["hospital"].public_id),
            "priority": "routine",
            "reason": "Valoración",
            "diagnosis_code": "ZZZ99",
        },
    )
    assert res.status_code == 422
    assert b"CIE-10 desconocido" in res.content
    assert Referral.objects.count() == before
    assert _client(net["other"]).get(url).status_code == 404


@pytest.mark.django_db
def test_the_chart_section_is_audited(net):  # noqa: F811
    from bienestar.access.models import AuditEvent

    _send(net)
    before = AuditEvent.objects.filter(resource_type="Referral", action="read").count()
    res = _client(net["sender"]).get(f"/referencias/persona/{net['person'].public_id}/")
    assert res.status_code == 200 and "Hipertensión".encode() in res.content
    assert AuditEvent.objects.filter(resource_type="Referral", action="read").count() == before + 1
