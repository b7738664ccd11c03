"""Score many clips into one table, resumably, on this machine or on a Dask cluster.

>>> from hiprom.batch import run_batch
>>> report = run_batch("clinic/", "clinic_scores/", workers=2)      # doctest: +SKIP
>>> report.exit_code, report.files["csv"]                          # doctest: +SKIP

Layout of the output folder ``DIR``: ``DIR/clips/<slug>-<hash>/`` per input (the folder
``hiprom analyze`` writes, plus ``batch.json``), ``DIR/summary.csv``, ``DIR/summary.parquet``
and ``DIR/cohort.png`` (see :mod:`hiprom.batch_summary`, rebuilt from the clip folders).

Resuming. A clip's *key* is the id of its input (:func:`hiprom.io.hashing.input_sha256`, the
same id the history uses) combined with the
SHA-256 of the settings that change results (``Config.to_dict()`` without the cosmetic
:data:`~hiprom.batch_worker.COSMETIC` keys, the model file's SHA-256 and the hiprom version). ``batch.json`` records
it; a re-run skips a clip whose folder holds the same key with a result, or with a failure the
input itself caused (it would fail again: :class:`~hiprom.errors.InputError` or
:class:`~hiprom.errors.AnalysisError`); other failures (a crashed worker, a model problem) are
tried again. ``force=True`` (``--force``) redoes everything.

Safety. Each clip folder is built under a hidden temporary name in ``DIR/clips/`` with
``batch.json`` written last, then renamed into place, so a visible clip folder is always
complete; a kill (even ``kill -9``) leaves at most hidden ``.*.tmp`` / ``.*.old`` entries,
which the next run removes (an interrupted replacement is rolled back). A lock file
(``DIR/.hiprom-batch.lock``) stops two batches writing to the same folder at once. Worker
processes end by themselves within a second or so when the batch process dies, even by
``kill -9`` (:func:`hiprom.apps.batch.worker.die_with_parent`), so none keeps publishing
clips without the lock.

Workers. Local mode uses processes (``spawn``), each resolving the model once; see
:func:`hiprom.batch_worker.worker_threads` for the threads each is allowed. The per-clip task
and the clip folder live in :mod:`hiprom.batch_worker`.

Running on a Dask cluster (``--dask ADDRESS``). The same :func:`run_clip` runs as a Dask task.

1. Give every worker machine the same Python environment (``pip install "hiprom[dask]"``, same
   hiprom version) and a shared filesystem that holds the inputs and ``DIR`` at the *same*
   paths as on the machine that runs ``hiprom batch`` (workers read the clips and write the
   clip folders themselves; the summary is then built by the client from those folders).
2. The model: the client resolves it and sends its path and SHA-256 with each task. A worker
   uses that path if it exists there, else its own ``HIPROM_MODEL`` / cache / download, and
   refuses a model whose SHA-256 differs (results would differ).
3. Start a scheduler and workers with one thread and one process per core, e.g.::

       dask scheduler                                   # prints tcp://HOST:8786
       dask worker tcp://HOST:8786 --nworkers 8 --nthreads 1 --memory-limit 2GB   # per node

   One worker process keeps about one core busy and peaks at about 0.6 GB (1280x720 clips).

   (with SLURM/PBS use ``dask-jobqueue``, same one-thread workers), then::

       hiprom batch manifest.csv --out /shared/scores --dask tcp://HOST:8786

Results are identical to local mode: same task, same code, same model.
"""

from __future__ import annotations

import concurrent.futures as cf
import os
import secrets
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable

from hiprom.apps.batch.manifest import CLIPS_DIR, LOCK_FILE, ClipItem, load_items
from hiprom.apps.batch.worker import (
    BATCH_FILE,
    ClipOutcome,
    ClipTask,
    _init_worker,
    available_cores,
    is_done,
    publish_clip,
    read_record,
    run_clip,
    settings_sha256,
    sweep,
    worker_threads,
)
from hiprom.errors import ConfigError, HipromError
from hiprom.io.hashing import try_input_sha256

if TYPE_CHECKING:  # pragma: no cover
    from hiprom.config import Config
    from hiprom.vision.model_store import ModelInfo

__all__ = ["EXIT_SOME_FAILED", "BATCH_FILE", "CLIPS_DIR", "ClipTask", "ClipOutcome", "BatchReport",
           "BatchLockedError", "run_batch", "run_clip"]

EXIT_SOME_FAILED = 3


class BatchLockedError(HipromError):
    """Another batch is writing to the same output folder (usage error, exit code 2)."""

    exit_code = 2


# -- running many ---------------------------------------------------------------------------
@dataclass
class BatchReport:
    """The counts and files of one :func:`run_batch` call."""

    out_dir: Path
    items: list[ClipItem]
    outcomes: dict[str, ClipOutcome] = field(default_factory=dict)
    files: dict[str, Path] = field(default_factory=dict)
    #: Inputs passed over while searching the folder, with the reason (special files).
    skipped: list[tuple[Path, str]] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(o.status == status for o in self.outcomes.values())

    @property
    def failed_in_table(self) -> list[str]:
        """Inputs whose folder records a failure (this run's or a remembered one)."""
        return [it.rel for it in self.items
                if (read_record(self.out_dir / CLIPS_DIR / it.folder) or {}).get("status") != "ok"]

    @property
    def exit_code(self) -> int:
        return EXIT_SOME_FAILED if self.failed_in_table else 0


def run_batch(input_path: str | Path, out_dir: str | Path, config: "Config | None" = None, *,
              workers: int | None = None, force: bool = False, plot: bool = True, dask: Any = None,
              model: "ModelInfo | None" = None, reporter: Any = None) -> BatchReport:
    """Score every clip of a folder or manifest into ``out_dir``; see the module docs.

    Parameters
    ----------
    workers
        Local worker processes (default: the cores available); ignored with ``dask``.
    dask
        A scheduler address (``"tcp://host:8786"``) or a ``distributed.Client``.
    reporter
        Optional object with ``start(todo, skipped)`` and ``done(outcome)`` (progress display),
        and optionally ``note(path, reason)`` for files passed over (special files).

    Raises
    ------
    HipromError
        Before any clip is run: a bad folder or manifest (exit 2), model or lock problems.
    """
    from hiprom.apps.pipeline import load_model
    from hiprom.config import Config

    if workers is not None and workers < 1:
        raise ConfigError(f"expected at least 1 worker, got {workers}", fix="use --workers 1 or more.")
    config = config or Config()
    out = Path(out_dir).expanduser().resolve()
    skipped: list[tuple[Path, str]] = []

    def on_skip(path: Path, reason: str) -> None:
        skipped.append((path, reason))
        if reporter is not None and hasattr(reporter, "note"):
            reporter.note(path, reason)

    items = load_items(input_path, exclude=out, on_skip=on_skip)
    if len({it.folder for it in items}) != len(items):  # pragma: no cover - a 32-bit hash collision
        raise ConfigError("two inputs map to the same output folder name", path=input_path,
                          fix="rename one of the files.")
    model = model or load_model(config, progress=False)
    client, own = _dask_client(dask) if dask is not None else (None, False)
    report = BatchReport(out, items, skipped=skipped)
    try:
        out.mkdir(parents=True, exist_ok=True)
        with _locked(out):
            clips = out / CLIPS_DIR
            sweep(clips)
            sweep(out)
            todo = _plan(items, clips, config, model, force, plot, report)
            if reporter is not None:
                reporter.start(len(todo), report.count("skipped"))

            def finished(task: ClipTask, outcome: ClipOutcome) -> None:
                report.outcomes[task.rel] = outcome
                if reporter is not None:
                    reporter.done(outcome)

            if todo and client is not None:
                _run_dask(todo, client, finished)
            elif todo:
                n = min(workers or available_cores(), len(todo))
                _run_local(todo, n, worker_threads(n), finished)
            from hiprom.apps.batch.summary import write_summary

            report.files = write_summary(out, items)
    finally:
        if own:
            client.close()
    return report


def _plan(items: list[ClipItem], clips: Path, config: "Config", model: "ModelInfo", force: bool, plot: bool,
          report: BatchReport) -> list[ClipTask]:
    """Hash the inputs (a few threads: I/O), build the tasks and drop the clips already done."""
    settings = settings_sha256(config, model.sha256)
    with cf.ThreadPoolExecutor(max_workers=4) as pool:
        shas = list(pool.map(try_input_sha256, [it.path for it in items]))
    todo = []
    for it, sha in zip(items, shas):
        # an input that cannot be read now gets a key no folder holds: its task runs and fails cleanly
        task = ClipTask(str(it.path), it.rel, str(clips / it.folder), sha or "unreadable", settings, config,
                        str(model.path), model.sha256, model.variant, plot, it.meta())
        if not force and is_done(clips / it.folder, task.key):
            report.outcomes[it.rel] = ClipOutcome(it.rel, "skipped")
        else:
            todo.append(task)
    return todo


def _crash_outcome(task: ClipTask, what: str) -> ClipOutcome:
    outcome = ClipOutcome(task.rel, "failed", f"{task.input_path}: {what}", 70)
    publish_clip(task, outcome, retry=True)
    return outcome


def _run_local(tasks: Iterable[ClipTask], workers: int, threads: int,
               finished: Callable[[ClipTask, ClipOutcome], None], *, fn: Callable = run_clip) -> None:
    """Run tasks on ``workers`` spawned processes.

    When a worker process dies (a crash in native code), every clip it had in flight becomes a
    suspect; suspects are then run one at a time, so the clip that crashes alone is the culprit
    and is recorded as failed, while the others finish normally.
    """
    import multiprocessing
    from concurrent.futures.process import BrokenProcessPool

    pending, suspects = deque(tasks), deque()
    if not pending:
        return
    first = pending[0]
    initargs = (first.model_path, first.model_sha256, first.model_variant, threads, os.getpid())
    while pending or suspects:
        pool = cf.ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                                      initializer=_init_worker, initargs=initargs)
        running: dict[cf.Future, tuple[ClipTask, bool]] = {}
        try:
            while True:
                while (suspects and not running) or (not suspects and pending and len(running) < 2 * workers):
                    queue = suspects or pending
                    try:
                        fut = pool.submit(fn, queue[0])
                    except BrokenProcessPool:
                        break
                    running[fut] = (queue.popleft(), queue is suspects)
                if not running:
                    break
                done, _ = cf.wait(running, return_when=cf.FIRST_COMPLETED)
                for fut in done:
                    task, alone = running.pop(fut)
                    try:
                        finished(task, fut.result())
                    except BrokenProcessPool:
                        if alone:
                            finished(task, _crash_outcome(task, "the worker process died while analysing it "
                                                                "(a crash in the video decoder or the model)"))
                        else:
                            suspects.append(task)
                    except Exception as exc:  # noqa: BLE001 - e.g. the task could not be sent
                        finished(task, _crash_outcome(task, f"internal error: {type(exc).__name__}: {exc}"))
        finally:
            pool.shutdown(wait=not running, cancel_futures=True)


def _dask_client(dask: Any) -> tuple[Any, bool]:
    """``(client, opened here)`` for a scheduler address or an existing ``distributed.Client``."""
    try:
        from distributed import Client
    except ImportError:
        raise HipromError("--dask needs the dask distributed package, which is not installed",
                          fix='pip install "hiprom[dask]"') from None
    if isinstance(dask, Client):
        return dask, False
    try:
        return Client(dask, timeout="10s"), True
    except (OSError, TimeoutError, ValueError) as exc:
        raise HipromError(f"cannot reach the Dask scheduler at {dask!r}: {exc}",
                          fix="check the address (tcp://HOST:8786) and that the scheduler is running.") from None


def _run_dask(tasks: list[ClipTask], client: Any, finished: Callable[[ClipTask, ClipOutcome], None]) -> None:
    """Run the same :func:`run_clip` tasks on a Dask cluster; results arrive as they finish."""
    from distributed import as_completed

    token = secrets.token_hex(4)
    futures = {client.submit(run_clip, t, key=f"hiprom-clip-{t.key[:16]}-{token}", pure=False): t for t in tasks}
    for fut in as_completed(futures):
        task = futures[fut]
        try:
            finished(task, fut.result())
        except Exception as exc:  # noqa: BLE001 - KilledWorker, lost connection...
            finished(task, _crash_outcome(task, f"the Dask task failed: {type(exc).__name__}: {exc}"))


class _locked:
    """An exclusive ``flock`` on ``DIR/.hiprom-batch.lock`` (released by the OS even on kill -9)."""

    def __init__(self, out: Path):
        self.path = out / LOCK_FILE
        self.fh = None

    def __enter__(self) -> "_locked":
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows: no lock
            return self
        self.fh = open(self.path, "a+")
        try:
            fcntl.flock(self.fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self.fh.close()
            raise BatchLockedError("another hiprom batch is writing to this folder", path=self.path.parent,
                                   fix="wait for it to finish, or use another --out folder.") from None
        return self

    def __exit__(self, *exc: object) -> None:
        if self.fh is not None:
            self.fh.close()

