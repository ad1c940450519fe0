"""Schemas shared by several resources."""
from __future__ import annotations

from marshmallow import Schema, fields


class UserOut(Schema):
    id = fields.Integer()
    email = fields.String()
    display_name = fields.String()
    is_admin = fields.Boolean()
    locale = fields.String()
    created_at = fields.AwareDateTime()


class UserBrief(Schema):
    """A user as other members of a project see them."""

    id = fields.Integer()
    email = fields.String(allow_none=True, metadata={"description": "null for an external contributor"})
    display_name = fields.String()
    external = fields.Function(lambda user: getattr(user, "kind", "person") == "external", metadata={
        "description": "a contributor known only by the pseudonym an imported file of answers gave them"})
