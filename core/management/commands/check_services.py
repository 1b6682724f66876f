import json

from django.core.management.base import BaseCommand, CommandError

from core.health import run_checks


class Command(BaseCommand):
    help = "Check every configured part (database, cache, channel layer, broker, storage, vectors)."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="Print the report as JSON.")

    def handle(self, *args, **options):
        report = run_checks()
        if options["json"]:
            self.stdout.write(json.dumps(report, indent=2))
        else:
            for name, result in report["checks"].items():
                detail = result.get("backend") or result.get("error", "")
                self.stdout.write(f"{name:14} {result['status']:6} {result['latency_ms']:>8.1f} ms  {detail}")
        if report["status"] != "healthy":
            raise CommandError("Some configured services are unreachable (see above).")
