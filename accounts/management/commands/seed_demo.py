"""Demo data for `make run`: a demo organisation with people in every role, and an operator.

Idempotent: running it again changes nothing that exists. Later issues add their own demo data
(training sessions, robots, skills, devices, documents) to this command's organisation.
"""

from django.core.management.base import BaseCommand
from django.db import transaction

from accounts import services
from accounts.models import Membership, Organization, Role, User

DEMO_PASSWORD = "Demo-Robots-2026"
DEMO_OWNER = "demo@example.com"
DEMO_OPERATOR = "admin@example.com"
DEMO_TEAM = [
    ("ada@example.com", "Ada Admin", Role.ADMIN),
    ("eddie@example.com", "Eddie Editor", Role.EDITOR),
    ("vera@example.com", "Vera Viewer", Role.VIEWER),
]


class Command(BaseCommand):
    help = f"Create the demo organisation and logins ({DEMO_OWNER} / {DEMO_PASSWORD})."

    @transaction.atomic
    def handle(self, *args, **options):
        owner = User.objects.filter(email=DEMO_OWNER).first()
        if owner is None:
            owner = services.register_user(email=DEMO_OWNER, password=DEMO_PASSWORD, full_name="Demo Owner")
        organization = Organization.objects.filter(slug="demo-lab").first()
        if organization is None:
            organization = services.create_organization(actor=owner, name="Demo Lab", tier=Organization.Tier.PRO)
            organization.slug = "demo-lab"
            organization.save(update_fields=["slug"])
            owner.default_organization = organization
            owner.save(update_fields=["default_organization"])
        for email, name, role in DEMO_TEAM:
            user = User.objects.filter(email=email).first() or User.objects.create_user(
                email=email, password=DEMO_PASSWORD, full_name=name, default_organization=organization
            )
            Membership.objects.get_or_create(user=user, organization=organization, defaults={"role": role})
        if not User.objects.filter(email=DEMO_OPERATOR).exists():
            User.objects.create_superuser(email=DEMO_OPERATOR, password=DEMO_PASSWORD, full_name="Platform Operator")
        self.stdout.write(self.style.SUCCESS(
            f"Demo ready: sign in as {DEMO_OWNER} / {DEMO_PASSWORD} (admin console: {DEMO_OPERATOR})."
        ))
