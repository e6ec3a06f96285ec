"""launch/tf_pose.launch.py agrees with the node's parameter declarations.

launch and launch_ros are not installable in this repository's environment, so the launch file is
read with ast: its DeclareLaunchArgument calls and the parameter overrides it passes to the node.
"""

import ast
from pathlib import Path

import pytest

from tf_pose_ros.ros.node_parameters import PARAMS_BY_NAME

LAUNCH = Path(__file__).resolve().parent.parent / 'launch' / 'tf_pose.launch.py'
#: Launch arguments that are not node parameters.
LAUNCH_ONLY = {'lifecycle', 'autostart', 'params_file', 'namespace', 'use_sim_time'}
#: What a deployment sets per robot: each must be a launch argument.
PER_DEPLOYMENT = ('image_topic', 'image_topics', 'qos_reliability', 'use_compressed', 'hri_output', 'smoothing',
                  'preset', 'model', 'device', 'depth_topic', 'anonymize')


def declared_arguments():
    """name -> {'default': text or None, 'choices': list or None} of every DeclareLaunchArgument."""
    found = {}
    for node in ast.walk(ast.parse(LAUNCH.read_text())):
        if isinstance(node, ast.Call) and getattr(node.func, 'id', '') == 'DeclareLaunchArgument':
            name = ast.literal_eval(node.args[0])
            keywords = {k.arg: k.value for k in node.keywords}
            default = keywords.get('default_value')
            found[name] = {
                'default': ast.literal_eval(default) if isinstance(default, ast.Constant) else None,
                'choices': ast.literal_eval(keywords['choices']) if 'choices' in keywords else None}
    return found


def overrides():
    """The keys of the parameter overrides dict the launch file gives the node."""
    for node in ast.walk(ast.parse(LAUNCH.read_text())):
        if isinstance(node, ast.Assign) and getattr(node.targets[0], 'id', '') == 'overrides':
            return {ast.literal_eval(key) for key in node.value.keys}
    raise AssertionError('no overrides dict in %s' % LAUNCH)


def as_launch_text(value):
    if isinstance(value, bool):
        return 'true' if value else 'false'
    if isinstance(value, list):
        return '[%s]' % ', '.join(repr(v) for v in value)
    return str(value)


def test_every_per_deployment_parameter_is_a_launch_argument():
    arguments = declared_arguments()
    missing = [name for name in PER_DEPLOYMENT if name not in arguments]
    assert not missing, missing
    assert set(arguments) - LAUNCH_ONLY == overrides() - LAUNCH_ONLY  # each argument reaches the node


@pytest.mark.parametrize('name', sorted(set(declared_arguments()) - LAUNCH_ONLY))
def test_launch_argument_matches_the_parameter_declaration(name):
    argument, param = declared_arguments()[name], PARAMS_BY_NAME.get(name)
    assert param is not None, '%s is a launch argument but no node parameter' % name
    assert argument['default'] == as_launch_text(param.default), (name, argument['default'], param.default)
    if argument['choices'] is not None and not isinstance(param.default, bool):
        unset = {''} if param.default == '' else set()  # '' (the default) leaves it to the preset
        assert set(argument['choices']) == set(param.choices) | unset, (name, argument['choices'], param.choices)
    if name in ('qos_reliability', 'smoothing', 'backend', 'precision', 'decoder'):
        assert argument['choices'] is not None, name  # a typo fails at launch, not in the node
    elif isinstance(param.default, bool):
        assert argument['choices'] == ['true', 'false'], name


def test_the_node_guide_names_every_launch_argument():
    guide = (LAUNCH.parent.parent / 'docs' / 'ros-node.md').read_text()
    launch_paragraph = guide[guide.index('Launch files: `tf_pose.launch.py` takes'):]
    launch_paragraph = launch_paragraph[:launch_paragraph.index('\n\n')]
    missing = [name for name in declared_arguments() if '`%s`' % name not in launch_paragraph]
    assert not missing, 'docs/ros-node.md does not name the launch arguments %s' % missing
