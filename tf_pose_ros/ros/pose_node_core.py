"""What both pose_estimator variants (plain and lifecycle) are made of, as steps they call in turn.

The executor only hands frames to a one-slot mailbox; a dedicated thread runs inference on the
newest frame, so callbacks never wait for the network and a slow network drops stale frames
(counted) instead of queueing them. Depth frames and camera_info go to a DepthInput, which the
inference thread asks for the depth frame nearest each colour frame.
"""

from __future__ import annotations

import threading
import time
from typing import Optional

import rclpy
from diagnostic_msgs.msg import DiagnosticArray
from rcl_interfaces.msg import SetParametersResult
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup
from rclpy.exceptions import ParameterException
from sensor_msgs.msg import CameraInfo, CompressedImage, Image
from visualization_msgs.msg import MarkerArray

from tf_pose_ros.allocator import keep_freed_memory, release_freed_memory
from tf_pose_ros.config import format_resolution
from tf_pose_ros.drawing import draw_persons
from tf_pose_ros.estimator import PoseEstimator
from tf_pose_ros.gc_policy import freeze_loaded_objects
from tf_pose_ros.msg import Persons
from tf_pose_ros.ros.depth_input import DepthInput, DepthSettings, camera_info_topic_for, stamp_ns
from tf_pose_ros.ros.diagnostics import pose_status
from tf_pose_ros.ros.frame_slot import LatestFrameSlot
from tf_pose_ros.ros.image_conversion import (
    ImageConversionError,
    bgr8_to_image_msg,
    compressed_msg_to_bgr8,
    image_msg_to_bgr8,
)
from tf_pose_ros.ros.markers import skeleton_markers
from tf_pose_ros.ros.messages import persons_msg
from tf_pose_ros.ros.parameters import PARAMS, cross_check, estimator_config, normalize, validate
from tf_pose_ros.ros.ros_params import image_qos
from tf_pose_ros.ros.sequence_gaps import SequenceGaps
from tf_pose_ros.ros.spinning import report_startup_failure, spin_until_shutdown, usage, wants_help
from tf_pose_ros.ros.stats import (
    DROPPED,
    FAILED,
    INVALID,
    LOST,
    PROCESSED,
    RECEIVED,
    SKIPPED_NO_MODEL,
    SKIPPED_PAUSED,
    WITH_DEPTH,
    WITHOUT_DEPTH,
    PipelineStats,
)
from tf_pose_ros.ros.transport import use_large_frame_transport
from tf_pose_ros.tracking import PoseTracker

LOG_THROTTLE_S = 5.0
NODE_NAME = 'pose_estimator'


def _refused(reason: str) -> SetParametersResult:
    return SetParametersResult(successful=False, reason=reason)


def describe_estimator(estimator: PoseEstimator) -> str:
    """One line for the log: model, resolution, device, engine, precision, load time."""
    return '%s at %s on %s (%s, %s) in %.2f s' % (
        estimator.model, format_resolution(estimator.resolution), estimator.device, estimator.backend,
        estimator.precision, estimator.load_seconds)


def depth_settings(config) -> DepthSettings:
    """The depth parameters of a node configuration."""
    return DepthSettings(scale=config['depth_scale'], window=config['depth_window'], slop_s=config['depth_slop'],
                         min_m=config['depth_min'], max_m=config['depth_max'])


class PoseNodeCore:
    """Mixed into an rclpy Node or LifecycleNode: parameters, model, topics and the inference thread."""

    @property
    def estimator(self) -> Optional[PoseEstimator]:
        """The estimator in use (None while no model is loaded)."""
        return self._estimator

    @property
    def depth_input(self) -> Optional[DepthInput]:
        """Depth frames and calibration for 3D keypoints (None without depth_topic)."""
        return self._depth

    # --- set-up steps, called by the node classes ------------------------------------------------
    def _declare_parameters(self) -> None:
        """Declare every parameter and prepare the state that needs no model and no topic."""
        try:
            for param in PARAMS:
                self.declare_parameter(param.name, param.default, param.descriptor())
        except ParameterException:
            super().destroy_node()  # nothing of ours exists yet; leave nothing behind in the context
            raise
        self.config = {p.name: normalize(p.name, self.get_parameter(p.name).value) for p in PARAMS}
        self.stats = PipelineStats()
        self._slot = LatestFrameSlot()
        self._gaps = SequenceGaps()
        self._tracker = PoseTracker(max_age=self.config['track_max_age'])
        self._reset_tracker = False  # set by a parameter change, applied by the inference thread
        self._depth = DepthInput(depth_settings(self.config)) if self.config['depth_topic'] else None
        self._depth_problem, self._depth_missing_reported = '', 0
        self._estimator: Optional[PoseEstimator] = None
        # Held while a frame is inferred, so a reload can close the old network once no frame uses it.
        self._estimator_lock = threading.Lock()
        self._load_error = 'not configured'
        self._last_problems = 0
        self._enabled = True
        self._loads_models = True  # False while a lifecycle node is unconfigured
        self._pending: Optional[PoseEstimator] = None  # loaded by validation, taken by the post-set step
        self._inputs: list = []
        self._worker: Optional[threading.Thread] = None
        self.subscription = None
        self.add_on_set_parameters_callback(self._on_set_parameters)
        self.add_post_set_parameters_callback(self._apply_parameters)

    def _load_estimator(self) -> bool:
        """Load the configured network (closing any loaded one); on failure log why and keep going."""
        self._unload_estimator()
        try:
            bad = [r for r in (validate(name, value) for name, value in self.config.items()) if r]
            bad += [r for r in (cross_check(self.config),) if r]
            if bad:
                raise ValueError('; '.join(bad))
            estimator = PoseEstimator.from_config(estimator_config(self.config))
        except Exception as err:  # the node stays up so a parameter change can fix the model
            self._load_error = str(err)
            self.get_logger().error('no model loaded: %s' % err)
            return False
        self._swap_estimator(estimator)
        self.get_logger().info('loaded %s' % describe_estimator(estimator))
        return True

    def _unload_estimator(self) -> None:
        """Close the network and give its memory back."""
        self._swap_estimator(None, 'not configured')

    def _swap_estimator(self, estimator: Optional[PoseEstimator], load_error: str = '') -> None:
        """Put ``estimator`` (or None) in place once no frame uses the old one; close the old one."""
        with self._estimator_lock:
            old, self._estimator, self._load_error = self._estimator, estimator, load_error
        if old is None and estimator is None:
            return
        if old is not None:
            old.close()
        freeze_loaded_objects()  # finds the old network's cycles, then hides the new one
        if old is not None:
            release_freed_memory()  # the old network's buffers, kept by the allocator otherwise

    def _create_outputs(self, make_publisher) -> None:
        """Result publishers (made by ``make_publisher``: plain or lifecycle), /diagnostics and its timer."""
        self.persons_pub = make_publisher(Persons, '~/persons', 10)
        self.annotated_pub = make_publisher(Image, '~/image_annotated', 1)
        self.markers_pub = make_publisher(MarkerArray, '~/markers', 1)
        self.diagnostics_pub = self.create_publisher(DiagnosticArray, '/diagnostics', 10)
        self._diagnostics_timer = self.create_timer(self.config['diagnostics_period'], self._publish_diagnostics)

    def _destroy_outputs(self, destroy_publisher) -> None:
        for publisher in (self.persons_pub, self.annotated_pub, self.markers_pub):
            destroy_publisher(publisher)
        self.destroy_publisher(self.diagnostics_pub)
        self.destroy_timer(self._diagnostics_timer)

    def _create_inputs(self) -> None:
        """Subscribe to the image topic (and depth and camera_info when depth_topic is set)."""
        config = self.config
        qos = image_qos(config['qos_reliability'], config['qos_depth'])
        topic = config['image_topic']
        if config['use_compressed']:
            topic, msg_type, self._decode = topic + '/compressed', CompressedImage, compressed_msg_to_bgr8
        else:
            msg_type, self._decode = Image, image_msg_to_bgr8
        # In a multi-threaded executor (a component container), frames keep arriving in their own
        # group while a parameter change reloads the network.
        self.subscription = self.create_subscription(
            msg_type, topic, self._on_image, qos, callback_group=MutuallyExclusiveCallbackGroup())
        self._inputs = [self.subscription]
        if self._depth is not None:
            info_topic = config['camera_info_topic'] or camera_info_topic_for(config['image_topic'])
            self._inputs.append(self.create_subscription(Image, config['depth_topic'], self._depth.on_depth, qos))
            self._inputs.append(self.create_subscription(CameraInfo, info_topic, self._depth.on_camera_info,
                                                         image_qos('best_effort', 1)))
        self.get_logger().info('listening on %s' % ', '.join(s.topic_name for s in self._inputs))

    def _destroy_inputs(self) -> None:
        """Unsubscribe: publishers stop sending us frames."""
        for subscription in self._inputs:
            self.destroy_subscription(subscription)
        self._inputs, self.subscription = [], None
        if self._depth is not None:
            self._depth.reset()

    def _start_worker(self) -> None:
        # Each worker has a slot of its own and ends when that slot is closed, so a worker still
        # finishing a frame after _stop_worker gave up waiting never meets a newer one.
        self._slot = LatestFrameSlot()
        self._worker = threading.Thread(target=self._work, args=(self._slot,), name='pose_inference', daemon=True)
        self._worker.start()

    def _stop_worker(self) -> None:
        self._slot.close()
        if self._worker is not None:
            self._worker.join(timeout=5.0)
            self._worker = None

    def destroy_node(self):
        """Stop the inference thread, close the network, then destroy the node."""
        self._stop_worker()
        self._unload_estimator()
        return super().destroy_node()

    # --- configuration -------------------------------------------------------------------------
    def _on_set_parameters(self, params) -> SetParametersResult:
        """Validate a parameter change; a new configuration is loaded here, so a bad one is refused."""
        if self._pending is not None:  # validated earlier, then refused elsewhere: never applied
            self._pending.close()
            self._pending = None
        new_config = dict(self.config)
        for param in params:
            reason = validate(param.name, param.value)
            if reason:
                return _refused(reason)
            new_config[param.name] = normalize(param.name, param.value)
        reason = cross_check(new_config)
        if reason:
            return _refused(reason)
        try:
            wanted = estimator_config(new_config)
        except ValueError as err:
            return _refused(str(err))
        running = self._estimator.config if self._estimator is not None else None
        if wanted != running and self._loads_models:
            try:
                self._pending = PoseEstimator.from_config(wanted)
            except Exception as err:  # a model that does not load keeps the running one
                return _refused('cannot load the new configuration: %s' % err)
        return SetParametersResult(successful=True)

    def _apply_parameters(self, params) -> None:
        """Take the accepted values; swap in the network loaded while validating, if any."""
        for param in params:
            self.config[param.name] = normalize(param.name, param.value)
            if param.name == 'track_max_age':
                self._tracker.max_age = param.value
            elif param.name == 'tracking' and not param.value:
                self._reset_tracker = True  # back on later, nobody is matched to an old sighting
        if self._depth is not None:
            self._depth.settings = depth_settings(self.config)
        estimator, self._pending = self._pending, None
        if estimator is not None:
            self._swap_estimator(estimator)
            self.get_logger().info('reloaded %s' % describe_estimator(estimator))

    # Every refusal is logged here, rclpy's own (read-only, range, type) as well as ours.
    def set_parameters(self, parameter_list):
        """rclpy's set_parameters, with refused values logged."""
        results = super().set_parameters(parameter_list)
        for param, result in zip(parameter_list, results):
            self._log_refusal([param], result)
        return results

    def set_parameters_atomically(self, parameter_list):
        """rclpy's set_parameters_atomically (what `ros2 param set` calls), with refusals logged."""
        result = super().set_parameters_atomically(parameter_list)
        self._log_refusal(parameter_list, result)
        return result

    def _log_refusal(self, params, result) -> None:
        if not result.successful:
            self.get_logger().warning('rejected %s: %s' % (
                ', '.join('%s=%r' % (p.name, p.value) for p in params), result.reason))

    # --- frames ----------------------------------------------------------------------------------
    def _on_image(self, msg, info) -> None:
        missed = self._gaps.missed(info)
        if missed:
            self.stats.count(LOST, missed)
        self.stats.count(RECEIVED)
        if self._slot.put(msg):
            self.stats.count(DROPPED)

    def _work(self, slot: LatestFrameSlot) -> None:
        while not slot.closed and self.context.ok():
            entry = slot.take(timeout=0.2, fresh=True)
            if entry is None:
                continue
            try:
                self._process(*entry)
            except Exception as err:  # the thread must outlive any one frame
                if not self.context.ok():
                    return  # shutting down (Ctrl-C): publishers are gone, nothing to report
                self.stats.count(FAILED)
                self.get_logger().error('frame failed: %s' % err, throttle_duration_sec=LOG_THROTTLE_S)

    def _process(self, msg, arrived: float) -> None:
        """Infer one frame and publish its people; ``arrived`` is its monotonic arrival time."""
        started = time.monotonic()
        if not self._enabled:
            self.stats.count(SKIPPED_PAUSED)
            return
        if self._estimator is None:  # checked again under the lock: a cleanup may come in between
            self.stats.count(SKIPPED_NO_MODEL)
            return
        try:
            image = self._decode(msg)
        except ImageConversionError as err:
            self.stats.count(INVALID)
            self.get_logger().warning('dropped a bad image message: %s' % err,
                                      throttle_duration_sec=LOG_THROTTLE_S)
            return
        decoded = time.monotonic()
        with self._estimator_lock:
            estimator = self._estimator
            if estimator is None:
                self.stats.count(SKIPPED_NO_MODEL)
                return
            result = estimator.infer(image)
        inferred = time.monotonic()
        config = self.config
        if self._reset_tracker:
            self._reset_tracker = False
            self._tracker.reset()
        ids = self._tracker.update(result.persons) if config['tracking'] else None
        positions = self._lift(msg.header, result) if self._depth is not None else None
        persons = persons_msg(result, msg.header, estimator.model, config['min_person_score'],
                              config['min_keypoint_score'], ids=ids, positions=positions)
        # Counted just before publishing, so a subscriber never sees a result the counters lack.
        self.stats.count(PROCESSED)
        now = time.monotonic()
        latency = (self.get_clock().now().nanoseconds - stamp_ns(msg.header)) * 1e-9
        split = {'transport': latency - (now - arrived), 'wait': started - arrived, 'decode': decoded - started,
                 'pipeline': inferred - decoded, 'message': now - inferred}
        self.stats.record(latency, now - started, now=now, split=split)
        self.persons_pub.publish(persons)
        if self._depth is not None and config['publish_markers'] and self.markers_pub.get_subscription_count() > 0:
            self.markers_pub.publish(skeleton_markers(persons, config['marker_lifetime']))
        if config['publish_annotated'] and self.annotated_pub.get_subscription_count() > 0:
            self.annotated_pub.publish(bgr8_to_image_msg(draw_persons(image, result.persons, copy=False),
                                                         msg.header))

    def _lift(self, header, result):
        """3D positions of the result's keypoints from the paired depth frame; None (counted) without."""
        lifted = self._depth.lift(header, result.image_size, result.persons)
        if lifted.warning:
            self.get_logger().warning(lifted.warning, throttle_duration_sec=LOG_THROTTLE_S)
        if lifted.positions is None:
            self._depth_problem = lifted.problem  # before the count: a report seeing the count has the reason
            self.stats.count(WITHOUT_DEPTH)
            self.get_logger().warning('no 3D keypoints: %s' % lifted.problem, throttle_duration_sec=LOG_THROTTLE_S)
        else:
            self.stats.count(WITH_DEPTH)
        return lifted.positions

    # --- diagnostics -----------------------------------------------------------------------------
    def _publish_diagnostics(self) -> None:
        estimator = self._estimator
        settings = {'model': self.config['model'], 'device': getattr(estimator, 'device', 'none'),
                    'enabled': 'true' if self._enabled else 'false',
                    'backend': getattr(estimator, 'backend', 'none'),
                    'precision': getattr(estimator, 'precision', 'none'),
                    'resolution': self.config['resolution'] or 'model default',
                    'decoder': self.config['decoder'],
                    'upsample_ratio': '%g' % getattr(estimator, 'upsample_ratio', self.config['upsample_ratio']),
                    'depth': self.config['depth_topic'] or 'off'}
        figures = self.stats.snapshot()
        missing = int(figures.get(WITHOUT_DEPTH, 0))
        depth_problem = self._depth_problem if missing > self._depth_missing_reported else ''
        self._depth_missing_reported = missing
        status, self._last_problems = pose_status(
            '%s: pose estimation' % self.get_fully_qualified_name(), figures, settings,
            self._load_error if estimator is None else None, self._last_problems, self._slot.period,
            depth_problem)
        array = DiagnosticArray(status=[status])
        array.header.stamp = self.get_clock().now().to_msg()
        self.diagnostics_pub.publish(array)


def run_node(node_class, program: str, description: str, args=None) -> int:
    """Start ``node_class`` as the executable ``program`` and spin it until shutdown."""
    if wants_help(args):
        print(usage(program, description, ((p.name, p.default, p.description) for p in PARAMS)))
        return 0
    use_large_frame_transport()  # before rclpy.init: Fast DDS reads it then
    rclpy.init(args=args)
    keep_freed_memory()  # frames are processed in a thread of their own
    try:
        node = node_class()
    except Exception as err:  # e.g. upsample_ratio:=4 where a float is declared, or a bad topic name
        return report_startup_failure(program, err)
    # A single-threaded executor: with rclpy's MultiThreadedExecutor a third of a 30 Hz stream never
    # reached the callback while inference ran (measured with node_bench); a reload pauses intake instead.
    return spin_until_shutdown(node)
