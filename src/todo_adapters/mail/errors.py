"""What a mailer raises when retrying cannot help."""

from __future__ import annotations


class UndeliverableMailError(Exception):
    """The message can never be delivered as it is: the server refused its sender,
    recipient or content for good (a 5xx reply), or it cannot be encoded. Any other
    exception from a mailer is worth another try later."""
