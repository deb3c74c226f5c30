"""Scenario files (TOML) shipped with the twin; see ``twin.scenario`` for their schema."""

DEMO = "bitgreen_shuttles"  # the scenario `twin demo` runs: the main job
PARAMETER_EXAMPLE = "shuttles.fleet.on_demand.count=1,2,3"  # a sweep parameter, for messages
