"""The domain: plain functions with explicit arguments. No request, session or flash here."""
