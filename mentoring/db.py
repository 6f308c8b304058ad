"""Database pieces that only PostgreSQL has. Dev on SQLite still migrates; the rules live in Python there."""

from __future__ import annotations

from django.db import migrations


class AddConstraintOnPostgres(migrations.AddConstraint):
    """AddConstraint for constraints SQLite cannot express (exclusion constraints).

    The migration state always has the constraint; the database gets it only on PostgreSQL.
    """

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)
