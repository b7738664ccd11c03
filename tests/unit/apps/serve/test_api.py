"""``hiprom serve`` without the pose model: pages, security, refused uploads, the job store.

The API is driven with Starlette's test client. Refused uploads must carry the message the CLI
gives for the same file (:func:`hiprom.io.frames.open_source`), name the file as uploaded, and
leave nothing on disk. The worker pool is exercised with small task functions in spawned
processes (one that dies like a native crash); the measurement itself is in test_serve_jobs.py.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import warnings
from pathlib import Path

import pytest
from helpers import SAMPLES

pytest.importorskip("starlette", reason="the serve extra is not installed (pip install -e '.[test]')")

with warnings.catch_warnings():        # starlette 1.x would rather have httpx2; httpx works the same here
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient  # noqa: E402

from hiprom.apps.serve.app import ServeSettings, create_app  # noqa: E402
from hiprom.apps.serve.guard import PAGE_CSP, REPORT_CSP  # noqa: E402
from hiprom.apps.serve.store import JobStore, stopped_error  # noqa: E402
from hiprom.apps.serve.worker import JobOutcome, JobTask  # noqa: E402
from hiprom.config import Config  # noqa: E402
from hiprom.errors import HipromError  # noqa: E402
from hiprom.io.frames import open_source  # noqa: E402
from hiprom.vision.model_store import ModelInfo  # noqa: E402

SAMPLE = SAMPLES / "seated_ir_right.mp4"
BASE = "http://127.0.0.1:8765"


def result_json(name: str, right_ir: float = 38.0) -> dict:
    """A minimal valid result.json (as tests/unit/outputs/test_history.py writes them)."""
    return {"schema": "hiprom.result", "schema_version": 1, "created_utc": "2026-03-01T10:00:00+00:00",
            "input": {"path": name, "kind": "video", "width_px": 540, "height_px": 960, "fps": 30.0,
                      "frames": 216, "duration_s": 7.2, "codec": "h264"},
            "reference": "vertical", "quality": {"score": 0.9, "level": "good"}, "warnings": [],
            "sides": {"right": {"tested": True, "peak_ir_deg": right_ir, "peak_er_deg": 30.0},
                      "left": {"tested": False, "peak_ir_deg": None, "peak_er_deg": None}}}


def write_result(task: JobTask) -> JobOutcome:
    """A worker task standing in for the analysis: publishes a result folder the way
    :meth:`Analysis.save` does (built aside, renamed into place); dies on 'boom' files."""
    if "boom" in task.display_name:
        os._exit(1)
    tmp = Path(task.out_dir).with_name(".result.x.tmp")
    tmp.mkdir()
    (tmp / "result.json").write_text(json.dumps(result_json(task.input_path)))
    os.replace(tmp, task.out_dir)
    return JobOutcome(task.job_id, True, None, 0.1)


def settings(tmp_path: Path, **kw) -> ServeSettings:
    model = tmp_path / "not-a-model.task"
    model.write_bytes(b"a stand-in: workers refuse it without a download")
    info = ModelInfo(model, "full", "argument", "0" * 64, model.stat().st_size)
    base = dict(data_dir=tmp_path / "data", history_path=tmp_path / "data" / "history.sqlite", config=Config(),
                model=info, workers=1, fn=write_result, warm=False)
    return ServeSettings(**{**base, **kw})


@pytest.fixture()
def client(tmp_path: Path):
    with TestClient(create_app(settings(tmp_path, max_upload_bytes=1_000_000)), base_url=BASE) as c:
        yield c


def leftovers(tmp_path: Path) -> list[str]:
    root = tmp_path / "data" / "analyses"
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def cli_error(tmp_path: Path, name: str, content: bytes) -> HipromError:
    """What ``hiprom analyze`` says of a file with this name and content."""
    path = tmp_path / "cli" / name
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(content)
    with pytest.raises(HipromError) as info, open_source(path):
        pass
    return info.value


# -- pages and headers ------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/", "/new", "/analyses", "/new?subject_id=P-1"])
def test_pages_have_a_strict_csp_and_load_nothing_from_elsewhere(client: TestClient, path: str) -> None:
    r = client.get(path)
    assert r.status_code == 200
    assert r.headers["content-security-policy"] == PAGE_CSP
    assert r.headers["x-content-type-options"] == "nosniff" and r.headers["x-frame-options"] == "DENY"
    assert not re.search(r"(src|href|action)=['\"]?(https?:)?//", r.text)    # nothing from another host
    assert not re.search(r"<script(?![^>]*\bsrc=)", r.text)                  # no inline script
    assert " style=" not in r.text and "<style" not in r.text                # no inline style
    for asset in ("/static/app.js", "/static/app.css"):
        body = client.get(asset).text
        assert "http://" not in body and "https://" not in body and "@import" not in body


def test_user_text_is_escaped(client: TestClient) -> None:
    r = client.get("/new", params={"subject_id": "<script>alert(1)</script>", "notes": "a & b"})
    assert "<script>alert(1)</script>" not in r.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in r.text and "a &amp; b" in r.text


# -- access ---------------------------------------------------------------------------------------

def test_a_token_is_required_on_every_request(tmp_path: Path) -> None:
    token = "s3cret-token-123"
    with TestClient(create_app(settings(tmp_path, token=token)), base_url=BASE, follow_redirects=False) as c:
        assert c.get("/").status_code == 401
        assert c.get("/static/app.js").status_code == 401
        refused = c.get("/api/analyses")
        assert refused.status_code == 401
        assert refused.json()["error"].startswith("this hiprom server needs its access token")
        assert c.get("/", headers={"Authorization": "Bearer wrong-token-000"}).status_code == 401
        assert c.get("/", headers={"Authorization": f"Bearer {token}"}).status_code == 200
        first = c.get(f"/new?token={token}&subject_id=P-1")            # the address printed at start-up
        assert first.status_code == 303 and first.headers["location"] == "/new?subject_id=P-1"
        assert "HttpOnly" in first.headers["set-cookie"] and "SameSite=Strict" in first.headers["set-cookie"]
        assert c.get("/new").status_code == 200                        # the cookie now carries it


def test_other_hosts_and_other_sites_are_refused(client: TestClient) -> None:
    r = client.get("/", headers={"host": "evil.example:8765"})
    assert r.status_code == 400 and "only answers requests addressed to this computer" in r.text
    r = client.post("/api/analyses", headers={"origin": "http://evil.example"},
                    files={"file": ("clip.mp4", SAMPLE.read_bytes(), "video/mp4")})
    assert r.status_code == 403
    assert r.json()["error"].startswith("a request from another site (http://evil.example) was refused")


# -- refused uploads -------------------------------------------------------------------------------

def test_an_empty_form_is_refused(client: TestClient, tmp_path: Path) -> None:
    r = client.post("/api/analyses", data={"subject_id": "P-1"}, files={"file": ("", b"", "application/octet-stream")})
    assert r.status_code == 400
    assert r.json()["error"] == ("no file was sent: choose or drop a clip or photo of the seated test\n"
                                 "  How to fix: add the video (or photo) of the test, then send the form again.")
    r = client.post("/api/analyses", data={"subject_id": "P-1"})     # not even multipart
    assert r.status_code == 400 and r.json()["error"].startswith("expected a form upload (multipart/form-data)")
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("size", [300, 200_000])       # refused at the end, and after its first 4 KB
def test_a_text_file_gets_the_clis_message(client: TestClient, tmp_path: Path, size: int) -> None:
    content = (b"session notes: right hip stiff\n" * (size // 31 + 1))[:size]
    r = client.post("/api/analyses", files={"file": ("notes.mp4", content, "video/mp4")})
    assert r.status_code == 415
    cli = cli_error(tmp_path, "notes.mp4", content)
    detail = r.json()["error_detail"]
    assert (detail["what"], detail["fix"]) == (cli.what, cli.fix)
    assert r.json()["error"] == f"notes.mp4: {cli.what}\n  How to fix: {cli.fix}"
    assert leftovers(tmp_path) == []


def test_a_huge_file_is_refused_while_it_streams(client: TestClient, tmp_path: Path) -> None:
    big = os.urandom(1_500_000)                                     # the limit here is 1 MB
    r = client.post("/api/analyses", files={"file": ("long.mp4", big, "video/mp4")})
    assert r.status_code == 413
    assert r.json()["error"] == ("long.mp4: is larger than this server's upload limit of 1 MB\n  How to fix: trim "
                                 "the clip to the test itself (a seated test takes well under a minute), or start "
                                 "hiprom serve with a larger --max-upload-mb.")
    assert leftovers(tmp_path) == []


def test_a_truncated_clip_gets_the_clis_message(client: TestClient, tmp_path: Path) -> None:
    cut = SAMPLE.read_bytes()[:3000]                                # its index cut off
    r = client.post("/api/analyses", files={"file": ("visit 1.mp4", cut, "video/mp4")})
    assert r.status_code == 422
    cli = cli_error(tmp_path, "visit_1.mp4", cut)
    assert "truncated" in cli.what
    assert r.json()["error"] == f"visit 1.mp4: {cli.what}\n  How to fix: {cli.fix}"
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("field, value, message", [
    ("age", "abc", "age must be a number, got 'abc'"),
    ("age", "200", "expected an age in years between 0 and 120, got 200.0\n  How to fix: give the age in whole "
                   "years, e.g. --age 42."),
    ("subject_id", "P\t1", "subject ID must be 1-200 printable characters, got 'P\\t1'"),
    ("test_date", "2026-13-01", "test date must be a date written YYYY-MM-DD, got '2026-13-01'"),
    ("test_date", "2999-01-01", "test date 2999-01-01 is in the future"),
])
def test_bad_form_fields_are_refused_like_the_cli_options(client: TestClient, tmp_path: Path, field: str,
                                                          value: str, message: str) -> None:
    r = client.post("/api/analyses", data={field: value},
                    files={"file": ("clip.mp4", SAMPLE.read_bytes(), "video/mp4")})
    assert r.status_code == 400
    assert message in r.json()["error"]
    assert leftovers(tmp_path) == []


def test_unknown_analyses_and_files_are_not_found(client: TestClient) -> None:
    assert client.get("/api/analyses/20260101-000000-00000000").status_code == 404
    assert client.get("/api/analyses/nope").json()["error"] == "no such analysis"
    assert client.get("/analyses/..%2F..%2Fetc/report").status_code == 404
    assert client.get("/analyses/20260101-000000-00000000/files/job.json").status_code == 404
    assert client.get("/subjects/P-404").status_code == 404


# -- jobs ---------------------------------------------------------------------------------------------

def wait_done(c: TestClient, job_id: str, timeout_s: float = 120) -> dict:
    import time

    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        j = c.get(f"/api/analyses/{job_id}").json()
        if j["status"] in ("done", "failed"):
            return j
        time.sleep(0.2)
    raise TimeoutError(job_id)


def test_a_dying_worker_fails_only_its_clip(tmp_path: Path) -> None:
    with TestClient(create_app(settings(tmp_path, workers=2)), base_url=BASE) as c:
        ids = {}
        for name in ("a.mp4", "boom.mp4", "c.mp4"):
            r = c.post("/api/analyses", data={"subject_id": "P-9", "test_date": "2026-02-01", "examiner": "E. X",
                                              "notes": "line one\nline two"},
                       files={"file": (name, SAMPLE.read_bytes(), "video/mp4")})
            assert r.status_code == 202
            ids[name] = r.json()["id"]
        jobs = {n: wait_done(c, i) for n, i in ids.items()}
    assert {n: j["status"] for n, j in jobs.items()} == {"a.mp4": "done", "boom.mp4": "failed", "c.mp4": "done"}
    assert jobs["boom.mp4"]["error"].startswith("boom.mp4: internal error: RuntimeError: the worker process died")
    assert jobs["a.mp4"]["result"]["sides"]["right"]["peak_ir_deg"] == 38.0
    assert jobs["a.mp4"]["meta"]["notes"] == "line one\nline two" and jobs["a.mp4"]["meta"]["examiner"] == "E. X"
    with TestClient(create_app(settings(tmp_path)), base_url=BASE) as c:   # a restart keeps the finished ones
        subject = c.get("/api/subjects/P-9").json()
        assert c.get(f"/api/analyses/{ids['a.mp4']}").json()["status"] == "done"
    dates = sorted(m["date"][:10] for m in subject["measurements"])
    assert dates == ["2026-02-01"]            # a.mp4 and c.mp4 are the same clip: stored once
    assert subject["measurements"][0]["analysis_id"] in (ids["a.mp4"], ids["c.mp4"])


def test_a_restart_settles_what_the_last_server_left(tmp_path: Path) -> None:
    store = JobStore(tmp_path / "data")
    made = {}
    for name, attempts, result in (("finished.mp4", 1, True), ("crashed.mp4", 2, False), ("waiting.mp4", 0, False),
                                   ("killed.mp4", 1, False)):
        job_id = store.new_id()
        (store.folder(job_id) / "input").mkdir()
        shutil.copy(SAMPLE, store.folder(job_id) / "input" / name)
        rec = store.create(job_id, {"name": name, "file": name, "size_bytes": 1}, {"subject_id": None})
        store.update(job_id, status="running" if attempts else "queued", attempts=attempts)
        if result:
            store.result_dir(job_id).mkdir()
            (store.result_dir(job_id) / "result.json").write_text(json.dumps(result_json(name)))
        (store.folder(job_id) / ".result.0123abcd.tmp").mkdir()             # a half-built output folder
        made[name] = rec["id"]
    with TestClient(create_app(settings(tmp_path)), base_url=BASE) as c:
        jobs = {n: wait_done(c, i) for n, i in made.items()}
    assert jobs["finished.mp4"]["status"] == "done"                            # never lost
    assert jobs["crashed.mp4"]["status"] == "failed"
    assert jobs["crashed.mp4"]["error"] == stopped_error({"input": {"name": "crashed.mp4"}, "attempts": 2})["message"]
    assert jobs["waiting.mp4"]["status"] == "done"                             # resumed
    assert jobs["killed.mp4"]["status"] == "done"                              # killed once: tried again
    assert not list((tmp_path / "data" / "analyses").glob("*/.result.*"))


def test_the_report_and_downloads_are_served_from_the_job_only(tmp_path: Path) -> None:
    with TestClient(create_app(settings(tmp_path)), base_url=BASE) as c:
        job_id = c.post("/api/analyses", files={"file": ("clip.mp4", SAMPLE.read_bytes(), "video/mp4")}).json()["id"]
        assert wait_done(c, job_id)["status"] == "done"
        folder = tmp_path / "data" / "analyses" / job_id / "result"
        (folder / "report.html").write_text("<h1>report</h1>")
        r = c.get(f"/analyses/{job_id}/report")
        assert r.status_code == 200 and r.text == "<h1>report</h1>"
        assert r.headers["content-security-policy"] == REPORT_CSP and r.headers["x-frame-options"] == "SAMEORIGIN"
        assert c.get(f"/analyses/{job_id}/files/result.json").json()["sides"]["right"]["peak_ir_deg"] == 38.0
        assert c.get(f"/analyses/{job_id}/files/report.pdf").status_code == 404
        (folder / "report.pdf").write_bytes(b"%PDF-1.4 stand-in")              # appears once it exists
        page = c.get(f"/analyses/{job_id}").text
        assert f'href="/analyses/{job_id}/files/report.pdf"' in page and "Report (PDF)" in page
        os.symlink("/etc/passwd", folder / "angles.csv")                      # a link out of the data folder
        assert c.get(f"/analyses/{job_id}/files/angles.csv").status_code == 404


# -- the command -------------------------------------------------------------------------------------

def test_serve_without_its_packages_says_how_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from hiprom.apps.cli import app as cli
    from hiprom.apps.cli import serve as serve_cmd

    monkeypatch.setattr(serve_cmd, "SERVE_PACKAGES", {"hiprom_no_such_module": "starlette"})
    r = CliRunner().invoke(cli, ["serve", "--data", str(tmp_path / "d")])
    assert r.exit_code == 2
    out = " ".join(r.output.split())
    assert "error: hiprom serve needs the web server packages, and these are not installed: starlette" in out
    assert 'How to fix: pip install "hiprom[serve]"' in out and "Traceback" not in out


def test_serve_on_a_busy_port_or_with_a_bad_token_stops_before_any_work(tmp_path: Path) -> None:
    import socket

    from typer.testing import CliRunner

    from hiprom.apps.cli import app as cli

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        r = CliRunner().invoke(cli, ["serve", "--port", str(port), "--data", str(tmp_path / "d")])
    assert r.exit_code == 2
    assert f"error: cannot listen on 127.0.0.1:{port}" in " ".join(r.output.split())
    r = CliRunner().invoke(cli, ["serve", "--token", "a b", "--data", str(tmp_path / "d")])
    assert r.exit_code == 2 and "--token must be 8-200 letters, digits or ._~- (got 3 characters)" in r.output


def test_the_form_works_without_javascript(tmp_path: Path) -> None:
    with TestClient(create_app(settings(tmp_path)), base_url=BASE, follow_redirects=False) as c:
        refused = c.post("/new", data={"subject_id": "P-5", "notes": "kept <b>as text</b>"},
                         files={"file": ("notes.mp4", b"just words\n" * 5, "video/mp4")})
        assert refused.status_code == 415
        assert "is not a video: it looks like a text file" in refused.text
        assert 'value="P-5"' in refused.text and "kept &lt;b&gt;as text&lt;/b&gt;" in refused.text  # kept, escaped
        sent = c.post("/new", data={"subject_id": "P-5"},
                      files=[("file", ("a.mp4", SAMPLE.read_bytes(), "video/mp4")),
                             ("file", ("b.mov", SAMPLE.read_bytes(), "video/quicktime"))])
        assert sent.status_code == 303 and sent.headers["location"] == "/analyses"     # two files: the list
        listed = c.get("/api/analyses").json()["analyses"]
        assert sorted(a["input"]["name"] for a in listed) == ["a.mp4", "b.mov"]
        for a in listed:
            assert wait_done(c, a["id"])["status"] == "done"
        page = c.get(f"/analyses/{listed[0]['id']}").text
        assert 'data-side="right" data-kind="ir">38.0°' in page


def test_a_declared_length_beyond_every_limit_is_refused_before_reading(client: TestClient, tmp_path: Path) -> None:
    body = b"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x.mp4\"\r\n\r\nabc\r\n--b--\r\n"
    r = client.post("/api/analyses", content=body, headers={"content-type": "multipart/form-data; boundary=b",
                                                             "content-length": str(50_000_000)})
    assert r.status_code == 413
    assert r.json()["error"].startswith("is larger than this server's upload limit of 1 MB")
    assert leftovers(tmp_path) == []


def test_another_host_warns_and_requires_a_token(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """``--host 0.0.0.0``: a warning, and a token made up when none was given (nothing is bound here)."""
    import uvicorn
    from typer.testing import CliRunner

    import hiprom.apps.pipeline
    from hiprom.apps.cli import app as cli
    from hiprom.apps.cli import serve as serve_cmd

    served = {}
    monkeypatch.setattr(serve_cmd, "_check_port", lambda host, port: None)
    monkeypatch.setattr(hiprom.apps.pipeline, "load_model", lambda config, progress: settings(tmp_path).model)
    monkeypatch.setattr(uvicorn.Server, "run", lambda self: served.update(config=self.config))
    r = CliRunner().invoke(cli, ["serve", "--host", "0.0.0.0", "--port", "8123", "--data", str(tmp_path / "d")])
    assert r.exit_code == 0, r.output
    out = " ".join(r.output.split())
    assert "warning: listening on 0.0.0.0: other computers on the network can reach this page" in out
    token = re.search(r"open http://127\.0\.0\.1:8123/\?token=([A-Za-z0-9_-]{32})", out).group(1)
    assert served["config"].app.token == token and served["config"].app.allowed_hosts is None
    r = CliRunner().invoke(cli, ["serve", "--port", "8123", "--data", str(tmp_path / "d")])
    assert "warning" not in r.output and "open http://127.0.0.1:8123/ " in " ".join(r.output.split())
    app = served["config"].app
    assert app.token is None and app.allowed_hosts == ("127.0.0.1", "localhost", "::1")
