"""The error table: every error the core defines becomes a status, and a subclass without a
row of its own takes its nearest ancestor's."""

from __future__ import annotations

import inspect
from http import HTTPStatus

import pytest

from todo_api.http.error_table import RULES, rule_for
from todo_core import errors as domain

DEFINED = [
    kind
    for _, kind in inspect.getmembers(domain, inspect.isclass)
    if issubclass(kind, domain.DomainError) and kind is not domain.DomainError
]


@pytest.mark.parametrize("kind", DEFINED, ids=lambda k: k.__name__)
def test_every_error_of_the_core_has_a_rule(kind: type[domain.DomainError]) -> None:
    assert isinstance(rule_for(kind).status, HTTPStatus)


def test_a_subclass_takes_its_nearest_ancestor_s_rule() -> None:
    class LaterTokenError(domain.RefreshTokenReuseError):
        pass

    assert rule_for(LaterTokenError) is RULES[domain.RefreshTokenReuseError]
    assert rule_for(domain.InvalidResetTokenError) is RULES[domain.ValidationError]


def test_an_error_outside_the_tree_has_no_rule() -> None:
    class Unmapped(domain.DomainError):
        pass

    with pytest.raises(LookupError, match="Unmapped"):
        rule_for(Unmapped)
