#!/usr/bin/env python3
"""Writes chime.wav, the call displays' two-tone chime (before each spoken call, CI-7):
a soft "ding-dong" (E6 then C6 with their octaves, each fading out), 22,050 Hz, 16-bit mono,
1.2 s. Made by this script rather than taken from elsewhere, so its origin and licence are
this repository's. Run it again only to change the sound: `python3 chime.py`."""
import math
import struct
import wave

RATE = 22050
NOTES = [(0.0, 1318.5), (0.45, 1046.5)]  # (start in seconds, frequency in Hz)
LENGTH = 1.2


def sample(t):
    v = 0.0
    for start, f in NOTES:
        d = t - start
        if d < 0:
            continue
        attack = min(1.0, d / 0.005)
        decay = math.exp(-d * 4.0)
        v += attack * decay * (math.sin(2 * math.pi * f * d) + 0.3 * math.sin(4 * math.pi * f * d))
    return v * 0.35


with wave.open("chime.wav", "wb") as w:
    w.setnchannels(1)
    w.setsampwidth(2)
    w.setframerate(RATE)
    frames = bytearray()
    for i in range(int(RATE * LENGTH)):
        s = max(-1.0, min(1.0, sample(i / RATE)))
        frames += struct.pack("<h", int(s * 32767))
    w.writeframes(bytes(frames))
