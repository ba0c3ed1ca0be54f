"""Sphinx configuration of attachd's documentation."""

project = 'attachd'
copyright = '2026, attachd developers'
extensions = [
    'oslo_config.sphinxext',
    'oslo_config.sphinxconfiggen',
    'oslo_policy.sphinxext',
    'oslo_policy.sphinxpolicygen',
]
config_generator_config_file = '../../etc/attachd/attachd-config-generator.conf'
sample_config_basename = '_static/attachd'
policy_generator_config_file = '../../etc/attachd/attachd-policy-generator.conf'
sample_policy_basename = '_static/attachd'
html_static_path = ['_static']
exclude_patterns = []
master_doc = 'index'
html_theme = 'alabaster'
