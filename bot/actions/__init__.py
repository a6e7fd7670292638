"""Rasa custom actions for Comptoir (rasa-sdk), served by Rasa's action server.

Started from the repository root: ``rasa run actions --actions bot.actions``; the server
imports every module here and registers their actions. They reach Comptoir only through
``comptoir_client`` (COMPTOIR_URL, COMPTOIR_API_TOKEN), and import nothing else of
Comptoir: the action server runs in Rasa's own environment. See bot/rasa/README.md.
"""
