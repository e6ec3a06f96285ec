"""The pose pipeline without a camera: image_source plays a built-in clip into pose_estimator.

    ros2 launch tf_pose_ros demo.launch.py
    ros2 launch tf_pose_ros demo.launch.py rviz:=true
    ros2 launch tf_pose_ros demo.launch.py source:=/path/to/video.mp4 rate:=15.0 model:=cmu

Every argument of tf_pose.launch.py (model, resolution, device, params_file, ...) works here too.
Watch the output with `ros2 topic echo /pose_estimator/persons`, or rviz:=true for the annotated images.
"""

from launch.actions import DeclareLaunchArgument, IncludeLaunchDescription
from launch.conditions import IfCondition
from launch.launch_description_sources import PythonLaunchDescriptionSource
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.parameter_descriptions import ParameterValue
from launch_ros.substitutions import FindPackageShare

from launch import LaunchDescription


def generate_launch_description() -> LaunchDescription:
    """The image source, the included pose launch file, and RViz on request."""
    namespace = LaunchConfiguration('namespace')
    arguments = [
        DeclareLaunchArgument(
            'source', default_value='demo',
            description="'demo' (built-in clip), 'group' (three people), or a video, image or directory path"),
        DeclareLaunchArgument(
            'rate', default_value='10.0', description='frames per second the image source publishes'),
        DeclareLaunchArgument(
            'rviz', default_value='false', choices=['true', 'false'],
            description='start RViz showing /pose_estimator/image_annotated'),
        # Also declared by tf_pose.launch.py; declared here so that both nodes use the same values.
        DeclareLaunchArgument(
            'namespace', default_value='', description='namespace of both nodes and their topics'),
        DeclareLaunchArgument(
            'image_topic', default_value='image_raw', description='topic between image_source and pose_estimator'),
        DeclareLaunchArgument(
            'use_sim_time', default_value='false', choices=['true', 'false'],
            description='use the /clock topic as the node clocks'),
    ]
    use_sim_time = ParameterValue(LaunchConfiguration('use_sim_time'), value_type=bool)
    image_source = Node(
        package='tf_pose_ros',
        executable='image_source',
        name='image_source',
        namespace=namespace,
        parameters=[{
            'source': ParameterValue(LaunchConfiguration('source'), value_type=str),
            'rate': ParameterValue(LaunchConfiguration('rate'), value_type=float),
            'use_sim_time': use_sim_time,
        }],
        remappings=[('image_raw', LaunchConfiguration('image_topic'))],
        output='screen',
        emulate_tty=True,
    )
    pose = IncludeLaunchDescription(
        PythonLaunchDescriptionSource(
            PathJoinSubstitution([FindPackageShare('tf_pose_ros'), 'launch', 'tf_pose.launch.py'])),
        launch_arguments={'namespace': namespace, 'image_topic': LaunchConfiguration('image_topic'),
                          'use_sim_time': LaunchConfiguration('use_sim_time')}.items(),
    )
    # The RViz configuration shows /pose_estimator/image_annotated; with a namespace, pick
    # /<namespace>/pose_estimator/image_annotated in its Image display.
    rviz = Node(
        package='rviz2',
        executable='rviz2',
        name='rviz2',
        arguments=['-d', PathJoinSubstitution([FindPackageShare('tf_pose_ros'), 'config', 'tf_pose.rviz'])],
        parameters=[{'use_sim_time': use_sim_time}],
        condition=IfCondition(LaunchConfiguration('rviz')),
        output='screen',
    )
    return LaunchDescription(arguments + [image_source, pose, rviz])
