"""Demo robots for `make run`: a UR5e arm and the dexterous hand in the demo organisation.

The arm's credential is regenerated on every run (only its hash is stored) and written to
var/demo-robot.credential, from which `make run` starts the simulated agent.
"""

import os
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from accounts.models import Organization, User
from robots import services
from robots.catalogue import DEXTEROUS_HAND_SLUG
from robots.models import Robot, RobotModel

DEMO_ROBOTS = [("Demo arm", "DEMO-UR5E-001", "ur5e"), ("Demo hand", "DEMO-HAND-001", DEXTEROUS_HAND_SLUG)]


class Command(BaseCommand):
    help = "Register the demo robots (after seed_demo) and write the demo arm's credential to var/."

    def handle(self, *args, **options):
        organization = Organization.objects.filter(slug="demo-lab").first()
        owner = User.objects.filter(email="demo@example.com").first()
        if organization is None or owner is None:
            raise CommandError("Run `manage.py seed_demo` first.")
        services.load_catalogue()
        robots = {}
        for name, serial, slug in DEMO_ROBOTS:
            robot = Robot.objects.filter(organization=organization, serial=serial).first()
            if robot is None:
                robot, _ = services.register_robot(actor=owner, organization=organization,
                                                   model=RobotModel.objects.get(slug=slug), name=name, serial=serial)
            robots[serial] = robot
        credential = services.regenerate_credential(actor=owner, robot=robots["DEMO-UR5E-001"])
        path = Path(settings.VAR_DIR) / "demo-robot.credential"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(credential)
        os.chmod(path, 0o600)
        self.stdout.write(self.style.SUCCESS(f"Demo robots ready; the demo arm's credential is in {path}."))
