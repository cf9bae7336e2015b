"""Writes: prescribing, cancelling, dispensing, and the nightly expiry of prescriptions.

Every service owns one transaction and writes its audit row inside it, so a change and its audit
commit together. Locking order, shared with `inventory.services`: the prescription row first, then
its lines, then the stock lots (in lot id order) — two pharmacies dispensing the same prescription
wait for each other instead of both filling the same remainder.

Dispensing is the hot write path (many pharmacists, one shelf), so `dispense_record` talks to the
database in few, hand-written statements, and touches the stock last: the lot rows every pharmacist
of a pharmacy shares stay locked only from the stock statement to the commit.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import random
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models.fields.mixins import FieldCacheMixin
from django.utils import timezone
from django.utils.translation import gettext as _

from bienestar.access.actor import Actor
from bienestar.access.audit import audit_record, build_event
from bienestar.access.errors import Forbidden, NotAuthenticated, OutOfScope
from bienestar.access.models import AuditAction, AuditEvent, User
from bienestar.access.permissions import require
from bienestar.access.roles import Permission
from bienestar.clinical.models import Encounter
from bienestar.core.errors import Conflict, ValidationFailed
from bienestar.core.sql import insert_sql, mark_saved, select_list
from bienestar.facilities.models import Facility
from bienestar.inventory.services import Issue, stock_issue_fefo, usable_units, validate_units
from bienestar.people.models import Person, PersonStatus
from bienestar.people.selectors import persons_visible_to
from bienestar.prescribing import codes
from bienestar.prescribing.models import (
    DISPENSABLE,
    Dispense,
    DispenseLine,
    LineStatus,
    Prescription,
    PrescriptionLine,
    PrescriptionStatus,
    UnfilledReason,
    lapsed_on_q,
    stock_reference,
    validity_days,
)
from bienestar.terminology.models import Medicine

MAX_LINES = 20
MAX_DURATION_DAYS = 365
MAX_CODE_ATTEMPTS = 8
_IDEMPOTENCY_NAMESPACE = uuid.UUID("6f3c1f9e-2b0a-4d6e-9a51-3c2f7d8e4b10")
_ENCOUNTER_VOID = ("cancelled", "entered-in-error")


# --- Inputs -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LineInput:
    """One line of a new prescription."""

    medicine_key: str
    quantity: int
    dose: str
    frequency: str
    duration_days: int
    instructions: str = ""


@dataclass(frozen=True)
class DispenseLineInput:
    """What the pharmacist hands over for one prescription line, and why not the rest.

    `quantity` may be 0 ("not at all"); whenever it is below the line's remaining units,
    `reason_if_unfilled` (an `UnfilledReason`) is required, and `other` needs `note`.
    """

    line: PrescriptionLine
    quantity: int
    reason_if_unfilled: str = ""
    note: str = ""


def _dispense_input(raw: DispenseLineInput | Mapping[str, Any]) -> DispenseLineInput:
    if isinstance(raw, DispenseLineInput):
        return raw
    return DispenseLineInput(
        line=raw["line"],
        quantity=raw["quantity"],
        reason_if_unfilled=raw.get("reason_if_unfilled") or "",
        note=raw.get("note") or "",
    )


def _text(value: str, *, field: str, max_length: int, required: bool = True) -> str:
    value = (value or "").strip()
    if required and not value:
        raise ValidationFailed(_("Este campo es obligatorio."), field=field)
    if len(value) > max_length:
        raise ValidationFailed(
            _("Texto demasiado largo (máximo %(n)d caracteres).") % {"n": max_length}, field=field
        )
    return value


def _user(actor: Actor) -> User:
    """The signed-in user behind an actor that passed `require` (a system actor never does)."""
    if actor.user is None:
        raise NotAuthenticated()
    return actor.user


def _require_visible(actor: Actor, person: Person) -> None:
    if not persons_visible_to(actor).filter(pk=person.pk).exists():
        raise OutOfScope()


def _audit(
    actor: Actor, action: str, resource_type: str, obj: Any, person_id: int, **q: Any
) -> None:
    audit_record(
        actor,
        action=action,
        resource_type=resource_type,
        resource_id=str(obj.public_id),
        person_id=person_id,
        query=q or None,
    )


# --- Prescribing --------------------------------------------------------------------------------


def _validate_lines(lines: Sequence[LineInput]) -> dict[str, Medicine]:
    if not lines:
        raise ValidationFailed(_("La receta no tiene renglones."), field="lines")
    if len(lines) > MAX_LINES:
        raise ValidationFailed(
            _("Una receta admite como máximo %(n)d renglones.") % {"n": MAX_LINES}, field="lines"
        )
    for line in lines:
        validate_units(line.quantity, field="quantity")
        if isinstance(line.duration_days, bool) or not isinstance(line.duration_days, int):
            raise ValidationFailed(
                _("La duración debe ser un número entero de días."), field="duration_days"
            )
        if not 1 <= line.duration_days <= MAX_DURATION_DAYS:
            raise ValidationFailed(
                _("La duración debe estar entre 1 y %(n)d días.") % {"n": MAX_DURATION_DAYS},
                field="duration_days",
            )
        _text(line.dose, field="dose", max_length=80)
        _text(line.frequency, field="frequency", max_length=80)
        _text(line.instructions, field="instructions", max_length=300, required=False)
    keys = {line.medicine_key for line in lines}
    found = Medicine.objects.in_bulk(list(keys))
    unknown = sorted(keys - set(found))
    if unknown:
        raise ValidationFailed(
            _("Clave desconocida en el catálogo nacional de medicamentos: %(keys)s")
            % {"keys": ", ".join(unknown)},
            field="medicine",
        )
    return found


def _new_code(rng: random.Random | None = None) -> str:
    """A fresh, unused code. The unique constraint decides; a collision (one in ~1e11 per
    prescription) retries. Must run inside a transaction."""
    for _attempt in range(MAX_CODE_ATTEMPTS):
        candidate = codes.generate(rng)
        if not Prescription.objects.filter(code=candidate).exists():
            return candidate
    raise Conflict(_("No se pudo generar un código de verificación; intente de nuevo."))


def _prescribing_facility(
    user: User, *, person: Person, encounter: Encounter | None, facility: Facility | None
) -> Facility:
    """The facility a prescription is written at, and the rule that it is the prescriber's own.

    A prescription counts in its facility's fill rate and carries its name, so a user attached to a
    facility prescribes only there: an encounter (or an explicit `facility`) of another unit is
    refused. A user attached to none (an institution's API client) prescribes at the encounter's
    facility, else at the one it names.
    """
    own = user.facility
    if encounter is not None:
        if encounter.person_id != person.id:
            raise ValidationFailed(_("La atención es de otra persona."), field="encounter")
        if encounter.status in _ENCOUNTER_VOID:
            raise ValidationFailed(_("La atención fue cancelada."), field="encounter")
        if own is not None and encounter.facility_id != own.id:
            raise ValidationFailed(
                _("Solo puede ligar la receta a una consulta de su establecimiento."),
                field="encounter",
            )
        if facility is not None and facility.id != encounter.facility_id:
            raise ValidationFailed(
                _("El establecimiento no es el de la consulta."), field="facility"
            )
        return encounter.facility
    if own is not None and facility is not None and facility.id != own.id:
        raise ValidationFailed(
            _("Solo puede prescribir en su propio establecimiento."), field="facility"
        )
    chosen = facility or own
    if chosen is None:
        raise ValidationFailed(_("Indique el establecimiento que prescribe."), field="facility")
    return chosen


def prescription_create(
    actor: Actor,
    *,
    person: Person,
    lines: Sequence[LineInput],
    encounter: Encounter | None = None,
    facility: Facility | None = None,
    note: str = "",
    authored_at: dt.datetime | None = None,
    code_rng: random.Random | None = None,
) -> Prescription:
    """Write a prescription with its lines, a fresh verification code and `valid_until` =
    authored date + `validity_days()`. Atomic; audited (create, with the person's id).

    Requires PRESCRIBE and the person inside the actor's territory. The prescribing facility is the
    encounter's, else `facility`, else the actor's own; a user attached to a facility prescribes
    only there (`_prescribing_facility`). Refused with nothing written: no lines, an unknown
    catalogue key, a quantity or duration that is not a positive integer, an encounter of another
    person or of another facility than the prescriber's, a merged or deceased person.

    `authored_at` (default now) and `code_rng` (default `secrets`) exist for imports and for the
    reproducible synthetic generator; the API does not expose them.
    """
    require(actor, Permission.PRESCRIBE)
    user = _user(actor)
    _require_visible(actor, person)
    if person.status != PersonStatus.ACTIVE:
        raise ValidationFailed(
            _("Esta persona fue fusionada con otro registro; prescriba en el registro vigente."),
            field="person",
        )
    if person.deceased_date is not None:
        raise ValidationFailed(_("La persona está registrada como fallecida."), field="person")
    medicines = _validate_lines(lines)
    note = _text(note, field="note", max_length=500, required=False)
    facility = _prescribing_facility(user, person=person, encounter=encounter, facility=facility)
    authored_at = authored_at or timezone.now()
    valid_until = timezone.localdate(authored_at) + dt.timedelta(days=validity_days())
    with transaction.atomic():
        for _attempt in range(MAX_CODE_ATTEMPTS):
            try:
                with transaction.atomic():
                    prescription = Prescription.objects.create(
                        code=_new_code(code_rng),
                        person=person,
                        facility=facility,
                        encounter=encounter,
                        prescriber_id=user.practitioner_id,
                        prescribed_by=user,
                        authored_at=authored_at,
                        valid_until=valid_until,
                        note=note,
                    )
                break
            except IntegrityError:
                # Two prescriptions drew the same code at the same instant; draw again.
                continue
        else:
            raise Conflict(_("No se pudo generar un código de verificación; intente de nuevo."))
        PrescriptionLine.objects.bulk_create(
            [
                PrescriptionLine(
                    prescription=prescription,
                    person=person,
                    facility=facility,
                    position=i,
                    medicine=medicines[line.medicine_key],
                    dose=line.dose.strip(),
                    frequency=line.frequency.strip(),
                    duration_days=line.duration_days,
                    instructions=line.instructions.strip(),
                    quantity=line.quantity,
                )
                for i, line in enumerate(lines, start=1)
            ]
        )
        _audit(actor, AuditAction.CREATE, "Prescription", prescription, person.id)
    return prescription


def prescription_cancel(actor: Actor, *, prescription: Prescription, reason: str) -> Prescription:
    """Cancel what is left of a prescription (units already dispensed stay dispensed). Requires
    PRESCRIBE and the person in the actor's territory; only a prescription that could still be
    dispensed can be cancelled. Atomic, audited."""
    require(actor, Permission.PRESCRIBE)
    _require_visible(actor, prescription.person)
    reason = _text(reason, field="reason", max_length=300)
    with transaction.atomic():
        locked = Prescription.objects.select_for_update().get(pk=prescription.pk)
        if locked.status not in DISPENSABLE:
            raise Conflict(
                _("La receta no se puede cancelar: está %(status)s.")
                % {"status": locked.get_status_display().lower()},
                field="status",
            )
        locked.status = PrescriptionStatus.CANCELLED
        locked.cancelled_at = timezone.now()
        locked.cancelled_by = actor.user
        locked.cancel_reason = reason
        locked.save(
            update_fields=["status", "cancelled_at", "cancelled_by", "cancel_reason", "updated_at"]
        )
        _audit(actor, AuditAction.UPDATE, "Prescription", locked, locked.person_id, change="cancel")
    return locked


def prescriptions_expire(actor: Actor, *, as_of: dt.date | None = None) -> int:
    """Mark expired every dispensable prescription whose `valid_until` is before `as_of` (today).
    A nightly job; idempotent. Dispensing never depends on it having run (`status_on` and
    `dispense_record` compare dates themselves). One audit row records how many changed."""
    as_of = as_of or timezone.localdate()
    with transaction.atomic():
        count = Prescription.objects.filter(lapsed_on_q(as_of)).update(
            status=PrescriptionStatus.EXPIRED, updated_at=timezone.now()
        )
        audit_record(
            actor,
            action=AuditAction.UPDATE,
            resource_type="Prescription",
            query={"change": "expire", "as_of": as_of.isoformat(), "count": count},
        )
    return count


# --- Dispensing ---------------------------------------------------------------------------------


class PrescriptionChanged(Conflict):
    """The prescription was dispensed or cancelled after the screen that sent this dispense was
    drawn (a form sent twice, or two pharmacists at once)."""

    def __init__(self) -> None:
        super().__init__(
            _(
                "La receta cambió desde que abrió esta página (otro surtimiento o una "
                "cancelación). Revise las cantidades actualizadas y vuelva a registrar."
            ),
            field="version",
        )


def _require_own_pharmacy(actor: Actor, pharmacy: Facility) -> None:
    require(actor, Permission.DISPENSE)
    own = actor.user.facility_id if actor.user is not None else None
    if own is None or own != pharmacy.id:
        raise Forbidden(_("Solo puede surtir en la farmacia de su propio establecimiento."))


def actor_pharmacy(actor: Actor) -> Facility:
    """The pharmacy where the actor dispenses: its own facility (DISPENSE required)."""
    require(actor, Permission.DISPENSE)
    facility = actor.user.facility if actor.user is not None else None
    if facility is None:
        raise Forbidden(_("Solo puede surtir en la farmacia de su propio establecimiento."))
    return facility


def _check_line_input(item: DispenseLineInput, prescription: Prescription) -> None:
    validate_units(item.quantity, field="quantity", allow_zero=True)
    if item.line.prescription_id != prescription.id:
        raise ValidationFailed(_("El renglón no pertenece a esta receta."), field="line")
    if item.reason_if_unfilled and item.reason_if_unfilled not in UnfilledReason.values:
        raise ValidationFailed(
            _("Motivo de no surtimiento desconocido."), field="reason_if_unfilled"
        )
    _text(item.note, field="note", max_length=300, required=False)


def _refuse_if_not_dispensable(prescription: Prescription, today: dt.date) -> None:
    status = prescription.status_on(today)
    if status == PrescriptionStatus.CANCELLED:
        raise Conflict(_("La receta fue cancelada: no se puede surtir."), field="status")
    if status == PrescriptionStatus.COMPLETED:
        raise Conflict(_("La receta ya fue surtida por completo."), field="status")
    if status == PrescriptionStatus.EXPIRED:
        raise Conflict(
            _("La receta venció el %(date)s: no se puede surtir.")
            % {"date": prescription.valid_until.strftime("%d/%m/%Y")},
            field="status",
        )


def shelf_covers(*, available: int, remaining: int) -> bool:
    """Whether the usable units on the pharmacy's shelf cover what a line still lacks: then "out of
    stock" is not a reason for leaving any of it unfilled."""
    return available >= remaining > 0


def unfilled_reasons(*, available: int, remaining: int) -> list[tuple[str, str]]:
    """The reasons a pharmacist may give for units of a line not handed over (value, label):
    every `UnfilledReason` but "out of stock" when the shelf covers the line."""
    covered = shelf_covers(available=available, remaining=remaining)
    return [
        (value, str(label))
        for value, label in UnfilledReason.choices
        if not (covered and value == UnfilledReason.OUT_OF_STOCK)
    ]


def _refuse_false_out_of_stock(
    items: Sequence[DispenseLineInput],
    fresh: Mapping[int, PrescriptionLine],
    *,
    pharmacy: Facility,
    today: dt.date,
) -> None:
    """Refuse "out of stock" for a line whose key the pharmacy holds enough usable units of (after
    the units this same dispense hands over for other lines of the key). One query, only when the
    reason is given."""
    claimed = [
        item
        for item in items
        if item.reason_if_unfilled == UnfilledReason.OUT_OF_STOCK
        and item.quantity < fresh[item.line.pk].remaining
    ]
    if not claimed:
        return
    handed: dict[str, int] = {}
    for item in items:
        key = fresh[item.line.pk].medicine_id
        handed[key] = handed.get(key, 0) + item.quantity
    shelf = usable_units(
        facility_id=pharmacy.id,
        keys=[fresh[item.line.pk].medicine_id for item in claimed],
        today=today,
    )
    for item in claimed:
        line = fresh[item.line.pk]
        available = shelf[line.medicine_id] - (handed[line.medicine_id] - item.quantity)
        if shelf_covers(available=available, remaining=line.remaining):
            raise ValidationFailed(
                _(
                    "Renglón %(line)s: hay %(n)d unidades en existencia, suficientes para el "
                    "renglón; «Sin existencia» no es el motivo. Si no las entrega, indique «El "
                    "paciente no lo aceptó» o «El médico cambió la indicación»."
                )
                % {"line": _line_label(line), "n": available},
                field="reason_if_unfilled",
            )


def _line_label(line: PrescriptionLine) -> str:
    return f"{line.position} ({line.medicine_id})"


def idempotent_dispense_id(*, user: User, key: str) -> uuid.UUID:
    """The dispense id an `Idempotency-Key` stands for: the same key from the same user is the same
    dispense; keys of different users never meet."""
    return uuid.uuid5(_IDEMPOTENCY_NAMESPACE, f"dispense:{user.pk}:{key}")


def dispense_digest(items: Sequence[DispenseLineInput]) -> str:
    """SHA-256 of what a dispense asks for (each line's units, reason and note), independent of
    the order of the lines: two requests with the same digest ask for the same thing."""
    canonical = sorted(
        [item.line.pk, item.quantity, item.reason_if_unfilled or "", (item.note or "").strip()]
        for item in items
    )
    return hashlib.sha256(json.dumps(canonical).encode()).hexdigest()


def _earlier_dispense(
    public_id: uuid.UUID, *, prescription: Prescription, user: User, digest: str
) -> Dispense | None:
    with connection.cursor() as cursor:
        # 63 bits of the id: a collision of two different keys only makes them wait for each other.
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [public_id.int >> 65])
    earlier = Dispense.objects.filter(public_id=public_id).first()
    if earlier is not None and (
        earlier.prescription_id != prescription.pk or earlier.dispensed_by_id != user.pk
    ):
        raise Conflict(
            _("Esta clave de idempotencia ya se usó para otro surtimiento."),
            field="idempotency_key",
        )
    if earlier is not None and earlier.request_digest and earlier.request_digest != digest:
        raise ValidationFailed(
            _(
                "Esta clave de idempotencia ya se usó con otro contenido (renglones o cantidades "
                "distintos); use una clave nueva para un surtimiento nuevo."
            ),
            field="idempotency_key",
            code="idempotency_key_reused",
        )
    return earlier


def dispense_record(
    actor: Actor,
    *,
    prescription: Prescription,
    pharmacy: Facility,
    lines: Sequence[DispenseLineInput | Mapping[str, Any]],
    at: dt.datetime | None = None,
    public_id: uuid.UUID | None = None,
    expected_version: str | None = None,
) -> Dispense:
    """Record one visit to a pharmacy: for each line given, the units handed over (all, some or
    none) and the reason for any unit not handed over. Lines not given are not touched.

    Guarantees: the dispense, its lines, the stock movements (lots chosen first-expiring-first-out
    among the pharmacy's non-expired lots) and the new line and prescription statuses commit
    together or not at all, with one audit row. What stays unfilled remains a pending balance that
    this or any other pharmacy can dispense while the prescription is valid.

    No silent partial fills: if the pharmacy holds fewer units than asked for a line,
    `InsufficientStock` (409, with the units available) is raised and nothing is written; the
    pharmacist asks for what is on the shelf and gives the reason for the rest (the dispense page
    shows the available units per line).

    Refused with nothing written: DISPENSE missing or a pharmacy other than the actor's own
    (403); a cancelled, expired or completed prescription, or a line already fully dispensed (409);
    a negative or non-integer quantity, more than the line's remaining units, an unfilled
    remainder without a reason, "out of stock" for a line the pharmacy's usable stock covers
    (`shelf_covers`), the same line twice, a line of another prescription (422).

    Out-of-territory prescriptions may be dispensed: a patient's voucher is redeemable at any
    pharmacy of the network (the pharmacist opens it by its code, which is audited).

    Idempotent when `public_id` is given (the API derives it from an `Idempotency-Key` with
    `idempotent_dispense_id`): if a dispense with that id already exists for this prescription and
    user and with the same content (`dispense_digest`), it is returned and nothing is written; with
    other content, ValidationFailed (422); for another prescription or user, Conflict (409).
    Requests with the same id are serialised by a transaction-level advisory lock taken before the
    prescription's row lock, so two copies of one request sent at once record one dispense.

    With `expected_version` (the `Prescription.version` the pharmacist's screen showed), the
    dispense is refused with `PrescriptionChanged` (409) when the prescription was dispensed or
    cancelled since: compared under the prescription's row lock, so of two copies of one form sent
    at once exactly one is recorded.
    """
    _require_own_pharmacy(actor, pharmacy)
    items = [_dispense_input(raw) for raw in lines]
    if not items:
        raise ValidationFailed(_("Indique al menos un renglón a surtir."), field="lines")
    if len({item.line.pk for item in items}) != len(items):
        raise ValidationFailed(_("Un renglón aparece dos veces."), field="lines")
    for item in items:
        _check_line_input(item, prescription)
    at = at or timezone.now()
    today = timezone.localdate(at)
    with transaction.atomic():
        digest = dispense_digest(items) if public_id is not None else ""
        if public_id is not None:
            earlier = _earlier_dispense(
                public_id, prescription=prescription, user=_user(actor), digest=digest
            )
            if earlier is not None:
                return earlier
        locked, fresh = _lock_with_lines(prescription.pk)
        if expected_version is not None and locked.version != expected_version:
            raise PrescriptionChanged()
        _refuse_if_not_dispensable(locked, today)
        _refuse_false_out_of_stock(items, fresh, pharmacy=pharmacy, today=today)
        dispense = Dispense(
            public_id=public_id or uuid.uuid4(),
            prescription=locked,
            person_id=locked.person_id,
            pharmacy=pharmacy,
            dispensed_by=_user(actor),
            at=at,
            request_digest=digest,
        )
        dispense_lines: list[DispenseLine] = []
        issues: list[Issue] = []
        for item in items:
            line = fresh[item.line.pk]
            if line.remaining == 0:
                raise Conflict(
                    _("El renglón %(line)s ya fue surtido por completo.")
                    % {"line": _line_label(line)},
                    field="line",
                )
            if item.quantity > line.remaining:
                raise ValidationFailed(
                    _(
                        "Renglón %(line)s: se piden %(asked)d unidades y solo quedan %(left)d "
                        "por surtir."
                    )
                    % {"line": _line_label(line), "asked": item.quantity, "left": line.remaining},
                    field="quantity",
                )
            unfilled = line.remaining - item.quantity
            reason = item.reason_if_unfilled if unfilled else ""
            note = item.note.strip() if unfilled else ""
            if unfilled and not reason:
                raise ValidationFailed(
                    _("Renglón %(line)s: indique por qué no se surten %(n)d unidades.")
                    % {"line": _line_label(line), "n": unfilled},
                    field="reason_if_unfilled",
                )
            if reason == UnfilledReason.OTHER and not note:
                raise ValidationFailed(
                    _("Renglón %(line)s: describa el motivo.") % {"line": _line_label(line)},
                    field="note",
                )
            row = DispenseLine(
                dispense=dispense,
                prescription_line=line,
                person_id=locked.person_id,
                pharmacy=pharmacy,
                quantity=item.quantity,
                unfilled_quantity=unfilled,
                unfilled_reason=reason,
                unfilled_note=note,
            )
            dispense_lines.append(row)
            if item.quantity:
                issues.append(
                    Issue(
                        medicine_key=line.medicine_id,
                        quantity=item.quantity,
                        reference=stock_reference(row.public_id),
                    )
                )
        changed: list[PrescriptionLine] = []
        for row in dispense_lines:
            line = row.prescription_line
            if not row.quantity:
                continue
            line.dispensed_quantity += row.quantity
            if line.remaining == 0:
                line.status = LineStatus.COMPLETED
                line.fully_dispensed_at = at
            else:
                line.status = LineStatus.PARTIALLY_DISPENSED
            changed.append(line)
        if all(line.remaining == 0 for line in fresh.values()):
            locked.status = PrescriptionStatus.COMPLETED
        elif any(line.dispensed_quantity for line in fresh.values()):
            locked.status = PrescriptionStatus.PARTIALLY_DISPENSED
        event = build_event(
            actor,
            action=AuditAction.CREATE,
            resource_type="Dispense",
            resource_id=str(dispense.public_id),
            person_id=locked.person_id,
            query={
                "prescription": str(locked.public_id),
                "units": sum(row.quantity for row in dispense_lines),
            },
        )
        _write_dispense(dispense, dispense_lines, locked, changed, event)
        # Stock last, so that the pharmacy's lots stay locked only from here to the commit. If the
        # shelf lacks units, InsufficientStock rolls back everything written above: nothing is
        # written.
        stock_issue_fefo(
            actor,
            facility=pharmacy,
            issues=issues,
            person_id=locked.person_id,
            at=at,
            savepoint=False,
        )
    _refresh_from(prescription, locked)
    return dispense


def _lock_with_lines(pk: int) -> tuple[Prescription, dict[int, PrescriptionLine]]:
    """Lock and read the prescription and its lines in one statement: for each line in position
    order, the prescription's row (already held after the first) and then the line's."""
    p_columns, p_attnames = select_list(Prescription, "p")
    l_columns, l_attnames = select_list(PrescriptionLine, "l")
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT {p_columns}, {l_columns}
                FROM prescribing_prescription AS p
                JOIN prescribing_prescriptionline AS l ON l.prescription_id = p.id
                WHERE p.id = %s ORDER BY l.position FOR UPDATE""",  # noqa: S608 - column names from the models
            [pk],
        )
        rows = cursor.fetchall()
    if not rows:  # a prescription without lines (or none at all: DoesNotExist, as before)
        return Prescription.objects.select_for_update().get(pk=pk), {}
    n, db = len(p_attnames), connection.alias
    locked = Prescription.from_db(db, p_attnames, rows[0][:n])
    lines = (PrescriptionLine.from_db(db, l_attnames, row[n:]) for row in rows)
    return locked, {line.pk: line for line in lines}


def _write_dispense(
    dispense: Dispense,
    rows: Sequence[DispenseLine],
    prescription: Prescription,
    lines: Sequence[PrescriptionLine],
    event: AuditEvent,
) -> None:
    """Write everything of a dispense but the stock, in one statement: the dispense and its lines,
    the new dispensed quantities and statuses of the prescription lines it changed and the
    prescription's status (each with a new `updated_at`), and the audit row. The tables are
    distinct, so the parts do not depend on the order PostgreSQL runs them in."""
    now = timezone.now()
    prescription.updated_at = now
    dispense_sql, params = insert_sql([dispense])
    rows_sql, rows_params = insert_sql(rows, computed={"dispense_id": "(SELECT id FROM dispense)"})
    params += rows_params
    progress = ""
    if lines:
        values = ", ".join(["(%s::bigint, %s::integer, %s::varchar, %s::timestamptz)"] * len(lines))
        progress = f"""line AS (
            UPDATE prescribing_prescriptionline AS line
            SET dispensed_quantity = v.dispensed_quantity, status = v.status,
                fully_dispensed_at = v.fully_dispensed_at, updated_at = %s
            FROM (VALUES {values}) AS v (id, dispensed_quantity, status, fully_dispensed_at)
            WHERE line.id = v.id),"""  # noqa: S608 - placeholders only
        params.append(now)
        for line in lines:
            line.updated_at = now
            params += [line.pk, line.dispensed_quantity, line.status, line.fully_dispensed_at]
    params += [prescription.status, now, prescription.pk]
    audit_sql, audit_params = insert_sql([event])
    params += audit_params
    with connection.cursor() as cursor:
        cursor.execute(
            f"""WITH dispense AS ({dispense_sql} RETURNING id),
                dispense_line AS ({rows_sql} RETURNING id, public_id),
                {progress}
                prescription AS (
                    UPDATE prescribing_prescription SET status = %s, updated_at = %s
                    WHERE id = %s),
                audit AS ({audit_sql} RETURNING id)
                SELECT dispense.id, audit.id, dispense_line.id, dispense_line.public_id
                FROM dispense, audit, dispense_line""",  # noqa: S608 - placeholders and model columns
            params,
        )
        written = cursor.fetchall()
    mark_saved([dispense], [written[0][0]])
    mark_saved([event], [written[0][1]])
    ids = {public_id: pk for _d, _a, pk, public_id in written}
    mark_saved(rows, [ids[row.public_id] for row in rows])
    for row in rows:
        row.dispense_id = dispense.pk


def _refresh_from(prescription: Prescription, fresh: Prescription) -> None:
    """What `prescription.refresh_from_db()` would do, without reading again: `fresh` is the row
    as locked and written by this transaction."""
    meta = Prescription._meta
    prescription._prefetched_objects_cache = {}  # type: ignore[attr-defined]
    for field in meta.concrete_fields:
        setattr(prescription, field.attname, getattr(fresh, field.attname))
        if isinstance(field, FieldCacheMixin) and field.is_cached(prescription):
            field.delete_cached_value(prescription)
    for rel in meta.related_objects:
        if rel.is_cached(prescription):
            rel.delete_cached_value(prescription)
    prescription._state.db = fresh._state.db
