from accounts.models import Role
from accounts.tests.factories import OrganizationFactory, member
from robots import services
from robots.models import Robot, RobotModel

ARM_SLUG = "ur5e"


def robot_model(slug: str = ARM_SLUG) -> RobotModel:
    """A catalogue model (loaded by the data migration; reloaded after a transactional test's flush)."""
    model = RobotModel.objects.filter(slug=slug).first()
    if model is None:
        services.load_catalogue()
        model = RobotModel.objects.get(slug=slug)
    return model


def registered_robot(organization=None, *, slug: str = ARM_SLUG, name: str = "Test arm", serial: str | None = None,
                     status: str | None = None) -> tuple[Robot, str]:
    """A robot registered through the service, with its credential."""
    organization = organization or OrganizationFactory()
    actor = member(organization, Role.EDITOR)
    serial = serial or f"SN-{Robot.objects.count() + 1:05d}-{organization.pk}"
    robot, credential = services.register_robot(actor=actor, organization=organization, model=robot_model(slug),
                                                name=name, serial=serial)
    if status:
        Robot.objects.filter(pk=robot.pk).update(status=status)
        robot.status = status
    return robot, credential
