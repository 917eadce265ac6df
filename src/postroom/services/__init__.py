"""Use cases, one module per area. Plain functions that get what they need passed in."""
