"""Helpers shared by attachd's commands."""
