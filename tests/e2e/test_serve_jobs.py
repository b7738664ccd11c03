"""``hiprom serve`` with the pose model: uploads measured in the worker pool, through the API.

Two samples sent at once (two workers) both finish with their truth (``samples/gt.json``)
within 1°; a truncated clip fails with the CLI's message; a server stopped mid-analysis
resumes the job at the next start and keeps what had finished. Needs the pose model: skipped
outside CI when missing, failed in CI.
"""

from __future__ import annotations

import json
import threading
import time
import warnings
from pathlib import Path

import pytest
from helpers import SAMPLES

pytest.importorskip("starlette", reason="the serve extra is not installed (pip install -e '.[test]')")

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient  # noqa: E402

from hiprom.apps.pipeline import load_model  # noqa: E402
from hiprom.apps.serve.app import ServeSettings, create_app  # noqa: E402
from hiprom.config import Config  # noqa: E402

pytestmark = pytest.mark.model

TRUTH = json.loads((SAMPLES / "gt.json").read_text())["clips"]
BASE = "http://127.0.0.1:8765"


@pytest.fixture(scope="module")
def model(shared_model_path: Path):
    return load_model(Config().with_overrides({"model.path": str(shared_model_path)}), progress=False)


def app(data: Path, model, workers: int = 1):
    return create_app(ServeSettings(data_dir=data, history_path=data / "history.sqlite", config=Config(),
                                    model=model, workers=workers))


def wait(c: TestClient, job_id: str, until=("done", "failed"), timeout_s: float = 600) -> dict:
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        j = c.get(f"/api/analyses/{job_id}").json()
        if j["status"] in until:
            return j
        time.sleep(0.5)
    raise TimeoutError(f"{job_id} still {j['status']} after {timeout_s} s")


def send(c: TestClient, path: Path, name: str | None = None, **fields) -> dict:
    with open(path, "rb") as fh:
        r = c.post("/api/analyses", data=fields, files={"file": (name or path.name, fh, "video/mp4")})
    return r.json() | {"http_status": r.status_code}


def test_two_uploads_at_once_both_finish_with_the_truth(model, tmp_path: Path) -> None:
    answers: dict[str, dict] = {}
    with TestClient(app(tmp_path / "data", model, workers=2), base_url=BASE) as c:
        def upload(name: str) -> None:
            answers[name] = send(c, SAMPLES / f"{name}.mp4", subject_id="P-2", age="41", sex="male",
                                 test_date="2026-01-15", examiner="B. Tester", notes="after the season")
        threads = [threading.Thread(target=upload, args=(n,)) for n in ("seated_ir_right", "seated_ir_both")]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert {n: a["http_status"] for n, a in answers.items()} == {"seated_ir_right": 202, "seated_ir_both": 202}
        jobs = {n: wait(c, a["id"]) for n, a in answers.items()}
        report = c.get(jobs["seated_ir_both"]["report"])
        subject = c.get("/api/subjects/P-2").json()
    for name, job in jobs.items():
        assert job["status"] == "done", job["error"]
        assert job["progress"] == 1.0
        for side, truth in TRUTH[name]["summary"].items():
            got = job["result"]["sides"][side]
            assert got["tested"] == truth["tested"]
            if truth["tested"]:
                assert abs(got["peak_ir_deg"] - truth["peak_ir_deg"]) <= 1.0, (name, side, got["peak_ir_deg"])
        assert job["result"]["subject"] == {"id": "P-2", "age": 41.0, "sex": "male", "sport": None}
        assert {"report.html", "result.json", "angles.csv", "landmarks.npz", "annotated.mp4"} <= set(job["files"])
        assert job["meta"]["examiner"] == "B. Tester" and job["meta"]["notes"] == "after the season"
    assert report.status_code == 200 and "Hip rotation report" in report.text
    assert len(subject["measurements"]) == 2
    assert {m["analysis_id"] for m in subject["measurements"]} == {a["id"] for a in answers.values()}
    assert {m["date"][:10] for m in subject["measurements"]} == {"2026-01-15"}


def test_a_truncated_clip_fails_with_the_clis_message(model, tmp_path: Path) -> None:
    cut = tmp_path / "visit.mp4"
    cut.write_bytes((SAMPLES / "seated_ir_right.mp4").read_bytes()[:50_000])   # the index whole, the frames cut
    with TestClient(app(tmp_path / "data", model), base_url=BASE) as c:
        sent = send(c, cut)
        assert sent["http_status"] == 202                    # it opens: the cut shows only when decoding
        job = wait(c, sent["id"])
        page = c.get(f"/analyses/{sent['id']}").text
    assert job["status"] == "failed"
    assert job["error"].startswith("visit.mp4: is truncated: only ")
    assert "How to fix: Copy the original file again from the phone or camera" in job["error"]
    assert "is truncated: only " in page and "How to film the seated test" in page


def test_a_server_stopped_mid_analysis_resumes_it(model, tmp_path: Path) -> None:
    data = tmp_path / "data"
    with TestClient(app(data, model), base_url=BASE) as c:
        first = send(c, SAMPLES / "seated_ir_both.mp4")["id"]
        assert wait(c, first)["status"] == "done"
        second = send(c, SAMPLES / "seated_ir_right.mp4", subject_id="P-3")["id"]
        running = wait(c, second, until=("running",))
        assert running["status"] == "running"
    rec = json.loads((data / "analyses" / second / "job.json").read_text())
    assert rec["status"] == "queued" and rec["attempts"] == 0          # stopped: put back, not counted
    with TestClient(app(data, model), base_url=BASE) as c:
        assert c.get(f"/api/analyses/{first}").json()["status"] == "done"    # the finished one is kept
        job = wait(c, second)
        subject = c.get("/api/subjects/P-3").json()
    assert job["status"] == "done", job["error"]
    assert abs(job["result"]["sides"]["right"]["peak_ir_deg"] - 38.0) <= 1.0
    assert [m["analysis_id"] for m in subject["measurements"]] == [second]
