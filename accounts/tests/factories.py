import factory
from factory.django import DjangoModelFactory

from accounts.models import Membership, Organization, Role, User

DEFAULT_PASSWORD = "Correct-Horse-42"


class OrganizationFactory(DjangoModelFactory):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Organization {n}")
    slug = factory.Sequence(lambda n: f"organization-{n}")


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    full_name = factory.Faker("name")

    @factory.post_generation
    def password(self, create, extracted, **kwargs):
        self.set_password(extracted or DEFAULT_PASSWORD)
        if create:
            self.save(update_fields=["password"])


class MembershipFactory(DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    organization = factory.SubFactory(OrganizationFactory)
    role = Role.VIEWER


def member(organization: Organization | None = None, role: str = Role.VIEWER, **user_fields) -> User:
    """A user who belongs to `organization` (a new one when omitted) with `role`, as default org."""
    organization = organization or OrganizationFactory()
    user = UserFactory(**user_fields)
    MembershipFactory(user=user, organization=organization, role=role)
    user.default_organization = organization
    user.save(update_fields=["default_organization"])
    return user
