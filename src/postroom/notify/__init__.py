"""Client notification channels: SMS, Web Push, in-app."""
