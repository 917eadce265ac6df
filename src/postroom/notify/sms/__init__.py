"""SMS: segment counting, phone numbers, and one adapter per provider HTTP API."""
