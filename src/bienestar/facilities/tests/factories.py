import factory

from bienestar.facilities.models import Facility, FacilityType, Institution


class FacilityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Facility

    clues = factory.Sequence(lambda n: f"HGIMB{n:06d}")
    name = factory.Sequence(lambda n: f"Centro de Salud {n}")
    institution = Institution.IMSS_BIENESTAR
    facility_type = FacilityType.HEALTH_CENTRE
    level_of_care = 1
    territory = None
