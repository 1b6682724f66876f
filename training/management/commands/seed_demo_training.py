"""Demo training data for `make run`: a recorded session of synthetic hand motion, retargeted to the
dexterous hand, with a finished LeRobot export, plus a session still recording. Idempotent."""

from django.core.management.base import BaseCommand, CommandError

from accounts.models import Organization, User
from robots.catalogue import DEXTEROUS_HAND_SLUG
from robots.models import RobotModel
from training import services
from training.models import TrainingSession
from training.synthetic import synthetic_batch

RECORDED = "Pinch demonstrations"
RECORDING = "Wave (in progress)"


class Command(BaseCommand):
    help = "Create the demo training sessions and export one (after seed_demo and seed_demo_robots)."

    def handle(self, *args, **options):
        organization = Organization.objects.filter(slug="demo-lab").first()
        owner = User.objects.filter(email="demo@example.com").first()
        if organization is None or owner is None:
            raise CommandError("Run `manage.py seed_demo` first.")
        hand = RobotModel.objects.filter(slug=DEXTEROUS_HAND_SLUG).first()
        session = TrainingSession.objects.filter(organization=organization, name=RECORDED).first()
        if session is None:
            session = services.create_session(actor=owner, organization=organization, name=RECORDED,
                                              task="Pinch the small cube between thumb and index finger",
                                              robot_model=hand)
            for k, frames in enumerate((90, 120, 75)):
                gestures = [{"name": "pinch", "start_frame": frames // 3, "end_frame": 2 * frames // 3,
                             "confidence": 0.9}]
                services.ingest_frames(actor=owner, session=session, end_episode=True, gestures=gestures,
                                       batch=synthetic_batch(frames, fps=session.fps, left=k == 1, gap_every=17))
        export, created = services.request_export(actor=owner, session=session)
        if not TrainingSession.objects.filter(organization=organization, name=RECORDING).exists():
            waving = services.create_session(actor=owner, organization=organization, name=RECORDING,
                                             task="Wave hello", robot_model=hand)
            services.ingest_frames(actor=owner, session=waving, batch=synthetic_batch(60, fps=waving.fps))
        export.refresh_from_db()
        session.refresh_from_db()
        self.stdout.write(f"Demo training: session {session.pk} ({session.frame_count} frames), "
                          f"export {export.pk} {export.status}{' (new)' if created else ''}.")
