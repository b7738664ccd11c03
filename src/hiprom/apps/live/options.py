"""How to run live mode: :class:`LiveOptions` (``hiprom live``'s options, validated)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hiprom.errors import ConfigError

__all__ = ["LiveOptions", "LIVE_MAX_PEOPLE"]

#: People the pose model looks for per frame in live mode. ``analyze`` looks for 2 (an examiner
#: beside the patient is told apart afterwards); with 2 the model's person detector runs on
#: every frame, which costs about 40 % more: 39 ms instead of 24 ms of CPU per frame, measured
#: here, too slow for 25 fps on 2 cores. Saved peaks of five benchmark clips stay within 0.9°
#: of analyze's (b01: 0.1°). Keep other people out of the picture, or pass 2.
LIVE_MAX_PEOPLE = 1
@dataclass(frozen=True)
class LiveOptions:
    """How to run live mode (see ``hiprom live --help``)."""

    camera: int = 0
    source: str | None = None          # a video file or a stream URL instead of the camera
    realtime: bool = False             # play a file at its own pace, dropping late frames
    headless: bool = False
    out: Path | None = None
    force: bool = False
    duration_s: float | None = None    # stop (and save) after this long (source time)
    max_side_px: int = 640             # 0 = process frames at their own size
    mirror: bool | None = None         # mirror the display; None = for cameras only
    measure_from_start: bool | None = None   # None = when headless (no keys there)
    line_every_s: float = 0.5
    draw: bool | None = None           # draw the overlay; None = when a window shows it
    max_people: int | None = LIVE_MAX_PEOPLE   # people per frame for the model; None = the config's

    def __post_init__(self) -> None:
        if self.camera < 0:
            raise ConfigError(f"--camera must be 0 or more, got {self.camera}",
                              fix="use --camera 0 for the first webcam.")
        if self.duration_s is not None and not self.duration_s > 0:
            raise ConfigError(f"--duration must be a positive number of seconds, got {self.duration_s}",
                              fix="leave it out to measure until q, Ctrl-C or the end of the source.")
        if self.max_side_px < 0 or 0 < self.max_side_px < 160:
            raise ConfigError(f"--max-side must be 0 (full size) or at least 160 px, got {self.max_side_px}",
                              fix="use the default, 640.")
        if self.max_people is not None and not 1 <= self.max_people <= 5:
            raise ConfigError(f"--max-people must be between 1 and 5, got {self.max_people}",
                              fix="use 1 (the live default) or 2 (as analyze).")
        if not self.line_every_s > 0:
            raise ValueError(f"line_every_s must be positive, got {self.line_every_s}")

    @property
    def kind(self) -> str:
        if self.source is None:
            return "camera"
        return "stream" if "://" in self.source else "file"

    @property
    def name(self) -> str:
        return f"camera {self.camera}" if self.source is None else self.source
