"""Hooks a deployment implements to connect Comptoir to its own systems (settings name them)."""
