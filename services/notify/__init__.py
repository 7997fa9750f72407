"""The notify service: Notifications to residents and staff: channels, retries, acknowledgement and escalation."""
