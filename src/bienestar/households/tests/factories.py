import factory

from bienestar.households.models import Household, HouseholdMember, Relationship


class HouseholdFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Household

    territory = None
    address_line = factory.Sequence(lambda n: f"Calle Reforma {n}")
    neighbourhood = "Centro"


class HouseholdMemberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = HouseholdMember

    household = None
    person = None
    relationship = Relationship.HEAD
