"""When a clip or photo was taken, as the file itself says (the default test date).

:func:`creation_time` reads a video container's ``creation_time`` tag (MP4/MOV ``mvhd``,
Matroska ``DATE``..., through PyAV's FFmpeg demuxer: no external program) or a photo's EXIF
``DateTimeOriginal`` (through Pillow); for a folder of photos, the first photo's. ``None``
when the file has no such tag, or when the tag is a placeholder (1904/1970 epochs that
cameras write for "unknown"). No network, no writing.
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path

__all__ = ["creation_time"]

#: Tags before this year are a container's "unset" value (MP4 counts from 1904, Unix from 1970).
_EARLIEST_YEAR = 1990
_EXIF_IFD, _DATETIME_ORIGINAL, _DATETIME = 0x8769, 0x9003, 0x0132


def creation_time(path: str | Path) -> str | None:
    """The ISO date-time the file says it was recorded (UTC for a video's tag, local time
    as the camera wrote it for a photo's EXIF), or ``None`` when it does not say."""
    from hiprom.io.frames import IMAGE_EXTENSIONS, natural_sort_key

    p = Path(path)
    if p.is_dir():
        photos = sorted((f for f in p.iterdir() if f.is_file() and f.suffix.lower() in IMAGE_EXTENSIONS),
                        key=lambda f: natural_sort_key(f.name))
        return _photo_time(photos[0]) if photos else None
    if p.suffix.lower() in IMAGE_EXTENSIONS:
        return _photo_time(p)
    return _video_time(p)


def _plausible(t: _dt.datetime | None) -> str | None:
    if t is None or t.year < _EARLIEST_YEAR:
        return None
    return t.replace(microsecond=0).isoformat()


def _video_time(path: Path) -> str | None:
    try:
        import av
    except ImportError:  # pragma: no cover - av is a dependency; a bare install may lack it
        return None
    try:
        with av.open(str(path)) as container:
            tags = [dict(container.metadata)] + [dict(s.metadata) for s in container.streams]
    except (av.FFmpegError, OSError, ValueError):
        return None
    for tag in tags:
        text = next((v for k, v in tag.items() if k.lower() in ("creation_time", "date")), None)
        if not text:
            continue
        try:
            t = _dt.datetime.fromisoformat(str(text).strip().replace("Z", "+00:00"))
        except ValueError:
            continue
        t = t.replace(tzinfo=_dt.timezone.utc) if t.tzinfo is None else t.astimezone(_dt.timezone.utc)
        found = _plausible(t)
        if found:
            return found
    return None


def _photo_time(path: Path) -> str | None:
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - Pillow comes with matplotlib
        return None
    try:
        with Image.open(path) as img:
            exif = img.getexif()
            text = exif.get_ifd(_EXIF_IFD).get(_DATETIME_ORIGINAL) or exif.get(_DATETIME)
    except (OSError, ValueError, SyntaxError):
        return None
    if not text:
        return None
    try:
        return _plausible(_dt.datetime.strptime(str(text).strip().rstrip("\x00"), "%Y:%m:%d %H:%M:%S"))
    except ValueError:
        return None
