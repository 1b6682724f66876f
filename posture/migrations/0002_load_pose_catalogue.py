from django.db import migrations


def load(apps, schema_editor):
    from posture.yoga_data import POSES

    YogaPose = apps.get_model("posture", "YogaPose")
    for spec in POSES:
        YogaPose.objects.update_or_create(slug=spec["slug"], defaults={
            "name": spec["name"], "sanskrit": spec["sanskrit"], "difficulty": spec["difficulty"],
            "description": spec["description"], "instructions": list(spec["instructions"]),
            "common_mistakes": list(spec["common_mistakes"]), "benefits": list(spec["benefits"]),
            "targets": {joint: list(values) for joint, values in spec["targets"].items()},
            "side_refers_to": spec.get("side_refers_to") or ""})


class Migration(migrations.Migration):
    dependencies = [("posture", "0001_initial")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
