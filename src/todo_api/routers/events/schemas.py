"""The wire models of the event routes."""

from __future__ import annotations

from pydantic import BaseModel, Field


class TicketResponse(BaseModel):
    ticket: str = Field(
        description="pass as `?ticket=` to GET /events, once, within `expires_in` seconds",
        examples=["kq3ZlWm1Xyx8oZ0m1Gmlv6nKq0m8p7rWv0q9R0xq1Zs"],
    )
    expires_in: int = Field(description="seconds the ticket stays valid", examples=[60])
