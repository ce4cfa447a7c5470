"""AudioSocket: the TCP audio leg Asterisk opens to vidline for each video chat."""

from vidline.audiosocket.buffer import PcmBuffer
from vidline.audiosocket.leg import AudioLeg, AudioLegHandler, AudioSource, CloseReason, LegStats
from vidline.audiosocket.server import AudioSocketServer

__all__ = [
    "AudioLeg",
    "AudioLegHandler",
    "AudioSocketServer",
    "AudioSource",
    "CloseReason",
    "LegStats",
    "PcmBuffer",
]
