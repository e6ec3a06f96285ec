"""What both pose_estimator variants (plain and lifecycle) are made of, as steps they call in turn.

The executor only hands frames to a one-slot mailbox; a dedicated thread runs inference on the
newest frame, so callbacks never wait for the network and a slow network drops stale frames
(counted) instead of queueing them. Depth frames and camera_info go to a DepthInput, which the
inference thread asks for the depth frame nearest each colour frame.
"""

from __future__ import annotations

import threading
import time
from typing import List, Optional, Set

import rclpy
from diagnostic_msgs.msg import DiagnosticArray
from rcl_interfaces.msg import SetParametersResult
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup
from rclpy.exceptions import ParameterException
from sensor_msgs.msg import CameraInfo, CompressedImage, Image
from visualization_msgs.msg import MarkerArray

from tf_pose_ros.allocator import keep_freed_memory, release_freed_memory
from tf_pose_ros.compile_cache import cache_report
from tf_pose_ros.config import format_resolution
from tf_pose_ros.drawing import draw_persons
from tf_pose_ros.estimator import PoseEstimator
from tf_pose_ros.gc_policy import freeze_loaded_objects
from tf_pose_ros.msg import Persons
from tf_pose_ros.ros.adaptive_subscription import AUTO, BEST_EFFORT, AdaptiveSubscription, resolve_topic
from tf_pose_ros.ros.depth_input import DepthInput, DepthSettings, camera_info_topic_for, stamp_ns
from tf_pose_ros.ros.diagnostics import pose_status
from tf_pose_ros.ros.frame_slot import LatestFrameSlot
from tf_pose_ros.ros.image_conversion import (
    ImageConversionError,
    bgr8_to_image_msg,
    compressed_msg_to_bgr8,
    image_msg_to_bgr8,
)
from tf_pose_ros.ros.input_health import NO_PUBLISHER_WARN_S, InputFacts, input_warnings
from tf_pose_ros.ros.log_bridge import forward_package_logging
from tf_pose_ros.ros.markers import skeleton_markers
from tf_pose_ros.ros.messages import persons_msg
from tf_pose_ros.ros.parameters import PARAMS, cross_check, estimator_config, normalize, validate
from tf_pose_ros.ros.sequence_gaps import SequenceGaps
from tf_pose_ros.ros.spinning import report_startup_failure, spin_until_shutdown, usage, wants_help
from tf_pose_ros.ros.stats import (
    DROPPED,
    FAILED,
    INCOMPATIBLE_QOS,
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
from tf_pose_ros.ros.transport import profile_path, use_large_frame_transport
from tf_pose_ros.tracking import PoseTracker
from tf_pose_ros.warmup import warm_up_tracking, warmup_image

LOG_THROTTLE_S = 5.0
NODE_NAME = 'pose_estimator'
#: Seconds between looks at the input topics' publishers (qos_reliability auto, missing publishers).
PUBLISHER_POLL_S = 0.5


def _refused(reason: str) -> SetParametersResult:
    return SetParametersResult(successful=False, reason=reason)


def describe_estimator(estimator: PoseEstimator) -> str:
    """One line for the log: model, resolution, device, engine, precision, load time."""
    return '%s at %s on %s (%s, %s) in %.2f s (network %.2f s, warm-up frame %.2f s)' % (
        estimator.model, format_resolution(estimator.resolution), estimator.device, estimator.backend,
        estimator.precision, estimator.load_seconds, estimator.network_seconds, estimator.warmup_seconds)


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
    def subscription(self):
        """The image subscription (None while not subscribed, e.g. auto QoS before a publisher appears)."""
        return self._image_input.subscription if self._image_input is not None else None

    @property
    def image_topic_name(self) -> str:
        """The fully resolved topic the node takes its frames from (…/compressed with use_compressed)."""
        topic = self.config['image_topic'] + ('/compressed' if self.config['use_compressed'] else '')
        return resolve_topic(self, topic)

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
        self._inputs: List[AdaptiveSubscription] = []
        self._image_input: Optional[AdaptiveSubscription] = None
        self._poll_timer = None
        # What /diagnostics needs to name why frames do not arrive (input_health.py).
        self._frame_bytes = 0  # of the latest frame
        self._invalid_reason = self._incompatible_reason = ''
        self._lost_reported = 0
        self._logged_causes: Set[str] = set()
        self._first_frame_logged = False
        self._worker: Optional[threading.Thread] = None
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
        self.get_logger().info(cache_report())
        if self.config['tracking']:  # its first update imports the assignment solver: not on a camera frame
            warm_up_tracking(estimator.warmup_persons)
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
        """Subscribe to the image topic (and depth and camera_info when depth_topic is set).

        With qos_reliability auto each subscription takes the reliability of the topic's publishers,
        looked at every PUBLISHER_POLL_S, and subscribes again when they change.
        """
        config = self.config
        mode, depth = config['qos_reliability'], config['qos_depth']
        if config['use_compressed']:
            msg_type, self._decode = CompressedImage, compressed_msg_to_bgr8
        else:
            msg_type, self._decode = Image, image_msg_to_bgr8
        # In a multi-threaded executor (a component container), frames keep arriving in their own
        # group while a parameter change reloads the network.
        self._image_input = self._adaptive(msg_type, self.image_topic_name, self._on_image, mode, depth,
                                           MutuallyExclusiveCallbackGroup())
        self._inputs = [self._image_input]
        if self._depth is not None:
            info_topic = config['camera_info_topic'] or camera_info_topic_for(config['image_topic'])
            self._inputs.append(self._adaptive(Image, config['depth_topic'], self._depth.on_depth, mode, depth))
            # Calibration is tiny: a fixed choice takes it best effort, which matches any publisher.
            self._inputs.append(self._adaptive(CameraInfo, info_topic, self._depth.on_camera_info,
                                               AUTO if mode == AUTO else BEST_EFFORT, 1))
        self._poll_timer = self.create_timer(PUBLISHER_POLL_S, self._poll_publishers)
        self.get_logger().info('listening on %s (qos_reliability %s)' % (
            ', '.join(i.topic_name for i in self._inputs), mode))

    def _adaptive(self, msg_type, topic, callback, mode, depth, group=None) -> AdaptiveSubscription:
        def changed(qos: str) -> None:
            self.get_logger().info('subscribed to %s as %s' % (topic, qos))
        return AdaptiveSubscription(self, msg_type, topic, callback, mode, depth, callback_group=group,
                                    on_incompatible=self._on_incompatible_qos, on_change=changed)

    def _poll_publishers(self) -> None:
        for adaptive in self._inputs:
            adaptive.poll()

    def _on_incompatible_qos(self, count: int, reason: str) -> None:
        self._incompatible_reason = reason  # before the count: a report seeing the count has the reason
        self.stats.count(INCOMPATIBLE_QOS, count)

    def _destroy_inputs(self) -> None:
        """Unsubscribe: publishers stop sending us frames."""
        if self._poll_timer is not None:
            self.destroy_timer(self._poll_timer)
            self._poll_timer = None
        for adaptive in self._inputs:
            adaptive.destroy()
        self._inputs, self._image_input = [], None
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
        self._frame_bytes = len(msg.data)
        if self._slot.put(msg):
            self.stats.count(DROPPED)

    def _work(self, slot: LatestFrameSlot) -> None:
        # An engine's first call from a new thread sets up that thread's share of its pool (measured
        # with OpenVINO: 80-300 ms once): paid here, before a camera frame can be waiting.
        try:
            with self._estimator_lock:
                if self._estimator is not None:
                    self._estimator.infer(warmup_image())
        except Exception as err:  # the first frame pays instead; the thread must start regardless
            self.get_logger().warning('warm-up of the inference thread failed: %s' % err)
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
            self._invalid_reason = str(err)
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
        if not self._first_frame_logged:  # what a fresh start's first frame cost, for `make bench-startup`
            self._first_frame_logged = True
            self.get_logger().info('first frame: %s; network %.0f ms' % (
                ', '.join('%s %.0f ms' % (k, v * 1e3) for k, v in split.items()), result.timings_ms['network']))
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
                    'depth': self.config['depth_topic'] or 'off',
                    'image_topic': self.image_topic_name,
                    'qos': self._image_input.describe() if self._image_input is not None else 'not subscribed'}
        figures = self.stats.snapshot()
        missing = int(figures.get(WITHOUT_DEPTH, 0))
        depth_problem = self._depth_problem if missing > self._depth_missing_reported else ''
        self._depth_missing_reported = missing
        status, self._last_problems = pose_status(
            '%s: pose estimation' % self.get_fully_qualified_name(), figures, settings,
            self._load_error if estimator is None else None, self._last_problems, self._slot.period,
            depth_problem, self._input_warnings(figures))
        array = DiagnosticArray(status=[status])
        array.header.stamp = self.get_clock().now().to_msg()
        self.diagnostics_pub.publish(array)

    def _input_warnings(self, figures) -> List[str]:
        """Why frames do not arrive or cannot be read, since the last report; each cause logged once."""
        image_input = self._image_input
        if image_input is None:  # lifecycle node not active: nothing is expected
            return []
        lost = int(figures.get(LOST, 0))
        waiting = image_input.seconds_without_publisher()
        facts = InputFacts(
            topic=image_input.topic_name, qos=image_input.describe(), reliability=image_input.reliability or '',
            seconds_without_publisher=waiting, frame_bytes=self._frame_bytes, lost=lost - self._lost_reported,
            invalid_reason=self._invalid_reason, incompatible_reason=self._incompatible_reason,
            image_topics=self._image_topics_with_publishers() if waiting >= NO_PUBLISHER_WARN_S else (),
            profile_path=str(profile_path() or ''))
        self._lost_reported, self._invalid_reason, self._incompatible_reason = lost, '', ''
        warnings = input_warnings(facts)
        for warning in warnings:
            if warning.kind not in self._logged_causes:
                self._logged_causes.add(warning.kind)
                self.get_logger().warning(warning.text)
        return [warning.text for warning in warnings]

    def _image_topics_with_publishers(self) -> List[str]:
        """'topic (node, ...)' for every image topic of the graph that has publishers."""
        wanted = 'sensor_msgs/msg/CompressedImage' if self.config['use_compressed'] else 'sensor_msgs/msg/Image'
        found = []
        for topic, types in self.get_topic_names_and_types():
            if wanted in types:
                nodes = sorted({i.node_name for i in self.get_publishers_info_by_topic(topic)
                                if (i.node_name, i.node_namespace) != (self.get_name(), self.get_namespace())})
                if nodes:
                    found.append('%s (%s)' % (topic, ', '.join(nodes)))
        return found


def run_node(node_class, program: str, description: str, args=None) -> int:
    """Start ``node_class`` as the executable ``program`` and spin it until shutdown."""
    if wants_help(args):
        print(usage(program, description, ((p.name, p.default, p.description) for p in PARAMS)))
        return 0
    use_large_frame_transport()  # before rclpy.init: Fast DDS reads it then
    rclpy.init(args=args)
    keep_freed_memory()  # frames are processed in a thread of their own
    forward_package_logging(rclpy.logging.get_logger(program))  # e.g. a first-use conversion's progress
    try:
        node = node_class()
    except Exception as err:  # e.g. upsample_ratio:=4 where a float is declared, or a bad topic name
        return report_startup_failure(program, err)
    # A single-threaded executor: with rclpy's MultiThreadedExecutor a third of a 30 Hz stream never
    # reached the callback while inference ran (measured with node_bench); a reload pauses intake instead.
    return spin_until_shutdown(node)
