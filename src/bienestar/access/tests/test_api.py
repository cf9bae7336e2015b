"""/api/access/: who am I, and the caller's own tokens."""

from __future__ import annotations

import pytest

from bienestar.access.models import ApiToken
from bienestar.access.tests.api_client import ApiClient
from bienestar.access.tokens import token_authenticate, token_create

pytestmark = pytest.mark.django_db


def test_me_anonymous_is_401(users):
    response = ApiClient(None).get("/api/access/me")
    assert response.status_code == 401
    assert response.json()["error"] == "not_authenticated"


def test_me_describes_role_permissions_and_territory(users):
    body = ApiClient(users["clinician"]).get("/api/access/me").json()
    assert body["username"] == "clinician"
    assert body["role"] == "clinician"
    assert body["role_label"]
    assert "person.read" in body["permissions"] and "audit.read" not in body["permissions"]
    assert body["territory"] == {"path": "MX.20", "name": "Oaxaca", "kind": "state"}
    assert body["authenticated_by"] == "token"
    assert body["token"]["current"] is True


def test_me_with_a_session(client, users):
    client.force_login(users["auditor"])
    body = client.get("/api/access/me").json()
    assert (body["role"], body["authenticated_by"], body["token"]) == ("auditor", "session", None)
    assert body["permissions"] == sorted(["audit.read", "registry.read", "workforce.read"])


def test_token_list_shows_only_the_callers_own_tokens_and_never_the_secret(users):
    api = ApiClient(users["clinician"])
    token_create(user=users["clinician"], name="segundo")
    _other, other_plain = token_create(user=users["pharmacist"], name="ajeno")
    response = api.get("/api/access/tokens")
    assert response.status_code == 200
    tokens = response.json()
    assert sorted(t["name"] for t in tokens) == ["segundo", "test"]
    assert [t["current"] for t in tokens if t["name"] == "test"] == [True]
    text = response.content.decode()
    assert api.token not in text and other_plain[:12] not in text and "token_hash" not in text


def test_revoke_own_token_then_it_is_401(users):
    api = ApiClient(users["clinician"])
    _row, second = token_create(user=users["clinician"], name="segundo")
    response = api.delete(f"/api/access/tokens/{second[:12]}")
    assert response.status_code == 200, response.content
    assert response.json()["active"] is False
    assert token_authenticate(second) is None
    assert ApiClient(None, token=second).get("/api/access/me").status_code == 401
    # Revoking the token in use works too, and the next call is refused.
    assert api.delete(f"/api/access/tokens/{api.token[:12]}").status_code == 200
    assert api.get("/api/access/me").status_code == 401


def test_cannot_revoke_someone_elses_token(users):
    _row, other = token_create(user=users["pharmacist"])
    response = ApiClient(users["clinician"]).delete(f"/api/access/tokens/{other[:12]}")
    assert response.status_code == 404
    assert ApiToken.objects.get(prefix=other[:12]).revoked_at is None


@pytest.mark.parametrize("prefix", ["x", "bnst_%00abc", "a" * 13])
def test_revoke_with_a_malformed_prefix_is_4xx(users, prefix):
    response = ApiClient(users["clinician"]).delete(f"/api/access/tokens/{prefix}")
    assert response.status_code in (404, 422)
