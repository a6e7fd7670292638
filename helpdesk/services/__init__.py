"""Business rules: small typed functions taking a unit of work."""
