"""The pose node's parameters: declarations with descriptors, and validation of new values."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Tuple

from rcl_interfaces.msg import ParameterDescriptor
from rclpy.parameter import Parameter

from tf_pose_ros.config import EstimatorConfig, setting_names, settings_help
from tf_pose_ros.people import smoothing
from tf_pose_ros.people.depth import check_window
from tf_pose_ros.people.tracking import DEFAULT_MAX_AGE
from tf_pose_ros.ros.adaptive_subscription import AUTO, MODES
from tf_pose_ros.ros.camera_input import parse_cameras
from tf_pose_ros.ros.param_descriptors import describe


@dataclass(frozen=True)
class ParamDef:
    """One node parameter: default, help text, numeric range, and whether it may change at run time."""

    name: str
    default: Any
    description: str
    read_only: bool = False
    range: Optional[Tuple[float, float]] = None
    check: Optional[Callable[[Any], Any]] = None
    choices: Tuple[str, ...] = ()  # for enum-like strings: the values accepted
    items: type = float  # the type of a list parameter's elements
    #: rclpy leaves the type unchecked (dynamic typing) and validate() explains a wrong one: for the estimator's
    #: text settings, which ROS reads as a number or a boolean when they look like one (0x10, true).
    loose_type: bool = False

    def declared_default(self) -> Any:
        """What to declare the parameter with: its default, or for an empty list its array type.

        rclpy types a default of [] as a byte array; declared by type instead, the parameter stays
        unset until given (an empty list in a YAML file leaves it unset too), which reads as the default.
        """
        if isinstance(self.default, list) and not self.default:
            return Parameter.Type.STRING_ARRAY if self.items is str else Parameter.Type.DOUBLE_ARRAY
        return self.default

    def descriptor(self) -> ParameterDescriptor:
        """The ROS parameter descriptor: help text, read-only flag, range, choices."""
        floats = ints = None
        if self.range is not None:
            if isinstance(self.default, float):
                floats = self.range
            else:
                ints = (int(self.range[0]), int(self.range[1]))
        descriptor = describe(self.description, self.read_only, floats=floats, ints=ints, choices=self.choices)
        descriptor.dynamic_typing = self.loose_type
        return descriptor


def _raising(reason_of: Callable[[Any], Optional[str]]) -> Callable[[Any], None]:
    """A ParamDef check from a function that returns why a value is bad (or None)."""
    def check(value):
        reason = reason_of(value)
        if reason:
            raise ValueError(reason)
    return check


def qos_mode_error(value: str) -> str:
    """Why ``value`` is no qos_reliability of the pose node, or '' when it is one."""
    return '' if value in MODES else 'qos_reliability must be %s, got %r' % (', '.join(MODES), value)


def _estimator_check(name: str) -> Callable[[Any], Any]:
    """Validate one estimator setting the way EstimatorConfig does (the other settings default)."""
    return lambda value: EstimatorConfig(**{name: value})


def _estimator_params() -> Tuple[ParamDef, ...]:
    params = []
    for name, setting in settings_help().items():
        default = setting['param_default'] if setting['param_default'] is not None else setting['default']
        params.append(ParamDef(name, default, setting['help'], range=setting['param_range'],
                               check=_estimator_check(name), choices=setting['choices'],
                               loose_type=isinstance(default, str)))
    return tuple(params)


#: Changing any of these rebuilds the estimator: exactly the EstimatorConfig settings.
RELOAD_PARAMS = frozenset(setting_names())

PARAMS: Tuple[ParamDef, ...] = _estimator_params() + (
    ParamDef('image_topic', 'image_raw', 'input image topic (CompressedImage on <topic>/compressed)',
             read_only=True),
    ParamDef('image_topics', [], "several cameras in one node: their image topics, 'topic' or 'name=topic' "
             "(name: the topic's parts joined by '_', without a last part image_raw/image/image_rect...); "
             'results on ~/<name>/persons; empty = the one camera of image_topic', read_only=True, items=str,
             check=lambda topics: parse_cameras(topics, ())),
    ParamDef('depth_topics', [], "with image_topics: each camera's registered depth topic, in the same order "
             "('' for none; camera_info beside each image topic); empty = no 3D", read_only=True, items=str),
    ParamDef('batch_size', 4, 'with image_topics: most frames (one per camera) inferred in one network call',
             read_only=True, range=(1, 64)),
    ParamDef('batch_wait', 0.005, "with image_topics: seconds the first camera's frame may wait for the frames "
             'of the other cameras that are due (a camera that does not publish is not waited for)',
             read_only=True, range=(0.0, 1.0)),
    ParamDef('use_compressed', False, 'subscribe to sensor_msgs/CompressedImage instead of Image',
             read_only=True),
    ParamDef('qos_reliability', AUTO, "input QoS reliability; 'auto': as the topic's publishers publish (reliable "
             'when all are reliable, else best effort), decided again when they change', read_only=True,
             check=_raising(qos_mode_error), choices=MODES),
    ParamDef('qos_depth', 5, 'input QoS history depth (frames the reader holds until the executor takes them; '
             'only the newest is inferred)', read_only=True, range=(1, 100)),
    ParamDef('publish_annotated', True, 'publish ~/image_annotated while someone subscribes'),
    ParamDef('anonymize', False, 'publish ~/image_anonymized (the input with every face blurred from the keypoints) '
             'while someone subscribes; ~/image_annotated and REP-155 crops are blurred as well'),
    ParamDef('tracking', True, 'Person.id is a track id, stable over frames (false: index in the message)'),
    ParamDef('track_max_age', DEFAULT_MAX_AGE,
             'frames a track survives unseen (a person hidden that long keeps the id)', range=(0, 1000)),
    ParamDef('smoothing', smoothing.DEFAULT_METHOD, "temporal filtering of each track's keypoints, applied to "
             "Persons, ~/image_annotated, ~/markers and REP-155 alike: 'one_euro' (steady at rest, little lag in "
             "motion) or 'none'; a track's filter starts fresh with the track", choices=smoothing.METHODS),
    ParamDef('smoothing_min_cutoff', smoothing.DEFAULT_MIN_CUTOFF,
             'one_euro: cutoff frequency in Hz at rest; lower is steadier', range=(0.01, 100.0)),
    ParamDef('smoothing_beta', smoothing.DEFAULT_BETA,
             'one_euro: how fast the cutoff rises with speed (per image height per second); higher lags less',
             range=(0.0, 1000.0)),
    ParamDef('smoothing_d_cutoff', smoothing.DEFAULT_D_CUTOFF,
             'one_euro: cutoff frequency in Hz of the speed estimate', range=(0.01, 100.0)),
    ParamDef('hri_output', False, 'publish REP-155 (ROS4HRI) bodies: /humans/bodies/tracked and per tracked body '
             '/humans/bodies/<id>/skeleton2d, roi and cropped (needs hri_msgs)', read_only=True),
    ParamDef('depth_topic', '', 'depth image registered to the colour image (16UC1/mono16 in depth_scale '
             'units, 32FC1 in metres) for 3D keypoints; empty = no 3D', read_only=True),
    ParamDef('camera_info_topic', '', "the colour camera's sensor_msgs/CameraInfo; empty = camera_info beside "
             'image_topic', read_only=True),
    ParamDef('depth_scale', 0.001, 'metres per unit of 16UC1/mono16 depth images (0.001: millimetres)',
             range=(1e-6, 10.0)),
    ParamDef('depth_window', 5, 'side in pixels of the square whose median valid depth a keypoint gets (odd)',
             range=(1, 31), check=_raising(check_window)),
    ParamDef('depth_slop', 0.02, 'seconds a depth image stamp may differ from the colour image stamp',
             range=(0.0, 1.0)),
    ParamDef('depth_min', 0.1, 'nearest valid depth in metres (closer readings are ignored)', range=(0.0, 1000.0)),
    ParamDef('depth_max', 20.0, 'farthest valid depth in metres (farther readings are ignored)',
             range=(0.0, 1000.0)),
    ParamDef('publish_markers', True, 'publish ~/markers (RViz skeletons of people with 3D keypoints) while '
             'someone subscribes'),
    ParamDef('marker_lifetime', 0.5, 'seconds a skeleton stays in RViz without an update (0 = until replaced)',
             range=(0.0, 60.0)),
    ParamDef('min_person_score', 0.0, 'persons scoring lower are not published', range=(0.0, 10.0)),
    ParamDef('min_keypoint_score', 0.0, 'keypoints scoring lower are left out', range=(0.0, 2.0)),
    ParamDef('diagnostics_period', 1.0, 'seconds between /diagnostics messages', read_only=True,
             range=(0.1, 60.0)),
)
PARAMS_BY_NAME: Dict[str, ParamDef] = {p.name: p for p in PARAMS}


def help_rows() -> List[Tuple[str, Any, str]]:
    """Each parameter's name, default and help, for the executables' --help."""
    return [(p.name, p.default, p.description) for p in PARAMS]


def runs_tracker(values: Dict[str, Any]) -> bool:
    """Whether the node tracks people: for Person ids, for smoothing along tracks or for REP-155 bodies."""
    return bool(values['tracking'] or values['smoothing'] != smoothing.NONE or values['hri_output'])


def normalize(name: str, value: Any) -> Any:
    """A parameter value in comparable form: number arrays become tuples of floats."""
    spec = PARAMS_BY_NAME.get(name)
    if spec is not None and isinstance(spec.default, list):
        return tuple(spec.items(v) for v in value)
    return value


def estimator_config(values: Dict[str, Any]) -> EstimatorConfig:
    """The EstimatorConfig of the node's parameter values (ConfigError on a bad combination)."""
    return EstimatorConfig.from_mapping(values)


def cross_check(values: Dict[str, Any]) -> Optional[str]:
    """Reason why a whole set of parameter values does not fit together, or None."""
    if values['depth_min'] >= values['depth_max']:
        return 'depth_min (%g) must be below depth_max (%g)' % (values['depth_min'], values['depth_max'])
    if values.get('depth_topics') and len(values['depth_topics']) != len(values.get('image_topics', ())):
        return 'depth_topics needs one entry per image_topics entry'
    return None


def validate(name: str, value: Any) -> Optional[str]:
    """Reason why ``value`` is not acceptable for parameter ``name``, or None when it is."""
    spec = PARAMS_BY_NAME.get(name)
    if spec is None:
        return None
    expected = type(spec.default)
    if expected is list:
        if not isinstance(value, (list, tuple)) and type(value).__name__ != 'array':
            return '%s must be a list of %s, got %r' % (name, 'strings' if spec.items is str else 'numbers', value)
        value = list(value)
    elif expected is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if expected is str and not isinstance(value, str):
        return text_type_error(spec, value)
    if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
        return '%s must be a %s, got %r' % (name, expected.__name__, value)
    if spec.range is not None and not spec.range[0] <= value <= spec.range[1]:
        return '%s must be within [%g, %g], got %r' % (name, spec.range[0], spec.range[1], value)
    if spec.check is not None:
        try:
            spec.check(value)
        except ValueError as err:
            return str(err)
    return None


def text_type_error(spec: ParamDef, value: Any) -> str:
    """Why a text parameter cannot take ``value``, a number or boolean: the form it wants and how to quote text
    that ROS reads otherwise (``-p resolution:=0x10`` arrives as the integer 16)."""
    example = spec.default or next(iter(spec.choices), 'TEXT')
    if isinstance(value, bool):
        read, quoted = 'the boolean %s' % value, str(value).lower()  # what was typed, quoted
    elif isinstance(value, int):
        read, quoted = 'the integer %d (0x... is a hexadecimal number to ROS)' % value, example
    else:
        read, quoted = repr(value), example
    form = 'one of %s' % ', '.join(spec.choices) if spec.choices else spec.description
    return ("%s is text (%s), e.g. -p %s:=%s, but ROS read %s; quote text that ROS would read as a number or a "
            "boolean: -p \"%s:='%s'\"" % (spec.name, form, spec.name, example, read, spec.name, quoted))


def wrong_types(values: Dict[str, Any]) -> Dict[str, str]:
    """Why each text value of ``values`` whose type rclpy left unchecked (ParamDef.loose_type) is not text."""
    return {name: text_type_error(PARAMS_BY_NAME[name], value) for name, value in values.items()
            if PARAMS_BY_NAME[name].loose_type and not isinstance(value, str)}


def with_changes(config: Dict[str, Any], params) -> Tuple[Dict[str, Any], str]:
    """``config`` with the new values of ``params`` (each with .name and .value), and why they are refused.

    The reason is '' when every value is valid and the whole set fits together.
    """
    changed = dict(config)
    for param in params:
        reason = validate(param.name, param.value)
        if reason:
            return changed, reason
        changed[param.name] = normalize(param.name, param.value)
    return changed, cross_check(changed) or ''
