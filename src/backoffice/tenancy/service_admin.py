"""
Django admin pages whose writes go through the services.

Operators' edits in the Django admin are writes like any other: a service
validates them and records an audit event with the operator as actor. A
``ServiceModelAdmin`` says which service saves and deletes its rows;
this base runs it

* in the form's ``clean``, inside a savepoint that is always rolled back, so
  that a rule the service enforces shows as a form error (nothing written);
* in ``save_model`` / ``delete_model`` / ``delete_queryset`` for real.

Services get the stored row (``original``), never the instance the admin form
has already changed, so their "before" in the audit trail is right.
"""

import uuid
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ImproperlyConfigured, PermissionDenied, ValidationError
from django.db import models, transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponseRedirect

from backoffice.tenancy.models import User


class _DryRun(Exception):
    """Raised to roll back the savepoint of a service run that only validates."""


def show_service_errors(form: forms.BaseForm, error: ValidationError) -> None:
    """Errors keyed by a field of ``form`` go next to it, the rest at the top."""
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error.messages)


def stored(obj: models.Model) -> models.Model:
    """The row as the database has it, not as the admin form changed it."""
    return type(obj)._base_manager.get(pk=obj.pk)


class ServiceModelAdmin(admin.ModelAdmin):
    """
    Base of an admin whose rows the services write: implement ``service_save``
    and, if rows may be deleted, ``service_delete``.
    """

    def service_save(self, *, acting_user: User, original: Any, data: dict[str, Any]) -> models.Model:
        """Create (``original`` is None) or change ``original`` from the form's cleaned ``data``; return the row."""
        raise ImproperlyConfigured(f"{type(self).__name__} must define service_save: a service writes its rows.")

    def service_delete(self, *, acting_user: User, obj: Any, batch_id: uuid.UUID | None = None) -> None:
        """Delete ``obj``; ``batch_id`` is shared by the rows of one "Delete selected" action."""
        raise PermissionDenied("These rows are not deleted here.")

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        base = super().get_form(request, obj, change=change, **kwargs)
        model_admin = self

        class ServiceForm(base):  # type: ignore[valid-type,misc]
            def clean(self) -> dict[str, Any]:
                cleaned = super().clean() or {}
                if self.errors:
                    return cleaned  # the service would only repeat them
                original = stored(self.instance) if self.instance.pk is not None else None
                try:
                    with transaction.atomic():
                        model_admin.service_save(
                            acting_user=request.user,  # type: ignore[arg-type]
                            original=original,
                            data=cleaned,
                        )
                        raise _DryRun
                except _DryRun:
                    pass
                except ValidationError as error:
                    show_service_errors(self, error)
                return cleaned

        ServiceForm.__name__ = base.__name__
        return ServiceForm

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: Any) -> None:
        # Validated in the form's clean just before; a rule broken in between (a race) is an error page.
        saved = self.service_save(
            acting_user=request.user,  # type: ignore[arg-type]
            original=stored(obj) if change else None,
            data=form.cleaned_data,
        )
        # The admin goes on with ``obj`` (its log entry, the redirect): make it the saved row.
        obj.pk = saved.pk
        obj._state.adding = False
        obj._state.db = saved._state.db
        obj.refresh_from_db()

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        self.service_delete(acting_user=request.user, obj=obj)  # type: ignore[arg-type]

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        batch_id = uuid.uuid4()  # one bulk action: its audit events share the batch
        for obj in queryset:
            self.service_delete(acting_user=request.user, obj=obj, batch_id=batch_id)  # type: ignore[arg-type]

    def delete_view(self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None) -> Any:
        # A refusal of the service rolls the deletion back and shows as a message.
        try:
            return super().delete_view(request, object_id, extra_context)
        except ValidationError as error:
            self.message_user(request, " ".join(error.messages), messages.ERROR)
            return HttpResponseRedirect(request.path.removesuffix("delete/") + "change/")

    def response_action(self, request: HttpRequest, queryset: QuerySet[Any], *args: Any, **kwargs: Any) -> Any:
        # "Delete selected" logs before it deletes: one transaction, so a refusal leaves nothing behind.
        try:
            with transaction.atomic():
                return super().response_action(request, queryset, *args, **kwargs)
        except ValidationError as error:
            self.message_user(request, " ".join(error.messages), messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())
