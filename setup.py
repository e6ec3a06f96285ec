"""Pure-Python install of tf_pose_ros (no messages); ROS 2 builds use CMakeLists.txt."""

from setuptools import find_packages, setup

setup(
    name='tf_pose_ros',
    version='0.1.0',
    packages=find_packages(include=('tf_pose_ros', 'tf_pose_ros.*')),
    data_files=[
        ('share/ament_index/resource_index/packages', ['resource/tf_pose_ros']),
        ('share/tf_pose_ros', ['package.xml']),
    ],
    zip_safe=True,
    license='Apache-2.0',
    description='Multi-person 2D pose estimation for ROS 2 (tf-pose-estimation in TensorFlow 2)',
)
