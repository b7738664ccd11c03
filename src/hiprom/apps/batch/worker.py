"""One clip of a batch, on whichever worker runs it: identity, scoring and atomic publishing.

:func:`run_clip` is the task both local worker processes and Dask workers run. It resolves the
model once per process (:func:`_worker_model`, checked by SHA-256), scores the clip, and
:func:`publish_clip` builds the clip's folder under a hidden temporary name (outputs first,
``batch.json`` last) and renames it into place. A bad clip is recorded, never raised.

Nothing heavy is imported at module level (a spawned worker imports this module before it
sets its thread limits).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as _dt
import hashlib
import json
import os
import signal
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hiprom._version import __version__
from hiprom.errors import AnalysisError, HipromError, InputError
from hiprom.io.atomic import atomic_folder, sweep

if TYPE_CHECKING:  # pragma: no cover
    from hiprom.config import Config
    from hiprom.vision.model_store import ModelInfo

__all__ = ["BATCH_FILE", "COSMETIC", "ClipTask", "ClipOutcome", "run_clip", "publish_clip", "sweep",
           "read_record", "is_done", "settings_sha256", "worker_threads", "available_cores"]

BATCH_FILE = "batch.json"
BATCH_SCHEMA = "hiprom.batch"
#: Settings that do not change a result: where the model file is, whether it may be
#: downloaded, which variant to download (the model's SHA-256 is in the key) and a queue size.
COSMETIC = {"model": ("path", "download", "variant"), "video": ("queue_size",)}
_PR_SET_PDEATHSIG = 1          # <linux/prctl.h>
_EXIT_ORPHANED = 70
_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS")


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity where known)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # pragma: no cover - macOS, Windows
        return max(1, os.cpu_count() or 1)


def worker_threads(workers: int, cores: int | None = None) -> int:
    """Threads each worker may use so that ``workers`` processes fill, not oversubscribe, the cores.

    Notes
    -----
    Applied to OpenCV (``cv2.setNumThreads``) and the OpenMP/BLAS pools (environment, set
    before they load). MediaPipe's Tasks API has no thread option and reads no environment
    variable for it; on desktop Linux/macOS builds its XNNPACK inference runs on one thread
    (MediaPipe's ``GetXnnpackDefaultNumThreads`` returns 1 off Android/iOS). Measured on one
    clip: the graph's threads take turns (two of them about 4.5 s of CPU each, the Python
    thread 3.3 s, 12.5 s of CPU in 11.7 s), so one worker keeps about one core busy whatever
    the caps, and workers = cores is the right default.
    """
    return max(1, (cores or available_cores()) // max(1, workers))


def settings_sha256(config: "Config", model_sha256: str) -> str:
    """SHA-256 of everything besides the input that changes a clip's result."""
    d = config.to_dict()
    for section, keys in COSMETIC.items():
        for k in keys:
            d.get(section, {}).pop(k, None)
    blob = json.dumps({"config": d, "model_sha256": model_sha256, "hiprom": __version__},
                      sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ClipTask:
    """Everything a worker (local or on a cluster) needs to score one clip; picklable."""

    input_path: str
    rel: str
    out_dir: str
    input_sha256: str
    settings_sha256: str
    config: Any
    model_path: str
    model_sha256: str
    model_variant: str | None = "full"
    plot: bool = True
    meta: dict = field(default_factory=dict)

    @property
    def key(self) -> str:
        return hashlib.sha256(f"{self.input_sha256}:{self.settings_sha256}".encode()).hexdigest()


@dataclass(frozen=True)
class ClipOutcome:
    """What became of one clip (``status`` ``"ok"``, ``"failed"`` or ``"skipped"``)."""

    rel: str
    status: str
    error: str | None = None
    exit_code: int = 0
    elapsed_s: float = 0.0
    peak_rss_mb: float | None = None
    worker: str = ""
    #: Per side verdict of a clip refused for holding no seated test (hiprom.errors.NoTestError).
    test: dict | None = None

    def __post_init__(self) -> None:
        if self.status not in ("ok", "failed", "skipped"):
            raise ValueError(f"status must be ok, failed or skipped, got {self.status!r}")


_MODELS: dict[str, "ModelInfo"] = {}


def _init_worker(model_path: str, model_sha256: str, variant: str | None, threads: int,
                 parent_pid: int | None = None) -> None:
    """Process-pool initializer: tie the worker to its parent, cap the thread pools, then
    resolve the model once."""
    if parent_pid is not None:
        die_with_parent(parent_pid)
    for var in _THREAD_VARS:
        os.environ[var] = str(threads)
    import cv2

    cv2.setNumThreads(threads)
    with contextlib.suppress(HipromError):  # reported per clip by run_clip, with its message
        _worker_model(model_path, model_sha256, variant)


def die_with_parent(parent_pid: int, *, poll_s: float = 1.0) -> None:
    """End this process within seconds when the process ``parent_pid`` (its parent) dies.

    A batch killed with ``kill -9`` cannot stop its workers itself: without this they would
    run on for minutes, each holding its memory and publishing clip folders without the
    batch's lock. On Linux the kernel sends the worker ``SIGKILL`` the moment its parent dies
    (``prctl(PR_SET_PDEATHSIG)``, through ctypes); everywhere, a daemon thread checks
    ``os.getppid()`` every ``poll_s`` seconds and exits when the parent is gone (the worker is
    then re-parented). A clip being written is left as a hidden temporary folder, which the
    next batch removes.
    """
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        except (OSError, AttributeError):  # pragma: no cover - no prctl: the thread below suffices
            pass
    if os.getppid() != parent_pid:      # the parent died before the signal was armed
        os._exit(_EXIT_ORPHANED)

    def watch() -> None:
        while True:
            time.sleep(poll_s)
            if os.getppid() != parent_pid:
                os._exit(_EXIT_ORPHANED)

    threading.Thread(target=watch, name="hiprom-parent-watch", daemon=True).start()


def _worker_model(path: str, sha256: str, variant: str | None) -> "ModelInfo":
    """The batch's model on this worker, resolved once per process and checked by SHA-256."""
    if sha256 in _MODELS:
        return _MODELS[sha256]
    from hiprom.errors import ModelError
    from hiprom.vision.model_store import resolve_model

    here = Path(path).is_file()
    info = resolve_model(path if here else None, variant or "full", progress=False)
    if info.sha256 != sha256:
        raise ModelError(f"this worker ({socket.gethostname()}) has a different pose model: expected sha256 "
                         f"{sha256[:12]}..., got {info.sha256[:12]}... ({info.path})",
                         fix="give every worker the batch's model file at the same path, or set HIPROM_MODEL "
                             "on the workers to a copy of it.")
    _MODELS[sha256] = info
    return info


def _peak_rss_mb() -> float | None:
    try:
        import resource
    except ImportError:  # pragma: no cover - Windows
        return None
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(rss / (1024 * 1024) if os.uname().sysname == "Darwin" else rss / 1024, 1)


def run_clip(task: ClipTask) -> ClipOutcome:
    """Score one clip and publish its folder atomically; never raises for a bad clip.

    The same function runs in a local worker process and as a Dask task.
    """
    t0 = time.perf_counter()
    result, error, code, retry, test = None, None, 0, False, None
    try:
        from hiprom.apps.pipeline import analyze

        model = _worker_model(task.model_path, task.model_sha256, task.model_variant)
        result = with_manifest(analyze(task.input_path, task.config, model=model), task.meta)
    except HipromError as exc:
        error, code, retry = exc.message, exc.exit_code, not isinstance(exc, (InputError, AnalysisError))
        test = getattr(exc, "verdicts", None)            # a clip with no seated test: each side's verdict
    except Exception as exc:  # noqa: BLE001 - a bug or a library failure on this clip only
        error, code, retry = f"{task.input_path}: internal error: {type(exc).__name__}: {exc}", 70, True
    worker = f"{socket.gethostname()}:{os.getpid()}"
    outcome = ClipOutcome(task.rel, "ok" if error is None else "failed", error, code,
                          round(time.perf_counter() - t0, 3), _peak_rss_mb(), worker, test)
    try:
        publish_clip(task, outcome, result, retry=retry)
    except Exception as exc:  # noqa: BLE001 - e.g. the plot failed: record it (a full disk raises again)
        if result is None:
            raise
        outcome = dataclasses.replace(outcome, status="failed", exit_code=70,
                                      error=f"{task.input_path}: the outputs could not be written: "
                                            f"{type(exc).__name__}: {exc}")
        publish_clip(task, outcome, retry=True)
    return outcome


def with_manifest(result: Any, meta: dict) -> Any:
    """The result with what its manifest row says: the subject (``subject_id``, ``age``,
    ``sex``) and the test (``date`` as the test date, ``notes``), as ``analyze`` stores them."""
    subject = {k: meta.get(m) for k, m in (("id", "subject_id"), ("age", "age"), ("sex", "sex")) if meta.get(m)}
    if subject:
        result = result.with_subject(**subject)
    return result.with_test(date=meta.get("date") or None, notes=meta.get("notes") or None)


def _record(task: ClipTask, outcome: ClipOutcome, retry: bool) -> dict:
    return {"schema": BATCH_SCHEMA, "schema_version": 1, "key": task.key, "status": outcome.status,
            "error": outcome.error, "exit_code": outcome.exit_code, "retry": retry,
            "input": {"path": task.input_path, "rel": task.rel, "sha256": task.input_sha256},
            "settings_sha256": task.settings_sha256, "model_sha256": task.model_sha256,
            "hiprom_version": __version__, "meta": task.meta, "elapsed_s": outcome.elapsed_s,
            "worker": {"id": outcome.worker, "peak_rss_mb": outcome.peak_rss_mb},
            **({"test": outcome.test} if outcome.test else {}),
            "finished_utc": _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()}


def publish_clip(task: ClipTask, outcome: ClipOutcome, result: Any = None, *, retry: bool = False) -> Path:
    """Build the clip folder (outputs, then ``batch.json``) under a hidden name; swap it into place."""
    from hiprom.outputs.folder import write_files

    final = Path(task.out_dir)
    with atomic_folder(final, replace=True) as built:
        if result is not None:
            write_files(result, built, plot=task.plot)
        (built / BATCH_FILE).write_text(json.dumps(_record(task, outcome, retry), indent=2, allow_nan=False) + "\n",
                                        encoding="utf-8")
    return final


def read_record(folder: Path) -> dict | None:
    """A clip folder's ``batch.json``, or ``None`` when absent or unreadable."""
    try:
        return json.loads((folder / BATCH_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def is_done(folder: Path, key: str) -> bool:
    """Does ``folder`` hold this key's result, or a failure that a re-run would repeat?"""
    rec = read_record(folder)
    if rec is None or rec.get("key") != key:
        return False
    return (folder / "result.json").is_file() if rec.get("status") == "ok" else not rec.get("retry", True)
