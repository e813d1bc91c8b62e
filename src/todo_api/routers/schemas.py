"""What every wire model is built on. The domain's own rule functions validate the fields
too, so that one 400 names every broken field at once, type errors and rule breaks
together; the limits in the OpenAPI document come from the domain's constants."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field


def rule(problem: Callable[[Any], str | None]) -> AfterValidator:
    def check(value: Any) -> Any:
        if (message := problem(value)) is not None:
            raise ValueError(message)
        return value

    return AfterValidator(check)


class WireRequest(BaseModel):
    # strict: "true" is not a boolean and 1 is not a title; forbid: typos are errors.
    model_config = ConfigDict(extra="forbid", strict=True)


def documented(**schema: Any) -> Any:
    return Field(json_schema_extra=schema)


class View(BaseModel):
    """A response that shows a core dataclass field for field, read off its attributes."""

    model_config = ConfigDict(from_attributes=True)

    @classmethod
    def of(cls, entity: object) -> Self:
        return cls.model_validate(entity)
