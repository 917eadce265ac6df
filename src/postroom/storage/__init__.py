"""Storage adapters: file bytes kept under the data directory."""
