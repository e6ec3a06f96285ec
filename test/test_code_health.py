"""Structure the tests can check: no import cycles between the package's modules."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / 'tf_pose_ros'


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix('').parts
    return '.'.join(parts[:-1] if parts[-1] == '__init__' else parts)


def _import_graph():
    modules = {_module_name(p): p for p in PACKAGE.rglob('*.py')}
    graph = {name: set() for name in modules}
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [node.module] + ['%s.%s' % (node.module, alias.name) for alias in node.names]
            elif isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                continue
            graph[name].update(t for t in targets if t in modules and t != name)
    return graph


def _cycle(graph):
    """One import cycle (a list of module names), or None. Function-level imports count too."""
    state = {}

    def visit(node, stack):
        state[node] = 'open'
        for target in sorted(graph[node]):
            if state.get(target) == 'open':
                return stack[stack.index(target):] + [target]
            if target not in state:
                found = visit(target, stack + [target])
                if found:
                    return found
        state[node] = 'done'
        return None

    for start in sorted(graph):
        if start not in state:
            found = visit(start, [start])
            if found:
                return found
    return None


def test_the_import_graph_has_edges():
    graph = _import_graph()
    assert 'tf_pose_ros.config' in graph['tf_pose_ros.estimator']


def test_no_import_cycles():
    cycle = _cycle(_import_graph())
    assert cycle is None, 'import cycle: ' + ' -> '.join(cycle)


#: Packages that exist only where ROS 2 is installed: the core must import without them.
ROS_ONLY = ('rclpy', 'rcl_interfaces', 'sensor_msgs', 'std_msgs', 'visualization_msgs', 'diagnostic_msgs',
            'builtin_interfaces', 'lifecycle_msgs', 'hri_msgs', 'tf_pose_ros.msg')
#: The layers allowed to import them.
ROS_LAYERS = ('tf_pose_ros.ros', 'tf_pose_ros.benchmarks')


def _imported_modules(path: Path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
        elif isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)


def test_only_the_ros_layer_and_the_benchmarks_import_ros():
    offenders = []
    for path in PACKAGE.rglob('*.py'):
        name = _module_name(path)
        if name.startswith(ROS_LAYERS):
            continue
        for module in _imported_modules(path):
            if any(module == r or module.startswith(r + '.') for r in ROS_ONLY):
                offenders.append('%s imports %s' % (name, module))
    assert not offenders, offenders


def test_the_top_level_keeps_few_modules():
    # Every other module lives in the folder of its stage of the data flow.
    top = sorted(p.name for p in PACKAGE.glob('*.py'))
    assert len(top) <= 10, top
