"""Notifications to operators: fills, halts and alerts to a webhook and to Telegram (notify.sender)."""
