"""One uploaded clip, analysed in a worker process: measurement, norms, report, annotated video.

:func:`run_job` is what the server's worker pool runs (:mod:`hiprom.apps.serve.jobs`). Each
worker process is started like a batch worker (:func:`hiprom.apps.batch.worker._init_worker`:
thread caps, then the model resolved once and checked by SHA-256). The job's output folder is
written by :meth:`hiprom.apps.analysis.Analysis.save`, which builds it under a hidden name and
renames it into place, so ``result/`` exists whole or not at all. Progress goes to
``progress.json`` in the job folder (replaced atomically, at most every 0.2 s), which the server
reads when asked.

Nothing heavy is imported at module level (a spawned worker imports this module first).
"""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hiprom.apps.serve.store import PROGRESS_FILE, write_json
from hiprom.errors import HipromError

__all__ = ["JobTask", "JobOutcome", "init_worker", "run_job", "warm_up", "error_record", "STAGES"]

#: The share of the progress bar each stage takes: pose model over the frames, then the outputs.
STAGES = {"reading": (0.0, 0.75), "report": (0.75, 0.85), "video": (0.85, 1.0)}


@dataclass(frozen=True)
class JobTask:
    """What a worker needs to analyse one upload; picklable."""

    job_id: str
    input_path: str
    display_name: str
    out_dir: str
    config: Any
    model_path: str
    model_sha256: str
    model_variant: str | None = "full"
    meta: dict = field(default_factory=dict)


@dataclass(frozen=True)
class JobOutcome:
    """What became of a job: ``ok`` or the error record (see :func:`error_record`)."""

    job_id: str
    ok: bool
    error: dict | None = None
    elapsed_s: float = 0.0


def error_record(exc: BaseException, display_name: str | None = None) -> dict[str, Any]:
    """The job's error as the page and the API show it: the message names the uploaded file (not
    where the server keeps it; ``None``: a form problem, no file), then what went wrong and how to
    fix it, as the CLI prints them."""
    if isinstance(exc, HipromError):
        what, fix, code = exc.what, exc.fix, exc.exit_code
        verdicts = getattr(exc, "verdicts", None) or None
    else:
        what = f"internal error: {type(exc).__name__}: {exc}"
        fix, code, verdicts = "this is a bug in hiprom: please report it with the file if you can.", 70, None
    message = (f"{display_name}: {what}" if display_name else what) + (f"\n  How to fix: {fix}" if fix else "")
    out = {"message": message, "what": what, "fix": fix, "exit_code": code}
    if verdicts:
        out["test"] = verdicts
    return out


class _Progress:
    """Writes ``progress.json`` for a job: a stage and its share of the bar."""

    def __init__(self, folder: Path):
        self.path = folder / PROGRESS_FILE
        self.last = 0.0

    def stage(self, name: str, done: int = 0, total: int | None = None, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self.last < 0.2:
            return
        self.last = now
        lo, hi = STAGES[name]
        frac = min(1.0, done / total) if total else 0.0
        with contextlib.suppress(OSError):   # progress is a courtesy: never fail an analysis for it
            write_json(self.path, {"progress": round(lo + (hi - lo) * frac, 4), "stage": name})

    def callback(self, name: str):
        return lambda done, total: self.stage(name, done, total)


def init_worker(*batch_args: Any) -> None:
    """Pool initializer: Ctrl-C in the server's terminal reaches the workers too; they ignore it
    (the server stops them itself, and puts their jobs back in the queue), then start as batch
    workers do (:func:`hiprom.apps.batch.worker._init_worker`)."""
    import signal

    from hiprom.apps.batch.worker import _init_worker

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _init_worker(*batch_args)


def warm_up() -> int:
    """Import what an analysis needs (about 6 s on a busy 2-core machine), so that the first clip
    a clinic sends after start-up does not wait for it; the pose model loads per clip anyway."""
    import hiprom.apps.pipeline  # noqa: F401
    import hiprom.interpret.norms  # noqa: F401
    import hiprom.outputs.annotate  # noqa: F401
    import hiprom.outputs.folder  # noqa: F401
    import hiprom.outputs.report  # noqa: F401

    return os.getpid()


def run_job(task: JobTask) -> JobOutcome:
    """Analyse one upload and write its output folder; never raises for a bad clip."""
    from hiprom.apps.batch.worker import _worker_model
    from hiprom.apps.pipeline import analyze
    from hiprom.interpret.norms import compare

    t0 = time.perf_counter()
    folder = Path(task.out_dir).parent
    progress = _Progress(folder)
    progress.stage("reading", force=True)
    meta = task.meta
    try:
        model = _worker_model(task.model_path, task.model_sha256, task.model_variant)
        result = analyze(task.input_path, task.config, model=model, progress=progress.callback("reading"))
        comparison = compare(result, age=meta.get("age"), sex=meta.get("sex"), sport=meta.get("sport"))
        subject = {k: meta.get(k) for k in ("age", "sex", "sport")}
        result = result.with_subject(id=meta.get("subject_id"), **subject).with_norms(comparison.to_dict())
        result.save(task.out_dir, plot=True, extras=_writers(task, result, comparison, progress))
    except Exception as exc:  # noqa: BLE001 - a bad clip (HipromError) or a bug: recorded, never raised
        return JobOutcome(task.job_id, False, error_record(exc, task.display_name),
                          round(time.perf_counter() - t0, 3))
    write_json(progress.path, {"progress": 1.0, "stage": "done"})
    return JobOutcome(task.job_id, True, None, round(time.perf_counter() - t0, 3))


def _writers(task: JobTask, result: Any, comparison: Any, progress: _Progress) -> list:
    """report.html always, annotated.mp4 for a video; into the temporary output folder."""
    from hiprom.outputs.report import write_report

    blur = bool(task.meta.get("blur_faces"))
    video = Path(task.input_path)

    def report(tmp: Path) -> None:
        progress.stage("report", force=True)
        write_report(result, tmp / "report.html", comparison=comparison, video_path=video, blur_faces=blur)

    def annotated(tmp: Path) -> None:
        from hiprom.outputs.annotate import write_annotated_video

        progress.stage("video", force=True)
        write_annotated_video(result, video, tmp / "annotated.mp4", blur_faces=blur,
                              progress=progress.callback("video"))

    return [report] + ([annotated] if result.series.kind == "video" else [])
