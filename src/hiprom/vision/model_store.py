"""Find, check and download the MediaPipe pose landmarker model (``.task`` file).

Lookup order, first hit wins (see ``models/README.md``): an explicit path (``--model``);
``$HIPROM_MODEL``; ``<cache dir>/<manifest file name>`` with the cache dir
``$HIPROM_CACHE_DIR`` or ``platformdirs.user_cache_dir("hiprom")/models``; a download into
the cache dir from ``url=``, else ``$HIPROM_MODEL_URL`` (a mirror), else the manifest URL.
A bad explicit path or ``$HIPROM_MODEL`` is an error, never a fall-through. Nothing runs at
import time. The progress bar goes to stderr only if it is a terminal (or rich is forced:
``TTY_COMPATIBLE=1``).
"""

from __future__ import annotations

import hashlib
import http.client
import importlib.resources
import logging
import os
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import platformdirs

from hiprom.errors import ModelError, OutputWriteError
from hiprom.io.atomic import atomic_path
from hiprom.vision.offline import download_proxy_handler
from hiprom.vision.tflite_info import pose_bundle_problem

try:  # Python 3.11+
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

__all__ = ["VARIANTS", "ENV_MODEL", "ENV_CACHE_DIR", "ENV_MODEL_URL", "REQUIRED_MEMBERS",
           "ModelInfo", "load_manifest", "default_cache_dir", "validate_model_file",
           "download_model", "resolve_model"]

VARIANTS: tuple[str, ...] = ("lite", "full", "heavy")
ENV_MODEL = "HIPROM_MODEL"
ENV_CACHE_DIR = "HIPROM_CACHE_DIR"
ENV_MODEL_URL = "HIPROM_MODEL_URL"
REQUIRED_MEMBERS: tuple[str, ...] = ("pose_detector.tflite", "pose_landmarks_detector.tflite")
_CHUNK = 1 << 16
_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelInfo:
    """A validated pose model file and where it was found.

    Attributes
    ----------
    path : Path
        Absolute path of the ``.task`` file.
    variant : str or None
        ``"lite"``, ``"full"`` or ``"heavy"`` when known, else ``None``.
    source : str
        ``"argument"``, ``"environment"``, ``"cache"`` or ``"download"``.
    sha256 : str
        Hex SHA-256 digest of the file.
    size_bytes : int
        File size in bytes.
    """

    path: Path
    variant: str | None
    source: str
    sha256: str
    size_bytes: int

    def to_dict(self) -> dict[str, str | None]:
        """What a result records of the model: ``path``, ``variant``, ``source``, ``sha256``."""
        return {"path": str(self.path), "variant": self.variant, "source": self.source, "sha256": self.sha256}


def _manifest_text() -> tuple[str, str]:
    """Return ``(text, location)`` of the packaged manifest, else the source checkout's."""
    try:
        res = importlib.resources.files("hiprom") / "model_manifest.toml"
        if res.is_file():
            return res.read_text(encoding="utf-8"), str(res)
    except (OSError, ModuleNotFoundError, TypeError, ValueError):
        pass
    repo = Path(__file__).resolve().parents[3] / "models" / "manifest.toml"
    if repo.is_file():
        return repo.read_text(encoding="utf-8"), str(repo)
    raise ModelError(f"expected the model manifest as package data (hiprom/model_manifest.toml)"
                     f" or at {repo}, got neither", fix="reinstall hiprom")


def load_manifest() -> dict:
    """Read and check the model manifest.

    Returns
    -------
    dict
        Parsed TOML; ``["variants"][v]`` has non-empty ``file`` and ``url`` for each variant.

    Raises
    ------
    ModelError
        If the manifest is missing, not valid TOML, or lacks a variant's file or url.
    """
    text, where = _manifest_text()
    fix = "reinstall hiprom, or restore models/manifest.toml in a source checkout"
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ModelError(f"expected valid TOML, got: {exc}", path=where, fix=fix) from exc
    variants = data.get("variants")
    for v in VARIANTS:
        entry = variants.get(v) if isinstance(variants, dict) else None
        if not isinstance(entry, dict) or not all(
                isinstance(entry.get(k), str) and entry[k] for k in ("file", "url")):
            raise ModelError(f"expected [variants.{v}] with non-empty 'file' and 'url', got "
                             f"{entry!r}", path=where, fix=fix)
    return data


def default_cache_dir() -> Path:
    """Return ``$HIPROM_CACHE_DIR`` or ``<user cache>/hiprom/models`` (never created here)."""
    env = os.environ.get(ENV_CACHE_DIR, "").strip()
    if env:
        return Path(env).expanduser().resolve()
    return Path(platformdirs.user_cache_dir("hiprom")) / "models"


def _entry(variant: str) -> dict:
    if variant not in VARIANTS:
        raise ModelError(f"unknown model variant: expected one of {', '.join(VARIANTS)}, got "
                         f"{variant!r}", fix=f"use one of: {', '.join(VARIANTS)}")
    return load_manifest()["variants"][variant]


def _provide_hint(entry: dict, cache_dir: Path) -> str:
    return (f"give a model with --model PATH, or set {ENV_MODEL}=/path/to/{entry['file']}, "
            f"or place the file at {cache_dir / entry['file']}. Official URL to fetch it by "
            f"hand: {entry['url']}")


def validate_model_file(path: Path, *, expected_sha256: str | None = None) -> str:
    """Check that ``path`` is a pose landmarker ``.task`` bundle and return its SHA-256.

    Parameters
    ----------
    path : Path
        The file to check.
    expected_sha256 : str, optional
        Hex digest the file must have; not checked when ``None`` or empty.

    Returns
    -------
    str
        The file's hex SHA-256 digest.

    Raises
    ------
    ModelError
        If the file is missing, empty, not a zip, lacks a required ``.tflite`` member (named),
        fails a CRC check, holds members that are not the models their names say (e.g. the
        two swapped: told by their tensors, see :mod:`hiprom.vision.tflite_info`), or has a different digest.
    """
    path = Path(path)
    fix = "download the model again, or point --model / HIPROM_MODEL at a valid .task file"
    want = f"a .task zip holding {' and '.join(REQUIRED_MEMBERS)}"

    def fail(got: str) -> ModelError:
        return ModelError(f"expected {want}, got {got}", path=path, fix=fix)

    if not path.is_file():
        raise fail("a directory" if path.is_dir() else "no such file")
    if path.stat().st_size == 0:
        raise fail("an empty file (0 bytes)")
    if not zipfile.is_zipfile(path):
        with path.open("rb") as fh:
            head = fh.read(256).lstrip().lower()
        html = " (it looks like an HTML page)" if head.startswith((b"<!doctype", b"<html")) else ""
        raise fail(f"a file that is not a zip archive{html}")
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
            missing = [m for m in REQUIRED_MEMBERS if m not in names]
            if missing:
                raise fail(f"a zip without {' and '.join(missing)} "
                           f"(members: {', '.join(sorted(names)) or 'none'})")
            bad = zf.testzip()
            if bad is None:
                problem = pose_bundle_problem({m: zf.read(m) for m in REQUIRED_MEMBERS})
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise fail(f"a damaged zip archive ({exc})") from exc
    if bad is not None:
        raise fail(f"a damaged zip ({bad} fails its CRC check)")
    if problem is not None:
        raise fail(problem)
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    sha, want_sha = digest.hexdigest(), (expected_sha256 or "").strip().lower()
    if want_sha and sha != want_sha:
        raise ModelError(f"expected sha256 {want_sha}, got {sha}", path=path, fix=fix)
    return sha


def download_model(variant: str, dest_dir: Path, *, url: str | None = None,
                   progress: bool = True, timeout_s: float = 30.0) -> Path:
    """Download a model variant into ``dest_dir`` atomically, validated.

    Parameters
    ----------
    variant : str
        One of :data:`VARIANTS`.
    dest_dir : Path
        Target directory (created if needed); the file gets the manifest's name.
    url : str, optional
        Source URL; defaults to ``$HIPROM_MODEL_URL``, then the manifest URL. The manifest
        ``sha256`` (when non-empty) is only enforced for the manifest URL.
    progress : bool
        Show a progress bar on stderr when it is a terminal.
    timeout_s : float
        Socket timeout for connecting and for each read.

    Returns
    -------
    Path
        Path of the validated file.

    Raises
    ------
    ModelError
        On any failure (also Ctrl-C); no partial or invalid file is left in ``dest_dir``.
    """
    entry = _entry(variant)
    dest_dir, official = Path(dest_dir), entry["url"]
    url = url or os.environ.get(ENV_MODEL_URL, "").strip() or official
    expected = (entry.get("sha256") or None) if url == official else None
    fix = _provide_hint(entry, dest_dir)
    try:
        with atomic_path(dest_dir / entry["file"]) as tmp_path:
            with open(tmp_path, "xb") as tmp:
                _fetch(url, tmp, progress=progress, timeout_s=timeout_s)
            try:
                validate_model_file(tmp_path, expected_sha256=expected)
            except ModelError as exc:
                raise ModelError(f"the file downloaded from {url} is unusable: {exc.what}",
                                 fix=fix) from exc
    except BaseException as exc:
        where = None
        if isinstance(exc, OutputWriteError):
            where = dest_dir
            what = f"the model cannot be saved in the cache: {exc.what}"
            fix = f"set {ENV_CACHE_DIR} to a writable folder with space, or {fix}"
        elif isinstance(exc, ModelError):
            what = exc.what
        elif isinstance(exc, KeyboardInterrupt):
            what = f"download from {url} was interrupted; nothing was saved"
        elif isinstance(exc, urllib.error.HTTPError):
            what = f"download failed: {url} answered HTTP {exc.code} {exc.reason}"
        elif isinstance(exc, TimeoutError) or isinstance(getattr(exc, "reason", None),
                                                         TimeoutError):
            what = f"download from {url} timed out (no data for {timeout_s:g} s)"
        elif isinstance(exc, urllib.error.URLError):
            what = (f"no pose model was found, and downloading it from {url} failed "
                    f"(offline?): {exc.reason}")
        elif isinstance(exc, (http.client.IncompleteRead, ConnectionError)):
            what = f"download from {url} truncated: connection lost ({exc!r})"
        elif isinstance(exc, OSError):
            where = dest_dir
            what = f"expected a writable cache directory, got: {exc}"
            fix = f"set {ENV_CACHE_DIR} to a writable directory, or {fix}"
        else:
            what = f"download from {url} failed: {exc!r}"
        raise ModelError(what, path=where, fix=fix) from exc
    return dest_dir / entry["file"]


def _open_url(req: urllib.request.Request, timeout_s: float):
    """Open a download with the user's own proxy settings (hiprom's environment blocks
    MediaPipe's usage logging through the proxy variables: :mod:`hiprom.vision.offline`)."""
    return urllib.request.build_opener(download_proxy_handler(req.full_url)).open(req, timeout=timeout_s)


def _fetch(url: str, out: BinaryIO, *, progress: bool, timeout_s: float) -> None:
    """Stream ``url`` into ``out`` with a progress bar, check Content-Length, then fsync."""
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn, TransferSpeedColumn

    req = urllib.request.Request(url, headers={"User-Agent": "hiprom-model-download"})
    with _open_url(req, timeout_s) as resp:
        length = (resp.headers.get("Content-Length") or "").strip()
        total = int(length) if length.isdigit() else None
        console, done = Console(stderr=True), 0
        with Progress("[progress.description]{task.description}", BarColumn(),
                      DownloadColumn(), TransferSpeedColumn(), TimeRemainingColumn(),
                      console=console, transient=True,
                      disable=not (progress and console.is_terminal)) as bar:
            task = bar.add_task(f"Downloading {url.rsplit('/', 1)[-1]}", total=total)
            while chunk := resp.read(_CHUNK):
                out.write(chunk)
                done += len(chunk)
                bar.update(task, advance=len(chunk))
    if total is not None and done != total:
        raise ModelError(f"download from {url} truncated: expected {total} bytes "
                         f"(Content-Length), got {done}")
    out.flush()
    os.fsync(out.fileno())


def _info(path: Path, variant: str | None, source: str, sha: str) -> ModelInfo:
    path = path.resolve()
    if variant is None:  # name a user-supplied file's variant by its manifest file name
        files = {e["file"]: v for v, e in load_manifest()["variants"].items() if v in VARIANTS}
        variant = files.get(path.name)
    return ModelInfo(path, variant, source, sha, path.stat().st_size)


def resolve_model(path: str | Path | None = None, variant: str = "full", *,
                  download: bool = True, progress: bool = True, cache_dir: Path | None = None,
                  url: str | None = None) -> ModelInfo:
    """Find a usable pose model: explicit path, ``HIPROM_MODEL``, cache, then download.

    Parameters
    ----------
    path : str or Path, optional
        Explicit ``.task`` file (``--model``); if given it must be valid.
    variant : str
        Variant to look up in the cache or download (one of :data:`VARIANTS`).
    download : bool
        Allow a download when nothing usable is found locally.
    progress : bool
        Show a download progress bar (terminals only).
    cache_dir : Path, optional
        Cache directory; defaults to :func:`default_cache_dir`.
    url : str, optional
        Download URL, overriding ``$HIPROM_MODEL_URL`` and the manifest.

    Returns
    -------
    ModelInfo
        The validated model and where it came from.

    Raises
    ------
    ModelError
        If the variant is unknown, ``path`` or ``HIPROM_MODEL`` is bad, or no model can be
        found or downloaded.
    """
    entry = _entry(variant)
    cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    for given, source, label, fix in (
            (str(path or "").strip(), "argument", "given as --model",
             f"check the --model path, or omit it to use {ENV_MODEL} / the cache"),
            (os.environ.get(ENV_MODEL, "").strip(), "environment", f"from {ENV_MODEL}",
             f"point {ENV_MODEL} at a valid .task file, or unset it to use the cache")):
        if given:
            p = Path(given).expanduser()
            try:
                return _info(p, None, source, validate_model_file(p))
            except ModelError as exc:
                raise ModelError(f"({label}) {exc.what}", path=p, fix=fix) from exc
    cached = cache_dir / entry["file"]
    if cached.exists():
        try:
            sha = validate_model_file(cached, expected_sha256=entry.get("sha256") or None)
            return _info(cached, variant, "cache", sha)
        except ModelError as exc:
            if not download:
                raise ModelError(f"the cached model is invalid: {exc.what}", path=cached,
                                 fix=f"delete it and allow a download, or "
                                     f"{_provide_hint(entry, cache_dir)}") from exc
            _log.warning("cached model %s is invalid (%s); downloading it again", cached, exc.what)
    if not download:
        raise ModelError(f"no pose model was found (no --model, no {ENV_MODEL}, nothing in "
                         "the cache) and downloading is disabled",
                         fix=_provide_hint(entry, cache_dir))
    final = download_model(variant, cache_dir, url=url, progress=progress)
    return _info(final, variant, "download", validate_model_file(final))
