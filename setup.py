"""Pure-Python install of tf_pose_ros, without the messages (ROS 2 builds use CMakeLists.txt).

The console scripts come from setup.cfg. tf_pose_ros.msg only exists in a CMake/colcon build,
so the ROS node needs that build; the CLI and the pose estimator work from this install alone.
"""

from glob import glob

from setuptools import find_packages, setup

PACKAGE = 'tf_pose_ros'

setup(
    name=PACKAGE,
    version='0.1.0',
    packages=find_packages(include=(PACKAGE, PACKAGE + '.*')),
    data_files=[
        ('share/ament_index/resource_index/packages', ['resource/' + PACKAGE]),
        ('share/' + PACKAGE, ['package.xml']),
        ('share/' + PACKAGE + '/launch', sorted(glob('launch/*.py'))),
        ('share/' + PACKAGE + '/config', sorted(glob('config/*.yaml') + glob('config/*.rviz'))),
    ],
    # The PyTorch engine (backend torch); requirements-torch.lock pins it with its dependencies.
    extras_require={'torch': ['torch==2.13.0']},
    zip_safe=False,
    maintainer='tf_pose_ros maintainers',
    maintainer_email='maintainers@tf-pose-ros.invalid',
    license='Apache-2.0',
    description='Multi-person 2D pose estimation for ROS 2 (tf-pose-estimation in TensorFlow 2)',
    python_requires='>=3.10',
)
