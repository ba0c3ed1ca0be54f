"""Handlers: one module per resource, one short function per method."""
