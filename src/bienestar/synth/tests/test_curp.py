import datetime as dt

from bienestar.people import curp as curp_rules
from bienestar.synth import curp


def build(
    given: str,
    first: str,
    second: str,
    born: dt.date = dt.date(1985, 3, 7),
    sex: str = "M",
    state: str = "OC",
) -> str:
    stem = curp.stem(
        given_names=given,
        first_surname=first,
        second_surname=second,
        birth_date=born,
        sex=sex,
        state=state,
    )
    value = curp.complete(stem, born.year, set())
    assert value is not None
    return value


def test_builds_a_valid_curp_from_the_renapo_rules():
    value = build("Juan", "Pérez", "López")
    assert value.startswith("PELJ850307HOCRPN0")
    assert curp_rules.is_valid(value)


def test_skips_maria_and_jose_in_compound_given_names():
    assert build("María Guadalupe", "Hernández", "Cruz", sex="F")[:4] == "HECG"
    assert build("José Luis", "García", "Ramírez")[:4] == "GARL"
    assert build("María", "García", "Ramírez", sex="F")[:4] == "GARM"


def test_skips_particles_and_turns_enye_into_x():
    value = build("Ana", "De la Cruz", "Muñoz", sex="F")
    assert value[:4] == "CUMA"
    assert value[13:16] == "RXN"


def test_missing_second_surname_is_x():
    assert build("Pedro", "Chan", "")[2] == "X"


def test_inconvenient_words_are_defused():
    value = build("Yolanda", "Bueno", "Esparza", sex="F")
    assert value[:4] == "BXEY"
    assert curp_rules.is_valid(value)


def test_homonyms_get_the_next_differentiator_digit_or_letter():
    taken: set[str] = set()
    stem = curp.stem(
        given_names="Juan",
        first_surname="Pérez",
        second_surname="López",
        birth_date=dt.date(1985, 3, 7),
        sex="M",
        state="OC",
    )
    first, second = curp.complete(stem, 1985, taken), curp.complete(stem, 1985, taken)
    assert first and second and first[16] == "0" and second[16] == "1"
    assert curp.complete(stem[:4] + "050307" + stem[10:], 2005, taken)[16] == "A"  # type: ignore[index]
    assert all(curp_rules.is_valid(v) for v in (first, second))
