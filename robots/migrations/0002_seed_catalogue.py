from django.db import migrations


def load_catalogue(apps, schema_editor):
    from robots.catalogue import ROBOT_MODELS

    RobotModel = apps.get_model("robots", "RobotModel")
    for spec in ROBOT_MODELS:
        RobotModel.objects.update_or_create(slug=spec["slug"], defaults={k: v for k, v in spec.items() if k != "slug"})


class Migration(migrations.Migration):
    dependencies = [("robots", "0001_initial")]

    operations = [migrations.RunPython(load_catalogue, migrations.RunPython.noop)]
