"""The decoders by name (the names and default ratios are in the package) and their interface."""

from __future__ import annotations

from tf_pose_ros.decoders import DECODERS, DEFAULT_DECODER, DEFAULT_RATIOS
from tf_pose_ros.decoders.original import grouping
from tf_pose_ros.decoders.original.decoder import OriginalDecoder
from tf_pose_ros.decoders.refined.decoder import RefinedDecoder
from tf_pose_ros.decoders.refined.decoder import warmup as refined_warmup
from tf_pose_ros.decoders.types import Decoder

__all__ = ['DECODERS', 'DEFAULT_DECODER', 'DEFAULT_RATIOS', 'Decoder', 'make_decoder', 'warmup']


def make_decoder(name: str) -> Decoder:
    """A new decoder of that name (one of DECODERS); ValueError otherwise."""
    if name == 'original':
        return OriginalDecoder()
    if name == 'refined':
        return RefinedDecoder()
    raise ValueError('decoder %r: expected one of %s' % (name, ', '.join(DECODERS)))


#: Each decoder's warm-up: compiles (or loads from numba's cache) the paths a small scene reaches.
_WARMUPS = {'original': grouping.warmup, 'refined': refined_warmup}


def warmup(name: str) -> None:
    """Compile (or load from numba's cache) the code of decoder ``name`` only, so no frame pays for it
    (loading the other decoder's cached code cost every start about 0.15 s for nothing)."""
    _WARMUPS[name]()
