from django.apps import AppConfig


class BenchmarksConfig(AppConfig):
    """Installed only by config.settings.bench: the baselines the benchmarks compare against."""

    name = "benchmarks"
    label = "benchmarks"
    default_auto_field = "django.db.models.BigAutoField"
