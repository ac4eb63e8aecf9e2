"""Stacks: one per cluster purpose plus a foundation stack for long-lived shared things."""
