"""The registry loads its resource modules once, whole, even when a fresh server process gets
many requests at once (a gunicorn worker's threads): no thread may see it half filled."""

from __future__ import annotations

import sys
import threading
import time

import bienestar.fhir as fhir_package
from bienestar.fhir import registry
from bienestar.fhir.errors import FhirError


def test_threads_arriving_together_on_a_fresh_registry_all_find_every_type(monkeypatch):
    expected = {d.type for d in registry.all_types()}
    for name in [m for m in sys.modules if m.startswith("bienestar.fhir.resources")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.delattr(fhir_package, "resources")  # else `from bienestar.fhir import resources`
    monkeypatch.setattr(registry, "REGISTRY", {})
    monkeypatch.setattr(registry, "_loaded", False)
    original = registry.register

    def slow_register(definition: registry.ResourceDef) -> registry.ResourceDef:
        # Widen the window in which the registry is half filled, as a slow disk would.
        out = original(definition)
        time.sleep(0.02)
        return out

    monkeypatch.setattr(registry, "register", slow_register)
    barrier = threading.Barrier(16)
    failures: list[str] = []

    def ask(kind: str, delay: float) -> None:
        barrier.wait()
        time.sleep(delay)  # requests arriving one after another while the first one loads
        try:
            registry.get(kind)
        except FhirError as exc:
            failures.append(f"{kind}: {exc}")

    kinds = sorted(expected)
    threads = [
        threading.Thread(target=ask, args=(kinds[i % len(kinds)], i * 0.01)) for i in range(16)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert failures == []
    assert {d.type for d in registry.all_types()} == expected
