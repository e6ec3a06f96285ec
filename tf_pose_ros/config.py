"""The estimator's configuration: one frozen type, validated in one place.

Every way of building a PoseEstimator (the node's parameters, the command line, the benchmarks,
the demo) goes through :class:`EstimatorConfig`, so a value means the same everywhere and a bad one
is refused with the same message. Each field carries its help text; the node derives its parameter
declarations and its reload set from the fields.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, fields, replace
from typing import Any, Dict, Mapping, Optional, Tuple

from tf_pose_ros.decoders import DECODERS, DEFAULT_DECODER, DEFAULT_INTERPOLATIONS, DEFAULT_KEEP_ASPECT, DEFAULT_RATIOS
from tf_pose_ros.models import DEFAULT_MODEL, MAX_RESOLUTION_SIDE, MODELS, RESOLUTION_MULTIPLE, get_spec

#: Inference engines. 'auto' picks the fastest one measured to give TensorFlow's poses (engines/).
BACKENDS = ('auto', 'tensorflow', 'openvino', 'litert', 'torch')
#: Numeric precisions a backend may run the network in; which ones a CPU supports is checked at load.
PRECISIONS = ('fp32', 'bf16', 'fp16')
#: How frames are resized to the network input; 'auto' = the decoder's own (refined area, original cubic).
INTERPOLATION_CHOICES = ('auto', 'area', 'cubic')
#: Tri-state switches (keep_aspect, flip): 'auto' = the decoder's or the preset's choice.
SWITCH_CHOICES = ('auto', 'true', 'false')
#: One word for a measured speed/accuracy trade-off (docs/accuracy-presets.md).
PRESET_CHOICES = ('fast', 'default', 'accurate')
#: What each preset sets, unless the setting is given explicitly: precision, scales, flip. Each
#: preset names a time (fast: at most half the original's, default: at most 1.1x, accurate: about
#: 4x) and comes in two forms, the best AP measured within it on the development set
#: (docs/accuracy-presets.md): 'bf16' where the preset chooses the precision and bf16 runs fast
#: here (engines.fast_bf16), since half the time buys more input pixels, and 'fp32' otherwise (an
#: explicit precision included). No model's resolution or weights are named.
PRESETS: Dict[str, Dict[str, Dict[str, Any]]] = {
    'fast': {'fp32': {'precision': 'fp32', 'scales': (0.6875,), 'flip': False},
             'bf16': {'precision': 'bf16', 'scales': (0.9375,), 'flip': False}},
    'default': {'fp32': {'precision': 'fp32', 'scales': (1.0,), 'flip': False},
                'bf16': {'precision': 'bf16', 'scales': (1.25,), 'flip': False}},
    # Accuracy first: fp32 in both forms (bf16 runs where asked for).
    'accurate': {'fp32': {'precision': 'fp32', 'scales': (1.0, 1.5), 'flip': False},
                 'bf16': {'precision': 'fp32', 'scales': (1.0, 1.5), 'flip': False}},
}
MAX_UPSAMPLE_RATIO = 8.0
MAX_SCALE = 4.0
MAX_THREADS = 256

_DEVICE_RE = re.compile(r'^(cpu|gpu|auto)(?::(\d+))?$')


class ConfigError(ValueError):
    """A configuration value is not acceptable; the message names the setting and why."""


# --- validators of single values -------------------------------------------------------------------

def parse_resolution(value) -> Tuple[int, int]:
    """'432x368' (or a (w, h) pair) -> (432, 368); positive multiples of 16, else ValueError."""
    if isinstance(value, str):
        parts = value.lower().strip().split('x')
        if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
            raise ConfigError('resolution %r is not of the form WIDTHxHEIGHT, e.g. 432x368' % value)
        width, height = (int(p) for p in parts)
    else:
        try:
            width, height = (int(v) for v in value)
        except (TypeError, ValueError):
            raise ConfigError('resolution %r is not a (width, height) pair' % (value,)) from None
    if width <= 0 or height <= 0 or width % RESOLUTION_MULTIPLE or height % RESOLUTION_MULTIPLE:
        raise ConfigError('resolution %dx%d: width and height must be positive multiples of %d'
                          % (width, height, RESOLUTION_MULTIPLE))
    if max(width, height) > MAX_RESOLUTION_SIDE:
        raise ConfigError('resolution %dx%d is larger than %d pixels a side'
                          % (width, height, MAX_RESOLUTION_SIDE))
    return width, height


def format_resolution(resolution: Tuple[int, int]) -> str:
    """(432, 368) -> '432x368'."""
    return '%dx%d' % tuple(resolution)


def format_resolutions(sizes) -> str:
    """((656, 384), (984, 576)) -> '656x384, 984x576' (the sizes a frame runs at, one per scale)."""
    return ', '.join(map(format_resolution, sizes))


def format_scales(scales) -> str:
    """'' for the single scale 1, else 'scale 1.25' or 'scales 1, 1.5' (for logs and table rows)."""
    scales = tuple(scales)
    if scales == (1.0,):
        return ''
    return '%s %s' % ('scale' if len(scales) == 1 else 'scales', ', '.join('%g' % scale for scale in scales))


def parse_device(device: str) -> Tuple[str, Optional[int]]:
    """'cpu' | 'gpu' | 'gpu:N' | 'auto' -> (kind, index or None); ValueError otherwise."""
    match = _DEVICE_RE.match(str(device).strip().lower())
    if not match or (match.group(2) is not None and match.group(1) != 'gpu'):
        raise ConfigError("device %r: expected 'cpu', 'gpu', 'gpu:N' or 'auto'" % (device,))
    index = match.group(2)
    return match.group(1), None if index is None else int(index)


def _positive_number(value, what: str, upper: float) -> float:
    if isinstance(value, bool):
        raise ConfigError('%s %r is not a number' % (what, value))
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ConfigError('%s %r is not a number' % (what, value)) from None
    if not math.isfinite(number) or not 0.0 < number <= upper:
        raise ConfigError('%s %r must be in (0, %g]' % (what, value, upper))
    return number


def validate_upsample_ratio(ratio) -> float:
    """A finite ratio in (0, 8]; ValueError otherwise."""
    return _positive_number(ratio, 'upsample ratio', MAX_UPSAMPLE_RATIO)


def parse_upsample_ratio(value) -> Optional[float]:
    """None or 0 (the decoder's own ratio) -> None; else validate_upsample_ratio's number."""
    if value is None or (not isinstance(value, bool) and isinstance(value, (int, float)) and value == 0):
        return None
    return validate_upsample_ratio(value)


def parse_scales(value) -> Tuple[float, ...]:
    """'1.0,0.5' or a sequence of numbers -> (1.0, 0.5), each in (0, 4]; '' or () -> () (the
    preset's); ValueError otherwise."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return ()
    parts = str(value).split(',') if isinstance(value, str) else list(value)
    if not parts:
        return ()
    scales = []
    for part in parts:
        try:
            scales.append(_positive_number(part, 'scale', MAX_SCALE))
        except ConfigError as err:
            raise ConfigError('scales %r: %s (expected e.g. 1.0,0.5)' % (value, err)) from None
    return tuple(scales)


def parse_switch(value, what: str) -> Optional[bool]:
    """None, '' or 'auto' -> None (decided elsewhere); True/'true'/False/'false' -> the bool."""
    if value is None or isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ('', 'auto'):
        return None
    if text in ('true', 'false'):
        return text == 'true'
    raise ConfigError("%s %r: expected true, false or auto" % (what, value))


def _choice(value, what: str, choices) -> str:
    text = str(value).strip().lower()
    if text not in choices:
        raise ConfigError('%s %r: expected one of %s' % (what, value, ', '.join(choices)))
    return text


def parse_backend(value) -> str:
    """One of BACKENDS (case-insensitive); ValueError otherwise."""
    return _choice(value, 'backend', BACKENDS)


def parse_decoder(value) -> str:
    """One of DECODERS (case-insensitive); ValueError otherwise."""
    return _choice(value, 'decoder', DECODERS)


def parse_interpolation(value) -> str:
    """One of INTERPOLATION_CHOICES (case-insensitive); ValueError otherwise."""
    return _choice(value, 'interpolation', INTERPOLATION_CHOICES)


def parse_precision(value) -> str:
    """One of PRECISIONS ('' = the preset's); int8 is refused with the reason (docs/engines.md, "int8")."""
    if value is None or str(value).strip() == '':
        return ''
    if str(value).strip().lower() == 'int8':
        raise ConfigError('precision int8 is not offered: post-training int8 quantization of these '
                          'networks loses people (measured, see docs/engines.md, "int8"); use fp32 or bf16')
    return _choice(value, 'precision', PRECISIONS)


def parse_threads(value) -> int:
    """Engine threads: 0 (every core this process may use) up to 256."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_THREADS:
        raise ConfigError('threads %r must be an integer in [0, %d] (0: all cores)' % (value, MAX_THREADS))
    return value


def _check_model(model, model_path) -> str:
    if not isinstance(model, str) or not model.strip():
        raise ConfigError('model must be a non-empty name')
    if not model_path:
        get_spec(model)  # UnknownModelError (a ValueError) lists the known names
    return model.strip()


def _path_text(value, what: str) -> str:
    if value is None:
        return ''
    if not isinstance(value, str):
        raise ConfigError('%s must be a path string, got %r' % (what, value))
    return value.strip()


# --- the configuration type --------------------------------------------------------------------------

def _setting(default, help_text: str, param_default=None, param_range=None, choices: Tuple[str, ...] = ()):
    """A field with its help text and how the node declares it (parameter default, range, choices)."""
    return field(default=default, metadata={'help': help_text, 'param_default': param_default,
                                            'param_range': param_range, 'choices': choices})


@dataclass(frozen=True)
class EstimatorConfig:
    """What a PoseEstimator runs: model, weights, input size, post-processing, engine.

    Constructing one validates and normalises every field (ConfigError, a ValueError, names the bad
    one): ``resolution`` becomes a (width, height) pair or None for the model's own,
    ``scales`` a tuple of floats, names lower case. Two configs are equal when they would
    build the same estimator.
    """

    model: str = _setting(DEFAULT_MODEL, 'pose network (a registered name; with model_path only a label)',
                          choices=tuple(MODELS))
    model_path: str = _setting('', 'explicit tf-pose frozen graph to load instead of the registry lookup')
    model_dir: str = _setting('', 'directory searched first for <model>/graph_opt.pb')
    resolution: Optional[Tuple[int, int]] = _setting(
        None, "network input WIDTHxHEIGHT, multiples of 16; '' = the model's", param_default='432x368')
    decoder: str = _setting(DEFAULT_DECODER, "post-processing: 'refined' (sub-pixel, default) or 'original' "
                            "(tf-pose-estimation's exactly)", choices=DECODERS)
    upsample_ratio: Optional[float] = _setting(
        None, "heatmap/PAF upsampling before grouping; 0 = the decoder's own (refined 1, original 4)",
        param_default=0.0, param_range=(0.0, MAX_UPSAMPLE_RATIO))
    interpolation: str = _setting(
        'auto', "resizing frames to the network input: 'area' (as the networks were trained), 'cubic' "
        "(the original's); 'auto' = the decoder's own (refined area, original cubic)", choices=INTERPOLATION_CHOICES)
    scales: Tuple[float, ...] = _setting((), "input scales whose maps are averaged (multi-scale inference); "
                                         "empty = the preset's", param_default=[])
    device: str = _setting('auto', "'cpu', 'gpu', 'gpu:N' or 'auto'")
    backend: str = _setting('auto', "inference engine; 'auto': the fastest measured to give TensorFlow's poses",
                            choices=BACKENDS)
    precision: str = _setting('', "network precision (bf16/fp16 where the engine and CPU or GPU support them); "
                              "'' = the preset's; set here, it runs the preset's fp32 scales", choices=PRECISIONS)
    threads: int = _setting(0, 'threads the inference engine uses; 0 = every core', param_range=(0, MAX_THREADS))
    keep_aspect: Optional[bool] = _setting(
        None, "network input follows each frame's aspect ratio with resolution's pixel count (multiples of 16); "
        "'auto' = the decoder's own (refined true, original false: the original squeezes)", param_default='auto',
        choices=SWITCH_CHOICES)
    flip: Optional[bool] = _setting(
        None, "also run the mirrored frame and average its maps back (test-time augmentation); 'auto' = the "
        "preset's", param_default='auto', choices=SWITCH_CHOICES)
    preset: str = _setting('default', "speed/accuracy trade-off: 'fast', 'default' or 'accurate' (precision, "
                           "scales, flip); explicit settings win", choices=PRESET_CHOICES)

    def __post_init__(self):
        model_path = _path_text(self.model_path, 'model_path')
        values = {
            'model': _check_model(self.model, model_path),
            'model_path': model_path,
            'model_dir': _path_text(self.model_dir, 'model_dir'),
            'resolution': (None if self.resolution in (None, '') else parse_resolution(self.resolution)),
            'decoder': parse_decoder(self.decoder),
            'upsample_ratio': parse_upsample_ratio(self.upsample_ratio),
            'interpolation': parse_interpolation(self.interpolation),
            'scales': parse_scales(self.scales),
            'device': str(self.device).strip().lower(),
            'backend': parse_backend(self.backend),
            'precision': parse_precision(self.precision),
            'threads': parse_threads(self.threads),
            'keep_aspect': parse_switch(self.keep_aspect, 'keep_aspect'),
            'flip': parse_switch(self.flip, 'flip'),
            'preset': _choice(self.preset, 'preset', PRESET_CHOICES),
        }
        parse_device(values['device'])
        for name, value in values.items():
            object.__setattr__(self, name, value)

    @property
    def input_resolution(self) -> Tuple[int, int]:
        """The network input (width, height): ``resolution`` or the model's default."""
        if self.resolution is not None:
            return self.resolution
        spec = MODELS.get(self.model) if not self.model_path else None
        return (spec or get_spec(DEFAULT_MODEL)).default_resolution

    def preset_form(self, fast_bf16: bool) -> str:
        """The form of the preset that runs (PRESETS): 'bf16' where ``precision`` is left to the preset
        and bf16 runs fast here, else 'fp32'. The original decoder's default preset is always 'fp32'
        (fp32 at one scale: the original's settings)."""
        if self.precision or (self.decoder == 'original' and self.preset == 'default'):
            return 'fp32'
        return 'bf16' if fast_bf16 else 'fp32'

    def preset_values(self, fast_bf16: bool) -> Dict[str, Any]:
        """precision, scales and flip as they run: each given setting, else the preset's form's."""
        chosen = PRESETS[self.preset][self.preset_form(fast_bf16)]
        return {'precision': self.precision or chosen['precision'], 'scales': self.scales or chosen['scales'],
                'flip': chosen['flip'] if self.flip is None else self.flip}

    def with_preset(self, fast_bf16: bool) -> 'EstimatorConfig':
        """This config with preset_values written in (engines.resolve_preset asks the engine for ``fast_bf16``)."""
        return self.replace(**self.preset_values(fast_bf16))

    # The run_ values are what runs once with_preset has filled the preset's settings in (the estimator
    # does, as PoseEstimator.config); on a config left to the preset they answer for its fp32 form.
    @property
    def run_precision(self) -> str:
        """The precision run: ``precision``, or the preset's (see above)."""
        return self.preset_values(fast_bf16=False)['precision']

    @property
    def run_scales(self) -> Tuple[float, ...]:
        """The scales run: ``scales``, or the preset's (see above)."""
        return self.preset_values(fast_bf16=False)['scales']

    @property
    def run_flip(self) -> bool:
        """Whether the mirrored frame runs too: ``flip``, or the preset's (see above)."""
        return self.preset_values(fast_bf16=False)['flip']

    @property
    def run_keep_aspect(self) -> bool:
        """Whether the input follows the frame's aspect: ``keep_aspect``, or the decoder's own."""
        return self.keep_aspect if self.keep_aspect is not None else DEFAULT_KEEP_ASPECT[self.decoder]

    @property
    def map_ratio(self) -> float:
        """The upsample ratio run: ``upsample_ratio``, or the decoder's own when that is unset."""
        return self.upsample_ratio if self.upsample_ratio is not None else DEFAULT_RATIOS[self.decoder]

    @property
    def resize_interpolation(self) -> str:
        """The resizing run: ``interpolation``, or the decoder's own when that is 'auto'."""
        return self.interpolation if self.interpolation != 'auto' else DEFAULT_INTERPOLATIONS[self.decoder]

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> 'EstimatorConfig':
        """A config from the settings in ``values`` (other keys ignored, missing ones default)."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in names})

    def replace(self, **changes) -> 'EstimatorConfig':
        """A validated copy with some settings changed."""
        return replace(self, **changes)

    def describe(self) -> str:
        """One line for logs: model, resolution, scales, engine, precision and decoder."""
        scales = format_scales(self.run_scales)
        return '%s at %s%s%s, backend %s, %s, decoder %s, preset %s%s' % (
            self.model, format_resolution(self.input_resolution), ' (pixel budget, aspect kept)'
            if self.run_keep_aspect else '', ', ' + scales if scales else '', self.backend, self.run_precision,
            self.decoder, self.preset, ', flip' if self.run_flip else '')


def aspect_input_size(budget: Tuple[int, int], frame_size: Tuple[int, int]) -> Tuple[int, int]:
    """The network input (width, height) for a frame: the frame's aspect ratio with about the pixel
    count of ``budget`` (width x height), each side the nearest multiple of 16 (at least 16, at most
    MAX_RESOLUTION_SIDE). 432x368 and a 16:9 frame -> 528x304; a 4:3 frame -> 464x352."""
    pixels = float(budget[0]) * float(budget[1])
    aspect = float(frame_size[0]) / float(frame_size[1])

    def side(length: float) -> int:
        return min(MAX_RESOLUTION_SIDE, max(RESOLUTION_MULTIPLE, int(round(length / RESOLUTION_MULTIPLE))
                                            * RESOLUTION_MULTIPLE))

    return side(math.sqrt(pixels * aspect)), side(math.sqrt(pixels / aspect))


def setting_names() -> Tuple[str, ...]:
    """Names of the EstimatorConfig settings, in declaration order."""
    return tuple(f.name for f in fields(EstimatorConfig))


def settings_help() -> Dict[str, dict]:
    """name -> {'default', 'help', 'param_default', 'param_range', 'choices'} of each setting."""
    return {f.name: dict(f.metadata, default=f.default) for f in fields(EstimatorConfig)}
