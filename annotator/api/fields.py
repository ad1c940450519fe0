"""Field types that refuse what should never be stored: control characters, bidi overrides, huge strings."""
from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

from tasks.validation import FORBIDDEN_IN_FIELD, FORBIDDEN_IN_FIELD_TEXT


class SafeString(fields.String):
    """A string with a length range and no control or bidi-override characters; trimmed."""

    def __init__(self, *, max_length: int, min_length: int = 1, multiline: bool = False,
                 strip: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.max_length, self.min_length = max_length, min_length
        self.multiline, self.strip = multiline, strip

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        bad = (FORBIDDEN_IN_FIELD_TEXT if self.multiline else FORBIDDEN_IN_FIELD).search(text)
        if bad:
            raise ValidationError(f"Contains a forbidden character U+{ord(bad.group()):04X}.")
        if self.strip:
            text = text.strip()
        if len(text) < self.min_length:
            raise ValidationError("Must not be empty." if self.min_length == 1
                                  else f"Use at least {self.min_length} characters.")
        if len(text) > self.max_length:
            raise ValidationError(f"Use at most {self.max_length} characters.")
        return text


class EmailAddress(fields.Email):
    """An email address, trimmed and lower-cased before it is validated."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(validate=validate.Length(max=254), **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        return super()._deserialize(value, attr, data, **kwargs).strip().lower()


class Password(SafeString):
    """Any characters but controls; not trimmed. Capped so hashing cannot be made a DoS."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_length=1024, strip=False, **kwargs)


class In(Schema):
    """Base for request bodies: unknown fields are an error, never silently dropped."""

    class Meta:
        unknown = "raise"


class PageQuery(In):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=10_000_000))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))


class StrictInteger(fields.Integer):
    """An integer that is really one: no floats, strings or booleans (True is not 1 here)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(strict=True, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if isinstance(value, bool):
            raise ValidationError("Not a valid integer.")
        return super()._deserialize(value, attr, data, **kwargs)


class Money(StrictInteger):
    """An amount in integer minor units (fen, cents); never a float."""

    def __init__(self, *, minimum: int = 0, maximum: int = 10**12, **kwargs: Any) -> None:
        super().__init__(validate=validate.Range(min=minimum, max=maximum), **kwargs)


class Ratio(fields.Float):
    """A finite number in a range; booleans refused."""

    def __init__(self, *, minimum: float, maximum: float, **kwargs: Any) -> None:
        super().__init__(allow_nan=False, validate=validate.Range(min=minimum, max=maximum), **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> float:
        if isinstance(value, (bool, str)):
            raise ValidationError("Not a valid number.")
        return super()._deserialize(value, attr, data, **kwargs)


class WholeNested(fields.Nested):
    """A nested object whose required fields stay required even in a partial load (a PATCH): an item of a list
    replaces the stored one whole, so it cannot be patched piecemeal."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, partial: Any = None, **kwargs: Any) -> Any:
        return super()._deserialize(value, attr, data, partial=False, **kwargs)
