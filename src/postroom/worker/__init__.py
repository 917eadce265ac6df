"""The background loop: periodic housekeeping now; outbox, fetches and reminders join it later."""
