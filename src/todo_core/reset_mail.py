"""The password reset message, as plain text and HTML."""

from __future__ import annotations

import html
from datetime import timedelta
from urllib.parse import urlencode, urlsplit, urlunsplit

from todo_core.ports import MailMessage

SUBJECT = "Reset your password"


def reset_link(base: str, token: str) -> str:
    """`base` with `token=…` added to whatever query it already has."""
    parts = urlsplit(base)
    query = f"{parts.query}&" if parts.query else ""
    return urlunsplit(parts._replace(query=query + urlencode({"token": token})))


def reset_message(to: str, base_link: str, token: str, ttl: timedelta) -> MailMessage:
    link = reset_link(base_link, token)
    minutes = max(1, round(ttl.total_seconds() / 60))
    text = (
        "Someone asked to reset the password of your Todo account.\n\n"
        f"To choose a new password, open this link within {minutes} minutes:\n\n"
        f"{link}\n\n"
        "The link works once. If you did not ask for this, ignore this message: "
        "your password stays as it is.\n"
    )
    safe = html.escape(link, quote=True)
    body = (
        "<!doctype html><html><body>"
        "<p>Someone asked to reset the password of your Todo account.</p>"
        f'<p>To choose a new password, <a href="{safe}">open this link</a> '
        f"within {minutes} minutes:<br>{safe}</p>"
        "<p>The link works once. If you did not ask for this, ignore this message: "
        "your password stays as it is.</p>"
        "</body></html>"
    )
    return MailMessage(to=to, subject=SUBJECT, text=text, html=body)
