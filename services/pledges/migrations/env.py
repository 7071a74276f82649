"""Alembic environment: see shared/migrations.py."""

from shared.migrations import run_env

run_env()
