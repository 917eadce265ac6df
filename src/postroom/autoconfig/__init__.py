"""Provider presets and the autodiscovery chain."""
