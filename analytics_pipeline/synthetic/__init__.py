"""Realistic, labelled synthetic logs: traffic, incidents, message templates, seeding."""
