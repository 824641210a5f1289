"""Service requests, inspections and work orders recorded on devices."""

from django.db import models
from django_scopes import ScopedManager

from backoffice.core.generations import CONFIG, GenerationManager, GenerationModel
from backoffice.core.models import CompanyOwnedModel
from backoffice.documents.choices import DocumentKind


class Document(GenerationModel, CompanyOwnedModel):
    """
    A service request, inspection or work order created on a device for a
    client. Only what the Clients tab rule and the Devices Report need is kept.
    """

    kind = models.CharField(max_length=32, choices=DocumentKind.choices)
    number = models.CharField(max_length=64)
    client = models.ForeignKey("organization.Client", on_delete=models.PROTECT, related_name="documents")
    device = models.ForeignKey(
        "devices.Device", on_delete=models.SET_NULL, null=True, blank=True, related_name="documents"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    generation_kinds = (CONFIG,)

    objects = ScopedManager(_manager_class=GenerationManager, company="company")  # type: ignore[misc]

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["device", "client"], name="documents_device_client_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.number}"

    def bumps_generation(self, *, adding: bool) -> bool:
        """
        A document makes its client available on its device (the Clients tab
        rule): only the device's first document for a client changes the
        device's configuration, so only that one bumps the generation.
        """
        if not adding or self.device_id is None:
            return True
        return not Document._base_manager.filter(device_id=self.device_id, client_id=self.client_id).exists()
