"""Data and model drift: the week against the champion's training reference."""
