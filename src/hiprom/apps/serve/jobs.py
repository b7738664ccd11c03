"""The server's worker pool: uploads queue here and are analysed in worker processes.

A dispatcher thread keeps at most ``workers`` jobs in flight on a ``spawn`` process pool whose
processes start like batch workers (:func:`hiprom.apps.batch.worker._init_worker`: they end with
the server, even a killed one; thread caps; the model resolved once per process and checked by
SHA-256) and ignore Ctrl-C (the server stops them). When a worker process dies (a
crash in the decoder or the model), every job it had in flight becomes a suspect and suspects
run one at a time, so the clip that crashes alone is marked failed and the others finish, as
in ``hiprom batch`` (:func:`hiprom.apps.batch.run._run_local`).

A job's record moves ``queued`` → ``running`` (when a worker takes it; ``attempts`` + 1) →
``done`` or ``failed``. A finished job of a subject is stored in the history database, dated
by the form's test date. Stopping the server puts the jobs in flight back to ``queued``; a
server killed mid-analysis leaves them ``running``, and the next start resumes them
(:meth:`hiprom.apps.serve.store.JobStore.recover`).
"""

from __future__ import annotations

import concurrent.futures as cf
import os
import threading
from collections import deque
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from hiprom.apps.serve.store import JobStore, now_utc
from hiprom.apps.serve.worker import JobOutcome, JobTask, error_record, run_job, warm_up

if TYPE_CHECKING:  # pragma: no cover
    from hiprom.config import Config
    from hiprom.vision.model_store import ModelInfo

__all__ = ["JobManager"]


class JobManager:
    """Queue, run and settle analysis jobs.

    Parameters
    ----------
    store
        Where the job records live.
    config, model
        The settings and the resolved pose model every job uses.
    workers
        Worker processes (each keeps about one core busy).
    history_path
        The history database finished jobs of a subject are stored in.
    fn
        The task a worker runs (:func:`hiprom.apps.serve.worker.run_job`; tests give another).
    warm
        Start the worker processes at once and import what an analysis needs
        (:func:`hiprom.apps.serve.worker.warm_up`), instead of at the first clip.
    """

    def __init__(self, store: JobStore, config: "Config", model: "ModelInfo", *, workers: int = 1,
                 history_path: Path, fn: Callable[[JobTask], JobOutcome] = run_job, warm: bool = False):
        self.store, self.config, self.model = store, config, model
        self.workers, self.history_path, self.fn, self.warm = max(1, workers), history_path, fn, warm
        self._queue: deque[str] = deque()
        self._suspects: deque[str] = deque()
        self._wake = threading.Condition()
        self._stop = False
        self._in_flight: dict[cf.Future, tuple[str, bool]] = {}
        self._pool: cf.ProcessPoolExecutor | None = None
        self._thread: threading.Thread | None = None

    # -- lifetime -------------------------------------------------------------------------
    def start(self) -> list[str]:
        """Settle what a previous server left, queue what it did not finish; return those IDs."""
        requeued, _ = self.store.recover()
        for rec in self.store.all():
            if rec.get("status") == "done" and rec["meta"].get("subject_id") and rec.get("history") is None:
                self._store_history(rec["id"])
        if self.warm:
            self._pool = self._new_pool()
            for _ in range(self.workers):
                self._pool.submit(warm_up)
        self._thread = threading.Thread(target=self._run, name="hiprom-serve-dispatch", daemon=True)
        self._thread.start()
        for job_id in requeued:
            self.submit(job_id)
        return requeued

    def stop(self) -> None:
        """Stop taking jobs; the jobs in flight go back to ``queued`` (resumed at the next start)."""
        with self._wake:
            self._stop = True
            self._wake.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=10)
        pool, self._pool = self._pool, None
        if pool is not None:
            for proc in list(getattr(pool, "_processes", {}).values()):
                proc.terminate()                      # an analysis takes seconds: do not wait for it
            pool.shutdown(wait=True, cancel_futures=True)
        for job_id, _alone in list(self._in_flight.values()):
            rec = self.store.get(job_id)
            if rec is not None and rec.get("status") == "running":
                self.store.update(job_id, status="queued", attempts=max(0, rec.get("attempts", 1) - 1))
        self._in_flight.clear()

    def submit(self, job_id: str) -> None:
        with self._wake:
            self._queue.append(job_id)
            self._wake.notify_all()

    def position(self, job_id: str) -> int | None:
        """1 for the next job to start, None when not waiting."""
        with self._wake:
            waiting = list(self._suspects) + list(self._queue)
        return waiting.index(job_id) + 1 if job_id in waiting else None

    # -- the dispatcher thread --------------------------------------------------------------
    def _new_pool(self) -> cf.ProcessPoolExecutor:
        import multiprocessing

        from hiprom.apps.batch.worker import worker_threads
        from hiprom.apps.serve.worker import init_worker

        m = self.model
        initargs = (str(m.path), m.sha256, m.variant, worker_threads(self.workers), os.getpid())  # end with us
        return cf.ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"),
                                      initializer=init_worker, initargs=initargs)

    def _next(self) -> tuple[str, bool] | None:
        """The next job to start now, if a worker is free (suspects only alone)."""
        if self._suspects:
            return (self._suspects.popleft(), True) if not self._in_flight else None
        if self._queue and len(self._in_flight) < self.workers:
            return self._queue.popleft(), False
        return None

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._stop and not self._in_flight and not (self._queue or self._suspects):
                    self._wake.wait()
                if self._stop:
                    return
                nxt = self._next()
            if nxt is not None:
                self._start(*nxt)                     # start all that may start before waiting
                continue
            done, _ = cf.wait(list(self._in_flight), timeout=0.5, return_when=cf.FIRST_COMPLETED)
            for fut in done:
                self._settle(fut, *self._in_flight.pop(fut))

    def _drop_pool(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)

    def _start(self, job_id: str, alone: bool) -> None:
        rec = self.store.get(job_id)
        if rec is None or rec.get("status") not in ("queued", "running"):
            return
        rec = self.store.update(job_id, status="running", started_utc=now_utc(), attempts=rec.get("attempts", 0) + 1)
        task = JobTask(job_id, str(self.store.input_path(rec)), rec["input"]["name"],
                       str(self.store.result_dir(job_id)), self.config, str(self.model.path), self.model.sha256,
                       self.model.variant, dict(rec["meta"]))
        from concurrent.futures.process import BrokenProcessPool

        try:
            if self._pool is None:
                self._pool = self._new_pool()
            fut = self._pool.submit(self.fn, task)
        except BrokenProcessPool:
            self._drop_pool()
            with self._wake:
                self._suspects.append(job_id)
            return
        except Exception as exc:  # noqa: BLE001 - no worker could be started: say so on the job
            self._drop_pool()
            self._finish(JobOutcome(job_id, False, error_record(exc, rec["input"]["name"])))
            return
        self._in_flight[fut] = (job_id, alone)

    def _settle(self, fut: cf.Future, job_id: str, alone: bool) -> None:
        from concurrent.futures.process import BrokenProcessPool

        try:
            outcome = fut.result()
        except BrokenProcessPool:
            self._drop_pool()                         # a worker died: the pool is gone with it
            if not alone:
                with self._wake:
                    self._suspects.append(job_id)
                return
            rec = self.store.get(job_id) or {"input": {"name": job_id}}
            exc = RuntimeError("the worker process died while analysing it (a crash in the video decoder "
                               "or the model)")
            outcome = JobOutcome(job_id, False, error_record(exc, rec["input"]["name"]))
            outcome.error.update(fix="copy the file again from the phone, or convert it to H.264 MP4 "
                                     "(ffmpeg -i INPUT -c:v libx264 -pix_fmt yuv420p out.mp4), and try again.")
        except Exception as exc:  # noqa: BLE001 - the task could not be sent or returned
            rec = self.store.get(job_id) or {"input": {"name": job_id}}
            outcome = JobOutcome(job_id, False, error_record(exc, rec["input"]["name"]))
        self._finish(outcome)

    def _finish(self, outcome: JobOutcome) -> None:
        if outcome.ok:
            self.store.update(outcome.job_id, status="done", finished_utc=now_utc(), elapsed_s=outcome.elapsed_s)
            rec = self.store.get(outcome.job_id)
            if rec is not None and rec["meta"].get("subject_id"):
                self._store_history(outcome.job_id)
        else:
            self.store.update(outcome.job_id, status="failed", finished_utc=now_utc(), error=outcome.error,
                              elapsed_s=outcome.elapsed_s)

    def _store_history(self, job_id: str) -> None:
        """Add a finished job to its subject's history (once: the history knows the clip)."""
        from hiprom.errors import HipromError
        from hiprom.outputs.history import History

        rec = self.store.get(job_id)
        meta = rec["meta"]
        when = f"{meta['test_date']}T12:00:00+00:00" if meta.get("test_date") else None
        try:
            with History(self.history_path) as history:
                stored = history.add(self.store.result_dir(job_id), meta["subject_id"],
                                     result_dir=self.store.result_dir(job_id), measured_utc=when)
            self.store.update(job_id, history={"stored": True, "new": stored, "path": str(self.history_path)})
        except (HipromError, OSError) as exc:
            self.store.update(job_id, history={"stored": False, "error": str(exc)})


def describe(manager: JobManager, record: dict[str, Any]) -> dict[str, Any]:
    """The API's view of a job: status, progress 0..1, the stage, and the queue position."""
    status = record["status"]
    prog = manager.store.progress(record["id"]) if status == "running" else {"progress": 0.0, "stage": ""}
    if status == "done":
        prog = {"progress": 1.0, "stage": "done"}
    return {"status": status, "progress": prog["progress"], "stage": prog["stage"],
            "queue_position": manager.position(record["id"]) if status == "queued" else None}
