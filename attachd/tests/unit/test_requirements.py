"""Every third-party package attachd's code imports is declared: in requirements.txt, or
for the benchmark (attachd.bench, attachd-bench) in the ``bench`` extra of setup.cfg."""

import ast
import configparser
from importlib import metadata
import os
import re
import sys

from attachd.tests import base

PACKAGE = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SOURCE = os.path.dirname(PACKAGE)
BENCH_MODULES = (os.path.join(PACKAGE, 'bench') + os.sep, os.path.join(PACKAGE, 'cmd',
                                                                      'bench.py'))


def canonical(name):
    return re.sub(r'[-_.]+', '-', name).lower()


def requirement_names(lines):
    names = set()
    for line in lines:
        line = line.split('#')[0].strip()
        if line:
            names.add(canonical(re.match(r'[A-Za-z0-9._-]+', line).group(0)))
    return names


def runtime_requirements():
    with open(os.path.join(SOURCE, 'requirements.txt')) as f:
        return requirement_names(f)


def extras():
    parser = configparser.ConfigParser()
    parser.read(os.path.join(SOURCE, 'setup.cfg'))
    return {name: requirement_names(value.splitlines())
            for name, value in parser['extras'].items()}


def imported_modules():
    """``{top-level module: [files importing it]}`` for attachd/ without its tests."""
    found = {}
    for directory, dirs, files in os.walk(PACKAGE):
        dirs[:] = [d for d in dirs if d not in ('tests', '__pycache__')]
        for name in files:
            if not name.endswith('.py'):
                continue
            path = os.path.join(directory, name)
            with open(path) as f:
                tree = ast.parse(f.read(), path)
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    modules = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0:
                    modules = [node.module]
                else:
                    continue
                for module in modules:
                    found.setdefault(module.split('.')[0], []).append(path)
    return found


def third_party(modules):
    return {name: paths for name, paths in modules.items()
            if name not in sys.stdlib_module_names and name != 'attachd'}


class RequirementsTest(base.TestCase):

    def test_every_imported_package_is_declared(self):
        distributions = metadata.packages_distributions()
        runtime = runtime_requirements()
        bench = extras()['bench']
        missing = []
        for module, paths in sorted(third_party(imported_modules()).items()):
            provided_by = {canonical(d) for d in distributions.get(module, ())}
            self.assertTrue(provided_by, '%s (imported by %s) is not installed'
                            % (module, paths[0]))
            bench_only = all(p.startswith(BENCH_MODULES[0]) or p == BENCH_MODULES[1]
                             for p in paths)
            declared = runtime | bench if bench_only else runtime
            if not provided_by & declared:
                missing.append('%s (%s, imported by %s)' % (
                    module, ', '.join(sorted(provided_by)),
                    os.path.relpath(paths[0], SOURCE)))
        self.assertEqual([], missing)

    def test_the_check_sees_attachds_imports(self):
        # A check that found nothing would pass whatever the requirements say.
        modules = third_party(imported_modules())
        for module in ('oslo_db', 'sqlalchemy', 'gunicorn', 'kombu', 'oslo_concurrency'):
            self.assertIn(module, modules)
        self.assertNotIn('os', modules)
        self.assertNotIn('fixtures', modules)  # only the tests import it

    def test_database_drivers_are_extras_not_runtime(self):
        runtime = runtime_requirements()
        self.assertEqual({'psycopg2-binary'}, extras()['postgresql'])
        self.assertEqual({'pymysql'}, extras()['mysql'])
        self.assertFalse({'psycopg2-binary', 'pymysql'} & runtime)
