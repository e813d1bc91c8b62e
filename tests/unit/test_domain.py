"""The rules of src/todo_core/domain.py, at their boundaries."""

from __future__ import annotations

import uuid

import pytest

from tests.contracts.builders import make_task, make_user
from todo_core.domain import (
    EMAIL_MAX_LENGTH,
    check_registration,
    email_problem,
    normalize_email,
    password_problem,
    stored_email,
)
from todo_core.errors import FieldError, ValidationError
from todo_core.listing import (
    PAGE_LIMIT_MAX,
    TaskQuery,
    TaskSort,
    check_page,
)
from todo_core.task_rules import (
    DESCRIPTION_MAX_LENGTH,
    TITLE_MAX_LENGTH,
    UNSET,
    NewTask,
    TaskPatch,
    check_new_task,
    check_patch,
    description_problem,
    title_problem,
)


def fields_of(exc: pytest.ExceptionInfo[ValidationError]) -> list[str]:
    return [e.field for e in exc.value.errors]


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("ada@example.com", "ada@example.com"),
        ("  Ada.Lovelace@Example.COM \n", "ada.lovelace@example.com"),
        ("a+tag@sub.example.co.uk", "a+tag@sub.example.co.uk"),
    ],
)
def test_email_is_trimmed_and_lower_cased(raw: str, normalized: str) -> None:
    assert normalize_email(raw) == normalized


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("", "must not be empty"),
        ("   ", "must not be empty"),
        ("ada", "must be a valid email address"),
        ("ada@example", "must be a valid email address"),
        ("ada@@example.com", "must be a valid email address"),
        ("a da@example.com", "must be a valid email address"),
        ("ada@example.", "must be a valid email address"),
        ("ada\x01@example.com", "must be a valid email address"),
        ("a" * (EMAIL_MAX_LENGTH - 11) + "@example.com", "must be at most 254 characters"),
    ],
)
def test_invalid_email(raw: str, message: str) -> None:
    with pytest.raises(ValidationError) as exc:
        normalize_email(raw)
    assert exc.value.errors == [FieldError("email", message)]


def test_email_of_maximum_length_is_accepted() -> None:
    email = "a" * 180 + "@" + "b" * 63 + "." + "d" * 5 + ".com"
    assert len(email) == EMAIL_MAX_LENGTH
    assert normalize_email(email) == email


NOT_ASCII = "must be an email address in ASCII characters"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("\uff43arol@example.com", NOT_ASCII),  # full-width c
        ("carol@example.com\u200b", NOT_ASCII),  # zero-width space
        ("carol\u200d@example.com", NOT_ASCII),
        ("j\u00f6rg@example.com", NOT_ASCII),
        ("carol@b\u00fccher.de", NOT_ASCII),
        ("a..b@example.com", "must be a valid email address"),
        (".ab@example.com", "must be a valid email address"),
        ("ab.@example.com", "must be a valid email address"),
        ("ab@-example.com", "must be a valid email address"),
        ("ab@example-.com", "must be a valid email address"),
        ("ab@exa_mple.com", "must be a valid email address"),
        ('"a b"@example.com', "must be a valid email address"),
    ],
)
def test_an_email_is_an_ascii_addr_spec(raw: str, message: str) -> None:
    """Issue 23: look-alike and invisible characters made second accounts."""
    problem = email_problem(raw)
    assert problem is not None
    assert problem.startswith(message)


@pytest.mark.parametrize(
    "raw", ["\uff43arol@example.com", "J\u00f6rg@Example.com", "a..b@example.com"]
)
def test_an_email_stored_under_the_earlier_rule_can_still_be_looked_up(raw: str) -> None:
    assert email_problem(raw) is not None
    assert stored_email(raw) == raw.lower()


@pytest.mark.parametrize("raw", ["ada", "ada@example", "a b@example.com", "a\x01@example.com"])
def test_what_was_never_an_email_is_not_looked_up(raw: str) -> None:
    assert stored_email(raw) is None


@pytest.mark.parametrize(
    "password",
    ["12345678", "x" * 72, "é" * 36, "密码" * 12, "🔑" * 18],
    ids=["8-ascii", "72-ascii", "72-bytes-2-byte-chars", "72-bytes-3-byte-chars", "72-emoji"],
)
def test_password_of_8_to_72_utf8_bytes_is_accepted(password: str) -> None:
    assert password_problem(password) is None


@pytest.mark.parametrize(
    ("password", "fragment"),
    [
        ("1234567", "at least 8 bytes"),
        ("", "at least 8 bytes"),
        ("x" * 73, "at most 72 bytes"),
        ("é" * 36 + "x", "at most 72 bytes"),
        ("🔑" * 19, "at most 72 bytes"),
        ("pass\x00word", "NUL"),
        ("password\ud800", "unpaired surrogates"),
    ],
)
def test_password_out_of_bounds(password: str, fragment: str) -> None:
    problem = password_problem(password)
    assert problem is not None
    assert fragment in problem


def test_registration_reports_both_fields_at_once() -> None:
    with pytest.raises(ValidationError) as exc:
        check_registration("not-an-email", "short")
    assert fields_of(exc) == ["email", "password"]
    assert "email" in str(exc.value)
    assert "password" in str(exc.value)


def test_registration_returns_the_normalized_email() -> None:
    assert check_registration(" Ada@Example.com", "long enough") == "ada@example.com"


def test_new_task_title_is_trimmed_and_text_kept_verbatim() -> None:
    new = check_new_task(NewTask("  <b>Buy</b> milk\u00a0", "  <script>\r\n\t", True))
    assert (new.title, new.description, new.is_completed) == (
        "<b>Buy</b> milk",
        "  <script>\r\n\t",
        True,
    )


@pytest.mark.parametrize("title", ["x", "x" * TITLE_MAX_LENGTH, " " + "x" * TITLE_MAX_LENGTH + " "])
def test_title_of_1_to_255_characters_after_trim(title: str) -> None:
    assert check_new_task(NewTask(title, None, False)).title == title.strip()


@pytest.mark.parametrize(
    ("title", "message"),
    [
        ("", "must not be empty"),
        (" \t\n ", "must not be empty"),
        ("x" * (TITLE_MAX_LENGTH + 1), "must be at most 255 characters"),
        ("a\tb", "must not contain control characters"),
        ("a\nb", "must not contain control characters"),
        ("a\x00b", "must not contain control characters"),
        ("a\x7fb", "must not contain control characters"),
    ],
)
def test_invalid_title(title: str, message: str) -> None:
    with pytest.raises(ValidationError) as exc:
        check_new_task(NewTask(title, None, False))
    assert exc.value.errors == [FieldError("title", message)]


@pytest.mark.parametrize(
    "description", [None, "", "x" * DESCRIPTION_MAX_LENGTH, "line\nline\r\n\tindented"]
)
def test_valid_description(description: str | None) -> None:
    assert check_new_task(NewTask("t", description, False)).description == description


@pytest.mark.parametrize(
    "description", ["x" * (DESCRIPTION_MAX_LENGTH + 1), "a\x00b", "a\x0bb", "a\x1bb", "a\x7f"]
)
def test_invalid_description(description: str) -> None:
    with pytest.raises(ValidationError) as exc:
        check_new_task(NewTask("t", description, False))
    assert fields_of(exc) == ["description"]


def test_new_task_reports_title_and_description_together() -> None:
    with pytest.raises(ValidationError) as exc:
        check_new_task(NewTask(" ", "x" * (DESCRIPTION_MAX_LENGTH + 1), False))
    assert fields_of(exc) == ["title", "description"]


def test_empty_patch_is_rejected() -> None:
    assert TaskPatch().is_empty()
    with pytest.raises(ValidationError) as exc:
        check_patch(TaskPatch())
    assert fields_of(exc) == ["body"]


@pytest.mark.parametrize(
    "patch",
    [TaskPatch(description=None), TaskPatch(is_completed=False), TaskPatch(title="t")],
)
def test_any_single_field_makes_a_patch(patch: TaskPatch) -> None:
    assert not patch.is_empty()
    assert check_patch(patch) == patch


def test_patch_title_is_trimmed_and_other_fields_kept() -> None:
    patch = check_patch(TaskPatch(title="  new  ", description=None))
    assert patch == TaskPatch(title="new", description=None, is_completed=UNSET)


def test_patch_reports_every_bad_field() -> None:
    with pytest.raises(ValidationError) as exc:
        check_patch(TaskPatch(title="\t", description="bell\x07"))
    assert fields_of(exc) == ["title", "description"]


@pytest.mark.parametrize(("limit", "offset"), [(1, 0), (PAGE_LIMIT_MAX, 0), (50, 10_000)])
def test_page_bounds_accepted(limit: int, offset: int) -> None:
    check_page(TaskQuery(limit=limit, offset=offset))


@pytest.mark.parametrize(
    ("limit", "offset", "fields"),
    [
        (0, 0, ["limit"]),
        (PAGE_LIMIT_MAX + 1, 0, ["limit"]),
        (1, -1, ["offset"]),
        (-5, -1, ["limit", "offset"]),
    ],
)
def test_page_out_of_bounds(limit: int, offset: int, fields: list[str]) -> None:
    with pytest.raises(ValidationError) as exc:
        check_page(TaskQuery(limit=limit, offset=offset))
    assert fields_of(exc) == fields


@pytest.mark.parametrize(
    ("sort", "column", "descending"),
    [
        (TaskSort("created_at"), "created_at", False),
        (TaskSort("-created_at"), "created_at", True),
        (TaskSort("updated_at"), "updated_at", False),
        (TaskSort("-updated_at"), "updated_at", True),
    ],
)
def test_sort_values(sort: TaskSort, column: str, descending: bool) -> None:
    assert (sort.column, sort.descending) == (column, descending)


def test_task_ownership() -> None:
    owner = make_user()
    task = make_task(owner)
    assert task.is_owned_by(owner.id)
    assert not task.is_owned_by(uuid.uuid4())


@pytest.mark.parametrize("text", ["a\x9bb", "a\x85b"])
def test_c1_control_characters_are_rejected(text: str) -> None:
    with pytest.raises(ValidationError) as title_exc:
        check_new_task(NewTask(text, None, False))
    with pytest.raises(ValidationError) as description_exc:
        check_new_task(NewTask("t", text, False))
    assert fields_of(title_exc) + fields_of(description_exc) == ["title", "description"]


@pytest.mark.parametrize("text", ["\ud800", "ok \udfff ok"])
def test_unpaired_surrogates_are_no_text(text: str) -> None:
    assert title_problem(text) is not None
    assert description_problem(text) is not None
    assert email_problem(f"a{text}@example.com") is not None
