"""Database pieces that only PostgreSQL has. Dev on SQLite still migrates; the rules live in Python there."""

from __future__ import annotations

from django.contrib.postgres.constraints import ExclusionConstraint


class PortableExclusionConstraint(ExclusionConstraint):
    """An exclusion constraint on PostgreSQL, and nothing at all on other databases.

    SQLite (the ``make run`` default) cannot express it; there the service-level check alone
    keeps a mentor's sessions apart. Every SQL hook answers None off PostgreSQL, which Django's
    schema editor skips, including when SQLite rebuilds a table.
    """

    def constraint_sql(self, model, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return None
        return super().constraint_sql(model, schema_editor)

    def create_sql(self, model, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return None
        return super().create_sql(model, schema_editor)

    def remove_sql(self, model, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return None
        return super().remove_sql(model, schema_editor)

    def validate(self, model, instance, exclude=None, using="default"):
        from django.db import connections

        if connections[using].vendor == "postgresql":
            super().validate(model, instance, exclude=exclude, using=using)
