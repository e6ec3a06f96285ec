"""Recorded data: rosbag2 (MCAP, SQLite3) and ROS 1 bags in, every frame's people out (``tf-pose-ros bag``).

Without ROS, through the rosbags library: bag_files.py opens and writes bags, message_types.py knows
the types written, frames.py and persons.py convert messages, processing.py runs the loop.
"""
