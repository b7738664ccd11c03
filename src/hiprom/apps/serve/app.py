"""``hiprom serve``'s web application: the pages, the JSON API and their wiring.

>>> from hiprom.apps.serve.app import ServeSettings, create_app       # doctest: +SKIP
>>> app = create_app(ServeSettings(data_dir=..., history_path=..., config=..., model=...))

Pages (server-rendered, :mod:`hiprom.apps.serve.pages`): ``/`` patients, ``/subjects/ID`` a
patient's tests over time, ``/new`` a new test, ``/analyses`` recent analyses, ``/analyses/ID``
one analysis (progress, then the report, the annotated video and the downloads, or why the file
was refused and how to film the test). API (JSON): ``POST /api/analyses``, ``GET
/api/analyses[/ID]``, ``GET /api/subjects[/ID]``; ``GET /analyses/ID/report`` and
``/analyses/ID/files/NAME`` serve the outputs. Every request passes
:class:`hiprom.apps.serve.guard.Guard`.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from hiprom.apps.serve import pages
from hiprom.apps.serve.guard import LOOPBACK_HOSTS, REPORT_CSP, Guard
from hiprom.apps.serve.jobs import JobManager, describe
from hiprom.apps.serve.store import DOWNLOADS, JobStore
from hiprom.apps.serve.uploads import FIELDS, Refused, check_fields, receive
from hiprom.apps.serve.worker import run_job

if TYPE_CHECKING:  # pragma: no cover
    from hiprom.config import Config
    from hiprom.vision.model_store import ModelInfo

__all__ = ["ServeSettings", "create_app", "DEFAULT_MAX_UPLOAD_MB"]

DEFAULT_MAX_UPLOAD_MB = 2000


@dataclass(frozen=True)
class ServeSettings:
    """Everything the server is started with (see ``hiprom serve --help``)."""

    data_dir: Path
    history_path: Path
    config: "Config"
    model: "ModelInfo"
    workers: int = 1
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_MB * 1_000_000
    token: str | None = None
    allowed_hosts: tuple[str, ...] | None = LOOPBACK_HOSTS
    fn: Callable = field(default=run_job)
    #: Start the workers and import the analysis at start-up (the first clip is then ~6 s sooner).
    warm: bool = True


def _error(status: int, error: dict[str, Any]) -> JSONResponse:
    return JSONResponse({"error": error["message"], "error_detail": error}, status_code=status)


def create_app(settings: ServeSettings) -> Any:
    """The ASGI application (a Starlette app behind :class:`~hiprom.apps.serve.guard.Guard`)."""
    store = JobStore(settings.data_dir)
    manager = JobManager(store, settings.config, settings.model, workers=settings.workers,
                         history_path=settings.history_path, fn=settings.fn, warm=settings.warm)
    hist = settings.history_path

    def record_or_404(request: Request) -> dict[str, Any]:
        rec = store.get(request.path_params["job_id"])
        if rec is None:
            raise HTTPException(404, "no such analysis")
        return rec

    # -- pages ----------------------------------------------------------------------------
    def home(request: Request) -> Response:
        return HTMLResponse(pages.render("patients.html", data_dir=store.data, **pages.patients_view(hist)))

    def patient(request: Request) -> Response:
        sid = request.path_params["subject_id"]
        view = pages.patient_view(store, hist, sid)
        if view is None:
            raise HTTPException(404, f"no tests stored for patient {sid!r}")
        return HTMLResponse(pages.render("patient.html", data_dir=store.data, **view))

    def patient_plot(request: Request) -> Response:
        png = pages.history_plot_png(hist, request.path_params["subject_id"])
        if png is None:
            raise HTTPException(404, "no tests stored for this patient")
        return Response(png, media_type="image/png")

    def new_form(request: Request, form: dict[str, str] | None = None, error: dict | None = None,
                 status: int = 200) -> Response:
        from hiprom.interpret.norms import known_sports

        subjects = []
        if hist.is_file():
            from hiprom.outputs.history import History

            with History(hist) as h:
                subjects = h.subjects()
        values = {k: "" for k in FIELDS} | {"test_date": _dt.date.today().isoformat()}
        values |= {k: v for k, v in (form or dict(request.query_params)).items() if k in FIELDS}
        mb = settings.max_upload_bytes / 1e6
        return HTMLResponse(pages.render("new.html", title="New test", nav="new", data_dir=store.data, form=values,
                                         subjects=subjects, sports=known_sports(), error=error,
                                         max_bytes=settings.max_upload_bytes, max_mb=f"{mb:g}"),
                            status_code=status)

    async def new_submit(request: Request) -> Response:
        """The form without JavaScript: queue every file, then show the first (or the list)."""
        try:
            ids, _ = await _accept(request)
        except Refused as exc:
            return new_form(request, exc.fields, exc.error, exc.status)
        return RedirectResponse(f"/analyses/{ids[0]}" if len(ids) == 1 else "/analyses", status_code=303)

    def analyses(request: Request) -> Response:
        return HTMLResponse(pages.render("analyses.html", data_dir=store.data, **pages.analyses_view(store)))

    def analysis(request: Request) -> Response:
        rec = record_or_404(request)
        view = pages.analysis_view(store, rec, describe(manager, rec))
        return HTMLResponse(pages.render("analysis.html", data_dir=store.data, **view))

    def report(request: Request) -> Response:
        rec = record_or_404(request)
        path = store.result_dir(rec["id"]) / "report.html"
        if rec["status"] != "done" or not path.is_file():
            raise HTTPException(404, "this analysis has no report (not finished, or refused)")
        return FileResponse(path, media_type="text/html; charset=utf-8",
                            headers={"content-security-policy": REPORT_CSP, "x-frame-options": "SAMEORIGIN"})

    def download(request: Request) -> Response:
        rec = record_or_404(request)
        name = request.path_params["name"]
        path = store.files(rec["id"]).get(name) if name in DOWNLOADS else None
        if path is None or store.inside(path) is None:
            raise HTTPException(404, f"no file {name!r} in this analysis")
        headers = {"content-security-policy": REPORT_CSP} if name == "report.html" else {}
        return FileResponse(path, media_type=DOWNLOADS[name], headers=headers)

    # -- API ------------------------------------------------------------------------------
    async def _accept(request: Request) -> tuple[list[str], dict[str, str]]:
        got = await receive(request, store, max_bytes=settings.max_upload_bytes)
        try:
            meta = check_fields(got.fields)
        except Refused as exc:
            got.discard(store)
            exc.fields = got.fields                      # the form is shown again, filled in
            raise
        for f in got.files:
            store.create(f.job_id, {"name": f.name, "file": f.path.name, "size_bytes": f.size_bytes}, meta)
            manager.submit(f.job_id)
        return [f.job_id for f in got.files], got.fields

    async def api_create(request: Request) -> Response:
        try:
            ids, _ = await _accept(request)
        except Refused as exc:
            return _error(exc.status, exc.error)
        return JSONResponse({"id": ids[0], "ids": ids, "status_url": f"/api/analyses/{ids[0]}"}, status_code=202,
                            headers={"location": f"/api/analyses/{ids[0]}"})

    def api_job(rec: dict[str, Any]) -> dict[str, Any]:
        from hiprom.errors import HipromError
        from hiprom.io.result_json import read_result

        out = {"id": rec["id"], **describe(manager, rec), "result": None, "error": None, "error_detail": None,
               "input": rec["input"], "meta": rec["meta"], "created_utc": rec["created_utc"],
               "finished_utc": rec.get("finished_utc"), "elapsed_s": rec.get("elapsed_s"), "files": {}}
        if rec["status"] == "done":
            try:
                out["result"] = read_result(store.result_dir(rec["id"]) / "result.json")
            except HipromError as exc:
                out["error"] = exc.message
            out["files"] = {n: f"/analyses/{rec['id']}/files/{n}" for n in store.files(rec["id"])}
            out["report"] = f"/analyses/{rec['id']}/report"
        elif rec["status"] == "failed" and rec.get("error"):
            out["error"], out["error_detail"] = rec["error"]["message"], rec["error"]
        return out

    def api_get(request: Request) -> Response:
        return JSONResponse(api_job(record_or_404(request)))

    def api_list(request: Request) -> Response:
        return JSONResponse({"analyses": [{"id": r["id"], "status": r["status"], "input": r["input"],
                                           "subject_id": r["meta"].get("subject_id"), "created_utc": r["created_utc"]}
                                          for r in store.all()]})

    def api_subjects(request: Request) -> Response:
        return JSONResponse({"subjects": pages.patients_view(hist)["subjects"]})

    def api_subject(request: Request) -> Response:
        from hiprom.outputs.history import History, default_mdc_deg, with_changes

        sid = request.path_params["subject_id"]
        rows = None
        if hist.is_file():
            with History(hist) as h:
                rows = h.rows(sid)
        if rows is None or rows.empty:
            raise HTTPException(404, f"no tests stored for patient {sid!r}")
        mdc = default_mdc_deg()
        table = with_changes(rows, mdc)
        table = table.assign(date=table["date"].map(lambda d: d.isoformat()))
        records = json.loads(table.to_json(orient="records"))
        for r in records:
            r["analysis_id"] = store.job_of(r.get("result_dir"))
        return JSONResponse({"subject_id": sid, "mdc_deg": mdc, "measurements": records})

    # -- errors ---------------------------------------------------------------------------
    def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": exc.detail, "error_detail": {"what": exc.detail, "fix": None}},
                                status_code=exc.status_code)
        body = pages.render("error.html", title=str(exc.status_code), nav="", data_dir=store.data,
                            status=exc.status_code, detail=exc.detail)
        return HTMLResponse(body, status_code=exc.status_code)

    def key_error(request: Request, exc: Exception) -> Response:
        return http_error(request, HTTPException(404, "no such analysis"))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        manager.start()
        try:
            yield
        finally:
            manager.stop()

    job = "/analyses/{job_id}"
    routes = [
        Route("/", home), Route("/new", new_form, methods=["GET"]), Route("/new", new_submit, methods=["POST"]),
        Route("/analyses", analyses), Route(job, analysis), Route(job + "/report", report),
        Route(job + "/files/{name}", download),
        Route("/subjects/{subject_id:path}/plot.png", patient_plot), Route("/subjects/{subject_id:path}", patient),
        Route("/api/analyses", api_create, methods=["POST"]), Route("/api/analyses", api_list, methods=["GET"]),
        Route("/api" + job, api_get), Route("/api/subjects", api_subjects),
        Route("/api/subjects/{subject_id:path}", api_subject),
        Mount("/static", StaticFiles(directory=str(pages.HERE / "static")), name="static"),
    ]
    app = Starlette(routes=routes, lifespan=lifespan,
                    exception_handlers={HTTPException: http_error, KeyError: key_error})
    app.state.store, app.state.manager, app.state.settings = store, manager, settings
    guarded = Guard(app, token=settings.token, allowed_hosts=settings.allowed_hosts)
    guarded.state = app.state  # type: ignore[attr-defined]  (tests reach the store and the manager)
    return guarded

