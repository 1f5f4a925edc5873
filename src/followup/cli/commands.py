"""Registers every command group on the root app (one import line per group)."""
