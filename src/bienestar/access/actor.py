"""Who is asking, from where, and through which channel. Every selector and service takes one."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bienestar.access.roles import ROLE_PERMISSIONS, Permission

if TYPE_CHECKING:
    from bienestar.access.models import User


@dataclass(frozen=True)
class Actor:
    user: User | None
    client_address: str | None = None
    channel: str = "web"
    scopes: frozenset[str] = field(default_factory=frozenset)
    # The one person (internal id) a patient-bound API token confines the caller to; None: no
    # such binding (the role and territory decide).
    patient_id: int | None = None

    @classmethod
    def from_request(cls, request: Any, channel: str = "web") -> Actor:
        user = getattr(request, "user", None)
        if user is not None and not user.is_authenticated:
            user = None
        return cls(user=user, client_address=client_address(request), channel=channel)

    @classmethod
    def system(cls, channel: str = "cli") -> Actor:
        return cls(user=None, channel=channel)

    @property
    def is_authenticated(self) -> bool:
        return self.user is not None and self.user.is_active

    @property
    def role(self) -> str:
        return self.user.role if self.user is not None else ""

    @property
    def username(self) -> str:
        return self.user.get_username() if self.user is not None else f"<{self.channel}>"

    def can(self, permission: Permission) -> bool:
        if not self.is_authenticated or self.user is None:
            return False
        return permission in ROLE_PERMISSIONS.get(self.user.role, frozenset())

    @property
    def scope_path(self) -> str | None:
        """Territory path the actor may see, or None when it may see nothing personal."""
        territory = self.user.territory if self.user is not None else None
        return territory.path if territory is not None else None


def client_address(request: Any) -> str | None:
    """REMOTE_ADDR; the X-Forwarded-For header is trusted only when BIENESTAR_TRUST_PROXY is set."""
    import os

    meta = getattr(request, "META", {})
    if os.environ.get("BIENESTAR_TRUST_PROXY") == "1":
        forwarded = meta.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return str(forwarded.split(",")[0].strip())
    addr = meta.get("REMOTE_ADDR")
    return str(addr) if addr else None
