"""One error base for the domain: services raise these, entry points turn them into answers."""

from ninja import Schema


class LeadflowError(Exception):
    """A business rule said no. The message is safe to show to the user."""

    status_code = 409


class NotAllowed(LeadflowError):
    """The user's role does not allow this."""

    status_code = 403


class ErrorOut(Schema):
    detail: str
