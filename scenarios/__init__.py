"""Scenario files (TOML) shipped with the twin; see ``twin.scenario`` for their schema."""
