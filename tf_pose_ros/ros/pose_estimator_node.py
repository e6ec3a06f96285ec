"""The ``pose_estimator`` node: camera images in, Persons (and an annotated image) out.

The executor only hands frames to a one-slot mailbox; a dedicated thread runs inference on the
newest frame, so callbacks never wait for the network and a slow network drops stale frames
(counted) instead of queueing them.
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
from rclpy.node import Node
from rclpy.time import Time
from sensor_msgs.msg import CompressedImage, Image
from std_srvs.srv import SetBool

from tf_pose_ros.allocator import keep_freed_memory, release_freed_memory
from tf_pose_ros.config import format_resolution
from tf_pose_ros.drawing import draw_persons
from tf_pose_ros.estimator import PoseEstimator
from tf_pose_ros.gc_policy import freeze_loaded_objects
from tf_pose_ros.msg import Persons
from tf_pose_ros.ros.diagnostics import pose_status
from tf_pose_ros.ros.frame_slot import LatestFrameSlot
from tf_pose_ros.ros.image_conversion import (
    ImageConversionError,
    bgr8_to_image_msg,
    compressed_msg_to_bgr8,
    image_msg_to_bgr8,
)
from tf_pose_ros.ros.messages import persons_msg
from tf_pose_ros.ros.parameters import PARAMS, estimator_config, normalize, validate
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
    PipelineStats,
)
from tf_pose_ros.ros.transport import use_large_frame_transport
from tf_pose_ros.tracking import PoseTracker

LOG_THROTTLE_S = 5.0


def _refused(reason: str) -> SetParametersResult:
    return SetParametersResult(successful=False, reason=reason)


def _describe(estimator: PoseEstimator) -> str:
    return '%s at %s on %s (%s, %s) in %.2f s' % (
        estimator.model, format_resolution(estimator.resolution), estimator.device, estimator.backend,
        estimator.precision, estimator.load_seconds)


class PoseEstimatorNode(Node):
    """Multi-person pose estimation on an image topic."""

    def __init__(self, **kwargs):
        super().__init__('pose_estimator', **kwargs)
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
        self._estimator: Optional[PoseEstimator] = None
        # Held while a frame is inferred, so a reload can close the old network once no frame uses it.
        self._estimator_lock = threading.Lock()
        self._load_error = ''
        self._last_problems = 0

        try:
            bad = [r for r in (validate(name, value) for name, value in self.config.items()) if r]
            if bad:
                raise ValueError('; '.join(bad))
            self._estimator = PoseEstimator.from_config(estimator_config(self.config))
            freeze_loaded_objects()
            self.get_logger().info('loaded %s' % _describe(self._estimator))
        except Exception as err:  # the node stays up so a parameter change can fix the model
            self._load_error = str(err)
            self.get_logger().error('no model loaded: %s' % err)

        self.persons_pub = self.create_publisher(Persons, '~/persons', 10)
        self.annotated_pub = self.create_publisher(Image, '~/image_annotated', 1)
        self.diagnostics_pub = self.create_publisher(DiagnosticArray, '/diagnostics', 10)

        qos = image_qos(self.config['qos_reliability'], self.config['qos_depth'])
        topic = self.config['image_topic']
        if self.config['use_compressed']:
            topic, msg_type, self._decode = topic + '/compressed', CompressedImage, compressed_msg_to_bgr8
        else:
            msg_type, self._decode = Image, image_msg_to_bgr8
        # In a multi-threaded executor (a component container), frames keep arriving in their own
        # group while a parameter change reloads the network.
        self.subscription = self.create_subscription(
            msg_type, topic, self._on_image, qos, callback_group=MutuallyExclusiveCallbackGroup())
        self._pending: Optional[PoseEstimator] = None  # loaded by validation, taken by the post-set step
        self.add_on_set_parameters_callback(self._on_set_parameters)
        self.add_post_set_parameters_callback(self._apply_parameters)
        self.create_timer(self.config['diagnostics_period'], self._publish_diagnostics)
        self._enabled = True
        self.enable_service = self.create_service(SetBool, '~/enable', self._on_enable)

        self._running = True
        self._worker = threading.Thread(target=self._work, name='pose_inference', daemon=True)
        self._worker.start()
        self.get_logger().info('listening on %s (%s)' % (self.subscription.topic_name, msg_type.__name__))

    @property
    def estimator(self) -> Optional[PoseEstimator]:
        """The estimator in use (None while no model could be loaded)."""
        return self._estimator

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
        try:
            wanted = estimator_config(new_config)
        except ValueError as err:
            return _refused(str(err))
        running = self._estimator.config if self._estimator is not None else None
        if wanted != running:
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
                self._tracker.reset()  # back on later, nobody is matched to an old sighting
        estimator, self._pending = self._pending, None
        if estimator is None:
            return
        with self._estimator_lock:
            old, self._estimator, self._load_error = self._estimator, estimator, ''
        if old is not None:
            old.close()
        freeze_loaded_objects()  # finds the old network's cycles, then hides the new one
        release_freed_memory()  # the old network's buffers, kept by the allocator otherwise
        self.get_logger().info('reloaded %s' % _describe(estimator))

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

    def _on_enable(self, request, response):
        """~/enable: pause or resume inference; the model stays loaded, paused frames are counted."""
        self._enabled = bool(request.data)
        response.success = True
        response.message = 'inference %s' % ('running' if self._enabled else 'paused')
        self.get_logger().info(response.message)
        return response

    # --- frames ----------------------------------------------------------------------------------
    def _on_image(self, msg, info) -> None:
        missed = self._gaps.missed(info)
        if missed:
            self.stats.count(LOST, missed)
        self.stats.count(RECEIVED)
        if self._slot.put(msg):
            self.stats.count(DROPPED)

    def _work(self) -> None:
        while self._running and self.context.ok():
            entry = self._slot.take(timeout=0.2, fresh=True)
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
        if self._estimator is None:
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
            result = estimator.infer(image)
        inferred = time.monotonic()
        config = self.config
        ids = self._tracker.update(result.persons) if config['tracking'] else None
        persons = persons_msg(result, msg.header, estimator.model, config['min_person_score'],
                              config['min_keypoint_score'], ids=ids)
        # Counted just before publishing, so a subscriber never sees a result the counters lack.
        self.stats.count(PROCESSED)
        now = time.monotonic()
        latency = (self.get_clock().now() - Time.from_msg(msg.header.stamp)).nanoseconds * 1e-9
        split = {'transport': latency - (now - arrived), 'wait': started - arrived, 'decode': decoded - started,
                 'pipeline': inferred - decoded, 'message': now - inferred}
        self.stats.record(latency, now - started, now=now, split=split)
        self.persons_pub.publish(persons)
        if config['publish_annotated'] and self.annotated_pub.get_subscription_count() > 0:
            self.annotated_pub.publish(bgr8_to_image_msg(draw_persons(image, result.persons, copy=False),
                                                         msg.header))

    # --- diagnostics -----------------------------------------------------------------------------
    def _publish_diagnostics(self) -> None:
        estimator = self._estimator
        settings = {'model': self.config['model'], 'device': getattr(estimator, 'device', 'none'),
                    'enabled': 'true' if self._enabled else 'false',
                    'backend': getattr(estimator, 'backend', 'none'),
                    'precision': getattr(estimator, 'precision', 'none'),
                    'resolution': self.config['resolution'] or 'model default',
                    'upsample_ratio': '%g' % self.config['upsample_ratio']}
        status, self._last_problems = pose_status(
            '%s: pose estimation' % self.get_fully_qualified_name(), self.stats.snapshot(), settings,
            self._load_error if estimator is None else None, self._last_problems, self._slot.period)
        array = DiagnosticArray(status=[status])
        array.header.stamp = self.get_clock().now().to_msg()
        self.diagnostics_pub.publish(array)

    def destroy_node(self):
        """Stop the inference thread, then the node."""
        self._running = False
        self._slot.close()
        self._worker.join(timeout=5.0)
        return super().destroy_node()


def main(args=None) -> int:
    """Entry point of ``pose_estimator``."""
    if wants_help(args):
        print(usage('pose_estimator', 'Multi-person 2D pose estimation: sensor_msgs/Image in, '
                    'tf_pose_ros/Persons on ~/persons out.', ((p.name, p.default, p.description) for p in PARAMS)))
        return 0
    use_large_frame_transport()  # before rclpy.init: Fast DDS reads it then
    rclpy.init(args=args)
    keep_freed_memory()  # frames are processed in a thread of their own
    try:
        node = PoseEstimatorNode()
    except ParameterException as err:  # e.g. upsample_ratio:=4 where a float is declared
        return report_startup_failure('pose_estimator', err)
    # A single-threaded executor: with rclpy's MultiThreadedExecutor a third of a 30 Hz stream never
    # reached the callback while inference ran (measured with node_bench); a reload pauses intake instead.
    return spin_until_shutdown(node)


if __name__ == '__main__':
    raise SystemExit(main())
