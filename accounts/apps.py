from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts and organisations"

    def ready(self):
        from . import schema, signals  # noqa: F401 (registers the receivers and the schema extension)
