"""The layers' import rules, read from the source: every ``import`` statement of every module
of attachd, at module level or inside a function (where an import circle hides best).

- The HTTP API (``attachd.api``) never imports the database layer: it goes through the
  objects and :mod:`attachd.volume`.
- The database layer imports nothing above it (objects, API, manager, the state machine).
- No import circle among attachd's modules.
"""

import ast
import os

import testtools

import attachd

PACKAGE_DIR = os.path.dirname(attachd.__file__)


def _module_names():
    """``{dotted name: path}`` of attachd's modules, tests left out."""
    found = {}
    for directory, subdirs, files in os.walk(PACKAGE_DIR):
        subdirs[:] = [d for d in subdirs if d not in ('tests', '__pycache__')]
        relative = os.path.relpath(directory, os.path.dirname(PACKAGE_DIR))
        package = relative.replace(os.sep, '.')
        for name in files:
            if not name.endswith('.py'):
                continue
            module = package if name == '__init__.py' else '%s.%s' % (package, name[:-3])
            found[module] = os.path.join(directory, name)
    return found


def _imports(module, path, modules):
    """The attachd modules ``module`` imports, anywhere in its code (import statements,
    and ``__import__`` / ``importlib.import_module`` of a literal name), as
    ``{name: line}``."""
    with open(path, encoding='utf-8') as source:
        tree = ast.parse(source.read(), path)
    is_package = path.endswith('__init__.py')
    found = {}
    for node in ast.walk(tree):
        targets = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ''
            if node.level:
                parts = module.split('.')
                keep = len(parts) - node.level + (1 if is_package else 0)
                base = '.'.join(parts[:keep] + ([base] if base else []))
            for alias in node.names:
                submodule = '%s.%s' % (base, alias.name)
                # ``from package import module`` imports the module; ``from module import
                # name`` the module itself.
                targets.append(submodule if submodule in modules else base)
        elif (isinstance(node, ast.Call) and node.args
              and isinstance(node.args[0], ast.Constant)
              and isinstance(node.args[0].value, str)
              and ((isinstance(node.func, ast.Name) and node.func.id == '__import__')
                   or (isinstance(node.func, ast.Attribute)
                       and node.func.attr == 'import_module'))):
            targets = [node.args[0].value]
        for target in targets:
            # ``import a.b.c`` of a name that is not a module: its closest module.
            while target and target not in modules:
                target = target.rpartition('.')[0]
            if target and target != module:
                found.setdefault(target, node.lineno)
    return found


def import_graph():
    """``{module: {imported module: line}}`` over attachd's modules."""
    modules = _module_names()
    return {module: _imports(module, path, modules) for module, path in modules.items()}


def find_cycle(graph):
    """One import circle of ``graph`` as a list of modules (first == last), or None."""
    state = {}
    stack = []

    def visit(module):
        state[module] = 'open'
        stack.append(module)
        for imported in sorted(graph.get(module, ())):
            if state.get(imported) == 'open':
                return stack[stack.index(imported):] + [imported]
            if imported not in state:
                cycle = visit(imported)
                if cycle:
                    return cycle
        stack.pop()
        state[module] = 'done'
        return None

    for module in sorted(graph):
        if module not in state:
            cycle = visit(module)
            if cycle:
                return cycle
    return None


def _in(module, package):
    return module == package or module.startswith(package + '.')


class LayeringTest(testtools.TestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.graph = import_graph()

    def _violations(self, importer, forbidden):
        return sorted('%s:%d imports %s' % (module, line, imported)
                      for module, imports in self.graph.items() if _in(module, importer)
                      for imported, line in imports.items()
                      if any(_in(imported, package) for package in forbidden))

    def test_the_graph_sees_function_level_imports(self):
        # attachd.api.router imports its handlers at module level, and attachd.objects'
        # register_all imports each object module inside a function (``__import__``): both
        # kinds must be edges.
        self.assertIn('attachd.api.handlers.attachments', self.graph['attachd.api.router'])
        self.assertIn('attachd.objects.volume', self.graph['attachd.objects'])

    def test_api_never_imports_the_database_layer(self):
        self.assertEqual([], self._violations('attachd.api', ['attachd.db']))

    def test_database_layer_imports_nothing_above_it(self):
        self.assertEqual([], self._violations(
            'attachd.db', ['attachd.objects', 'attachd.api', 'attachd.volume',
                           'attachd.manager']))

    def test_no_import_circles(self):
        cycle = find_cycle(self.graph)
        self.assertIsNone(cycle, 'import circle: %s' % ' -> '.join(cycle or ()))


class FindCycleTest(testtools.TestCase):
    """The circle finder itself, on made-up graphs."""

    def test_finds_a_circle_through_several_modules(self):
        graph = {'a': {'b': 1}, 'b': {'c': 1}, 'c': {'a': 1}, 'd': {'a': 1}}
        self.assertEqual(['a', 'b', 'c', 'a'], find_cycle(graph))

    def test_a_diamond_is_no_circle(self):
        graph = {'a': {'b': 1, 'c': 1}, 'b': {'d': 1}, 'c': {'d': 1}, 'd': {}}
        self.assertIsNone(find_cycle(graph))
