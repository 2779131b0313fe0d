"""Small helpers shared by the apps' forms and views."""

from django import forms
from django.core.exceptions import BadRequest, ValidationError
from django.http import QueryDict

BIGINT_MAX = 2**63 - 1  # the largest id PostgreSQL's bigint holds


class InvalidInput(BadRequest):
    """A request value its form refused: Django answers 400 with this message as the reason
    (hub.views.bad_request), before anything is read or written with it."""


def first_error(form: forms.Form) -> str:
    """The form's first error, prefixed with the field's label: "Last seen: Enter a number."."""
    for name, errors in form.errors.items():
        if name == "__all__" or name not in form.fields:
            return errors[0]
        label = form.fields[name].label or name.replace("_", " ").capitalize()
        return f"{label}: {errors[0]}"
    return "Check the values sent."


def parse(form_class: type[forms.Form], data: QueryDict, files: object = None) -> dict:
    """Validate a request's values with a form; refuse the request (400) when they do not pass."""
    form = form_class(data, files)
    if not form.is_valid():
        raise InvalidInput(first_error(form))
    return form.cleaned_data


def id_field(**options: object) -> forms.IntegerField:
    """A database id in a query string or form: a whole number PostgreSQL can hold."""
    return forms.IntegerField(min_value=0, max_value=BIGINT_MAX, **options)


def add_service_errors(form: forms.Form, error: ValidationError) -> None:
    """Show a service's ValidationError on the form: on its field when the form has one,
    otherwise at the top of the form."""
    if hasattr(error, "error_dict"):
        for field, messages in error.message_dict.items():
            form.add_error(field if field in form.fields else None, messages)
    else:
        form.add_error(None, error.messages)
