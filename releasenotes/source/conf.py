"""Sphinx configuration of attachd's release notes (reno)."""

project = 'attachd release notes'
copyright = '2026, attachd developers'
extensions = ['reno.sphinxext']
master_doc = 'index'
html_theme = 'alabaster'
html_static_path = ['_static']
exclude_patterns = []
