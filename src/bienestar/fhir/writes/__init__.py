"""Create and update through the domain services.

Every write goes through the same service the web pages use (people.services, clinical.services,
prescribing.services), so it is checked, scoped, atomic and audited exactly like them. FHIR has no
way to change what no service changes: an update that alters such an element is refused (422)
naming the element.

| type               | create                            | update (PUT) may change                      |
|--------------------|-----------------------------------|----------------------------------------------|
| Patient            | person_register                   | name, gender, birthDate, deceasedDateTime    |
| Encounter          | encounter_open / encounter_record | status: → finished (period.end), cancelled,  |
|                    |                                   | entered-in-error                             |
| Condition          | condition_add                     | clinicalStatus → resolved / inactive         |
|                    |                                   | (abatementDateTime)                          |
| Observation        | observation_record                | nothing (a measurement stays as recorded)    |
| AllergyIntolerance | allergy_add                       | clinicalStatus (active, inactive, resolved), |
|                    |                                   | verificationStatus → entered-in-error        |
|                    |                                   | (allergy_set_status)                         |
| Immunization       | immunization_record               | nothing (a dose stays as recorded)           |
| MedicationRequest  | prescription_create (one line)    | status → cancelled, reason in statusReason   |
|                    |                                   | (prescription_cancel: the whole prescription)|
| MedicationDispense | dispense_record (one line)        | nothing (the units left the shelf)           |
| Appointment        | appointment_book (its one Slot)   | nothing (states change through the JSON API) |

One module per group: people.py, clinical.py, history.py, pharmacy.py (read its docstring for
how prescriptions and dispenses map); base.py holds the Writer and the shared checks.
"""

from __future__ import annotations

from bienestar.fhir.writes.base import Writer
from bienestar.fhir.writes.clinical import CONDITION, ENCOUNTER, OBSERVATION
from bienestar.fhir.writes.history import ALLERGY, IMMUNIZATION
from bienestar.fhir.writes.people import PATIENT
from bienestar.fhir.writes.pharmacy import MEDICATION_DISPENSE, MEDICATION_REQUEST
from bienestar.fhir.writes.scheduling import APPOINTMENT

WRITERS: dict[str, Writer] = {
    "Patient": PATIENT,
    "Encounter": ENCOUNTER,
    "Condition": CONDITION,
    "Observation": OBSERVATION,
    "AllergyIntolerance": ALLERGY,
    "Immunization": IMMUNIZATION,
    "MedicationRequest": MEDICATION_REQUEST,
    "MedicationDispense": MEDICATION_DISPENSE,
    "Appointment": APPOINTMENT,
}


def writer_for(resource_type: str) -> Writer | None:
    return WRITERS.get(resource_type)


__all__ = ["WRITERS", "Writer", "writer_for"]
