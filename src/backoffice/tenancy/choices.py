from django.db import models


class Role(models.TextChoices):
    ADMINISTRATOR = "administrator", "Administrator"
    TEAM_ADMINISTRATOR = "team_administrator", "Team Administrator"
    VIEWER = "viewer", "Viewer"
