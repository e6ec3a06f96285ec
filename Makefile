# Main entry points; each runs the setup first (quick when nothing changed).
VENV ?= .venv
PY := $(VENV)/bin/python
# Keep test and demo traffic on this machine and away from other ROS 2 graphs.
export ROS_AUTOMATIC_DISCOVERY_RANGE ?= LOCALHOST
export RMW_IMPLEMENTATION ?= rmw_fastrtps_cpp
# Fast DDS's default transports lose about half of a 30 Hz 640x480 stream (make bench-node); its
# large-data mode (shared memory and TCP for user data) delivers every frame.
export FASTDDS_BUILTIN_TRANSPORTS ?= LARGE_DATA

.PHONY: setup demo lint test test-core bench bench-node clean

setup:
	@bash scripts/setup.sh

demo: setup
	$(PY) -m tf_pose_ros.ros.demo $(ARGS)

# ruff (pyflakes, pycodestyle, isort, bugbear; ruff.toml) and mypy on the core modules (setup.cfg).
lint: setup
	$(VENV)/bin/ruff check tf_pose_ros test launch setup.py
	$(VENV)/bin/mypy

# What CI runs: lint, then every test.
test: lint
	$(PY) -m pytest -q test $(ARGS)

# The core without ROS and without the slow engine tests: seconds, for the edit-test loop.
test-core: setup
	$(PY) -m pytest -q -m "not ros and not slow" test $(ARGS)

bench: setup
	$(PY) -m tf_pose_ros.cli bench $(ARGS)

# Measured as a robot runs: under LOCALHOST discovery Fast DDS uses UDP on loopback, not the
# large-data transport, and loses frames again.
bench-node: ROS_AUTOMATIC_DISCOVERY_RANGE = SUBNET
bench-node: setup
	$(PY) -m tf_pose_ros.ros.node_bench $(ARGS)

clean:
	rm -rf build $(VENV)
