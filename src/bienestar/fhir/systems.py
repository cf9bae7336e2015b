"""Every identifier system, code system and extension URI the FHIR API speaks, in one place.

Official URIs are used wherever one exists. Mexico's DGIS publishes OIDs for the national
identifiers and catalogues in its CDA implementation guide ("OIDs registrados → identificadores y
catálogos de ámbito nacional"), under HL7's national-identifier arc 2.16.840.1.113883.4 and DGIS's
own arc 2.16.840.1.113883.3.215:

| what                                   | URI                                         | source                    |
|----------------------------------------|---------------------------------------------|---------------------------|
| CURP (RENAPO)                          | urn:oid:2.16.840.1.113883.4.629             | DGIS CDA guide            |
| CLUES (DGIS facility key)              | urn:oid:2.16.840.1.113883.4.631             | DGIS CDA guide            |
| Cédula profesional (SEP licence)       | urn:oid:2.16.840.1.113883.3.215.12.18       | DGIS CDA guide            |
| Cuadro Básico de Medicamentos key      | urn:oid:2.16.840.1.113883.3.215.12.8        | DGIS CDA guide            |
| CIE-10 (WHO ICD-10, Spanish edition)   | http://hl7.org/fhir/sid/icd-10              | HL7 FHIR terminology      |
| LOINC                                  | http://loinc.org                            | HL7 FHIR terminology      |
| UCUM                                   | http://unitsofmeasure.org                   | HL7 FHIR terminology      |

(The OIDs were checked against public copies of the DGIS CDA templates, which write e.g.
`<id root="2.16.840.1.113883.4.629" assigningAuthorityName="CURP"/>`; not against HL7's OID
registry itself.)

Identifiers with no published URI — the National Health ID (new with the national plan), the IMSS
NSS, the ISSSTE number, institutional record numbers, Colombian documents (Colombia's IHCE drafts
name the document types, not a system per document) and Bienestar's own code lists — live under
the `urn:bienestar:` namespace below. It is not a registered URN namespace: a deployment that obtains
an OID under DGIS's arc (or a domain of its own) changes `BIENESTAR` here and in
people/identifier_systems.py, once, before going live, and updates the `uri` of the seeded rows of
the identifier-system registry (stored identifiers hold the short codes, not the URIs).

Identifiers of any other system (another institution's `urn:oid:…`, Synthea's
`https://github.com/synthetichealth/synthea`, a US SSN) are accepted on create, as HAPI, Aidbox and
Medplum do (ADR 0011, which replaces the earlier decision to refuse them with 422): the value is
stored exactly as given (trimmed) under the system's URI, unique per system, and the system is
added to the registry (people.IdentifierSystemEntry) as *unverified*; it reads back unchanged and
`identifier=system|value` finds it. Known systems are validated (a CURP's check digit, the NSS's 11
digits) and a bad value is refused with 422 naming `Patient.identifier[n].value`. The system must
be an absolute URI (`urn:…` or `http(s)://…`), and `urn:bienestar:sid:` names only the seeded
systems. Patients must also say where they live (the territory extension, or a state the address
resolves to): the territory decides who may see them.
"""

from __future__ import annotations

from bienestar.people import identifier_systems

FHIR_VERSION = "4.0.1"

# --- official systems ------------------------------------------------------------------------------
CURP = identifier_systems.CURP_URI
CLUES = "urn:oid:2.16.840.1.113883.4.631"
PROFESSIONAL_LICENCE = "urn:oid:2.16.840.1.113883.3.215.12.18"
MEDICINE_CATALOGUE = "urn:oid:2.16.840.1.113883.3.215.12.8"
ICD10 = "http://hl7.org/fhir/sid/icd-10"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"

# --- HL7 code systems and extensions ---------------------------------------------------------------
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
ALLERGY_CLINICAL = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
ALLERGY_VERIFICATION = "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification"
IDENTIFIER_TYPE = "http://terminology.hl7.org/CodeSystem/v2-0203"
OBSERVATION_VALUE = "http://terminology.hl7.org/CodeSystem/v3-ObservationValue"
FATHERS_FAMILY = "http://hl7.org/fhir/StructureDefinition/humanname-fathers-family"
MOTHERS_FAMILY = "http://hl7.org/fhir/StructureDefinition/humanname-mothers-family"

# --- Bienestar's own namespace ---------------------------------------------------------------------
BIENESTAR = "urn:bienestar"
NATIONAL_HEALTH_ID = identifier_systems.NATIONAL_HEALTH_ID_URI
IMSS_NSS = f"{BIENESTAR}:sid:imss-nss"
ISSSTE = f"{BIENESTAR}:sid:issste"
INSTITUTIONAL_RECORD = f"{BIENESTAR}:sid:record"
CO_DOCUMENT_PREFIX = f"{BIENESTAR}:sid:"  # + co-cc, co-ti, co-rc, co-ce, co-pa, co-ppt
FACILITY_CODE = f"{BIENESTAR}:sid:facility-code"  # REPS or another official non-CLUES key
PRESCRIPTION = f"{BIENESTAR}:sid:prescription"
SPECIALTY = f"{BIENESTAR}:CodeSystem:specialty"
FACILITY_TYPE = f"{BIENESTAR}:CodeSystem:facility-type"
INSTITUTION = f"{BIENESTAR}:CodeSystem:institution"
UNFILLED_REASON = f"{BIENESTAR}:CodeSystem:unfilled-reason"
# The territory (materialised path, e.g. "MX.20.067") an address lies in: what scopes access.
TERRITORY_EXTENSION = f"{BIENESTAR}:extension:territory"
# A person's affiliation in force (scheme, insurer/EPS, period, source): people/affiliations.py.
AFFILIATION_EXTENSION = f"{BIENESTAR}:extension:affiliation"
AFFILIATION_SCHEME = f"{BIENESTAR}:CodeSystem:affiliation-scheme"

# Identifier systems of persons: the seeded systems' codes ↔ URIs (people/identifier_systems.py,
# the registry). Any other system is stored under its URI, so it maps to itself.
PERSON_IDENTIFIER_SYSTEMS: dict[str, str] = identifier_systems.URI_BY_CODE
DOMAIN_IDENTIFIER_SYSTEM: dict[str, str] = identifier_systems.CODE_BY_URI

# LOINC display names of the codes the clinical record uses (see clinical/vitals.py).
LOINC_DISPLAY = {
    "85354-9": "Blood pressure panel with all children optional",
    "8480-6": "Systolic blood pressure",
    "8462-4": "Diastolic blood pressure",
    "8867-4": "Heart rate",
    "8310-5": "Body temperature",
    "29463-7": "Body weight",
    "8302-2": "Body height",
    "39156-5": "Body mass index (BMI) [Ratio]",
    "8280-0": "Waist Circumference at umbilicus by Tape measure",
    "2339-0": "Glucose [Mass/volume] in Blood",
    "4548-4": "Hemoglobin A1c/Hemoglobin.total in Blood",
}
# Laboratory results among them; the rest are vital signs (observation-category).
LABORATORY_CODES = frozenset({"2339-0", "4548-4"})


def identifier_system_uri(domain_system: str) -> str:
    return identifier_systems.uri_for_code(domain_system)
