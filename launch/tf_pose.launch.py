"""Start the pose_estimator node.

    ros2 launch tf_pose_ros tf_pose.launch.py
    ros2 launch tf_pose_ros tf_pose.launch.py image_topic:=/camera/image_raw device:=gpu
    ros2 launch tf_pose_ros tf_pose.launch.py model:=cmu resolution:=656x368 namespace:=robot1
    ros2 launch tf_pose_ros tf_pose.launch.py backend:=openvino precision:=bf16
    ros2 launch tf_pose_ros tf_pose.launch.py preset:=fast
    ros2 launch tf_pose_ros tf_pose.launch.py image_topic:=/camera/camera/color/image_raw \
        depth_topic:=/camera/camera/aligned_depth_to_color/image_raw
    ros2 launch tf_pose_ros tf_pose.launch.py lifecycle:=true autostart:=false
    ros2 launch tf_pose_ros tf_pose.launch.py image_topics:="['/front/image_raw', '/back/image_raw']"
    ros2 launch tf_pose_ros tf_pose.launch.py hri_output:=true smoothing:=none qos_reliability:=reliable

The node reads config/tf_pose.yaml (or params_file) first; the launch arguments below override the
parameters of the same name, with the same defaults and choices (test/test_launch.py checks them
against the node's declarations). It publishes ~/persons (tf_pose_ros/Persons), ~/image_annotated,
~/markers and /diagnostics. With lifecycle:=true the managed variant runs (pose_estimator_lifecycle);
autostart:=true (the default) then configures and activates it at launch, autostart:=false leaves
it unconfigured for a lifecycle manager.
"""

from typing import List

from launch.actions import DeclareLaunchArgument, EmitEvent, RegisterEventHandler
from launch.conditions import IfCondition, UnlessCondition
from launch.events import matches_action
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution, PythonExpression
from launch_ros.actions import LifecycleNode, Node
from launch_ros.event_handlers import OnStateTransition
from launch_ros.events.lifecycle import ChangeState
from launch_ros.parameter_descriptions import ParameterValue
from launch_ros.substitutions import FindPackageShare
from lifecycle_msgs.msg import Transition

from launch import LaunchDescription


def generate_launch_description() -> LaunchDescription:
    """Launch arguments, then the node with the parameter file and the overrides from the arguments."""
    arguments = [
        DeclareLaunchArgument(
            'model', default_value='mobilenet_thin',
            description='pose network: cmu, mobilenet_thin, mobilenet_v2_large, mobilenet_v2_small, ...'),
        DeclareLaunchArgument(
            'resolution', default_value='432x368',
            description="network input WIDTHxHEIGHT (multiples of 16); '' = the model's default"),
        DeclareLaunchArgument(
            'image_topic', default_value='image_raw',
            description='input sensor_msgs/Image topic, relative names resolve in the namespace'),
        DeclareLaunchArgument(
            'device', default_value='auto', description="'auto', 'cpu', 'gpu' or 'gpu:N'"),
        DeclareLaunchArgument(
            'backend', default_value='auto', choices=['auto', 'tensorflow', 'openvino', 'litert', 'torch'],
            description="inference engine; 'auto' takes the fastest measured to give TensorFlow's poses"),
        DeclareLaunchArgument(
            'precision', default_value='', choices=['', 'fp32', 'bf16', 'fp16'],
            description="network precision (bf16/fp16 where the engine and CPU support them); '' = the preset's "
                        "(set here, it runs the preset's fp32 scales)"),
        DeclareLaunchArgument(
            'preset', default_value='default', choices=['fast', 'default', 'accurate'],
            description='speed/accuracy trade-off (precision, scales, flip where not set; docs/accuracy-presets.md)'),
        DeclareLaunchArgument(
            'decoder', default_value='refined', choices=['refined', 'original'],
            description="post-processing: 'refined' (sub-pixel, more accurate) or 'original' (tf-pose-estimation's)"),
        DeclareLaunchArgument(
            'image_topics', default_value='[]',
            description="several cameras in one node: a list of image topics, 'topic' or 'name=topic'; "
                        '[] = the one camera of image_topic'),
        DeclareLaunchArgument(
            'qos_reliability', default_value='auto', choices=['auto', 'reliable', 'best_effort'],
            description="input QoS; 'auto' matches any publisher and takes reliable when all publishers are"),
        DeclareLaunchArgument(
            'use_compressed', default_value='false', choices=['true', 'false'],
            description='subscribe to sensor_msgs/CompressedImage (<topic>/compressed) instead of Image'),
        DeclareLaunchArgument(
            'smoothing', default_value='one_euro', choices=['none', 'one_euro'],
            description="temporal filtering of each track's keypoints"),
        DeclareLaunchArgument(
            'hri_output', default_value='false', choices=['true', 'false'],
            description='publish REP-155 (ROS4HRI) bodies on /humans/bodies (needs hri_msgs)'),
        DeclareLaunchArgument(
            'anonymize', default_value='false', choices=['true', 'false'],
            description='publish ~/image_anonymized: the input with every face blurred (docs/privacy.md)'),
        DeclareLaunchArgument(
            'depth_topic', default_value='',
            description="depth image registered to the colour image, for 3D keypoints; '' = no 3D"),
        DeclareLaunchArgument(
            'lifecycle', default_value='false', choices=['true', 'false'],
            description='run the lifecycle (managed) variant, pose_estimator_lifecycle'),
        DeclareLaunchArgument(
            'autostart', default_value='true', choices=['true', 'false'],
            description='with lifecycle:=true, configure and activate the node at launch'),
        DeclareLaunchArgument(
            'params_file',
            default_value=PathJoinSubstitution([FindPackageShare('tf_pose_ros'), 'config', 'tf_pose.yaml']),
            description='YAML file with the other pose_estimator parameters'),
        DeclareLaunchArgument(
            'namespace', default_value='', description='namespace of the node and its topics'),
        DeclareLaunchArgument(
            'use_sim_time', default_value='false', choices=['true', 'false'],
            description='use the /clock topic (simulation, bag playback) as the node clock'),
    ]
    # Typed values: a launch argument is text, and '' or 'gpu:0' must not be read as YAML.
    overrides = {
        'model': ParameterValue(LaunchConfiguration('model'), value_type=str),
        'resolution': ParameterValue(LaunchConfiguration('resolution'), value_type=str),
        'image_topic': ParameterValue(LaunchConfiguration('image_topic'), value_type=str),
        'device': ParameterValue(LaunchConfiguration('device'), value_type=str),
        'backend': ParameterValue(LaunchConfiguration('backend'), value_type=str),
        'precision': ParameterValue(LaunchConfiguration('precision'), value_type=str),
        'preset': ParameterValue(LaunchConfiguration('preset'), value_type=str),
        'decoder': ParameterValue(LaunchConfiguration('decoder'), value_type=str),
        'depth_topic': ParameterValue(LaunchConfiguration('depth_topic'), value_type=str),
        # Written to a parameter file by launch_ros: an empty list there leaves the parameter at its default.
        'image_topics': ParameterValue(LaunchConfiguration('image_topics'), value_type=List[str]),
        'qos_reliability': ParameterValue(LaunchConfiguration('qos_reliability'), value_type=str),
        'use_compressed': ParameterValue(LaunchConfiguration('use_compressed'), value_type=bool),
        'smoothing': ParameterValue(LaunchConfiguration('smoothing'), value_type=str),
        'hri_output': ParameterValue(LaunchConfiguration('hri_output'), value_type=bool),
        'anonymize': ParameterValue(LaunchConfiguration('anonymize'), value_type=bool),
        'use_sim_time': ParameterValue(LaunchConfiguration('use_sim_time'), value_type=bool),
    }
    common = dict(package='tf_pose_ros', name='pose_estimator', namespace=LaunchConfiguration('namespace'),
                  parameters=[LaunchConfiguration('params_file'), overrides], output='screen', emulate_tty=True)
    lifecycle = LaunchConfiguration('lifecycle')
    pose_estimator = Node(executable='pose_estimator', condition=UnlessCondition(lifecycle), **common)
    managed = LifecycleNode(executable='pose_estimator_lifecycle', condition=IfCondition(lifecycle), **common)
    autostart = IfCondition(PythonExpression(
        ["'", lifecycle, "' == 'true' and '", LaunchConfiguration('autostart'), "' == 'true'"]))
    # configure once the process is up; activate when configure has reached 'inactive'.
    configure = EmitEvent(event=ChangeState(lifecycle_node_matcher=matches_action(managed),
                                            transition_id=Transition.TRANSITION_CONFIGURE), condition=autostart)
    activate = RegisterEventHandler(OnStateTransition(
        target_lifecycle_node=managed, start_state='configuring', goal_state='inactive',
        entities=[EmitEvent(event=ChangeState(lifecycle_node_matcher=matches_action(managed),
                                              transition_id=Transition.TRANSITION_ACTIVATE))]),
        condition=autostart)
    return LaunchDescription(arguments + [pose_estimator, managed, activate, configure])
