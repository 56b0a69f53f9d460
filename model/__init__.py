"""The executable model: world state, world operations and profiles. Pure; no I/O."""
