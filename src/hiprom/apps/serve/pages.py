"""The server's HTML pages: Jinja2 templates (autoescaped: every user text is escaped) and
what each page shows, built from the job records and the history database.

Templates live in ``templates/``, the style sheet and the one script in ``static/``; nothing is
loaded from elsewhere (no web fonts, CDNs or external scripts).
"""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from hiprom._version import __version__

if TYPE_CHECKING:  # pragma: no cover
    from jinja2 import Environment

    from hiprom.apps.serve.store import JobStore

__all__ = ["render", "subject_url", "analysis_view", "patients_view", "patient_view", "analyses_view",
           "history_plot_png", "deg"]

HERE = Path(__file__).resolve().parent
_ENV: "Environment | None" = None

#: Download labels, in the order the page lists them.
LABELS = {"report.pdf": "Report (PDF)", "report.html": "Report (HTML)", "result.json": "Result (JSON)",
          "angles.csv": "Angles (CSV)", "landmarks.npz": "Landmarks (NPZ)", "angles.png": "Angle plot (PNG)",
          "annotated.mp4": "Annotated video (MP4)"}


def _env() -> "Environment":
    global _ENV
    if _ENV is None:
        from jinja2 import Environment, FileSystemLoader, select_autoescape

        _ENV = Environment(loader=FileSystemLoader(str(HERE / "templates")),
                           autoescape=select_autoescape(default=True, default_for_string=True))
    return _ENV


def render(template: str, **context: Any) -> str:
    """A page from ``templates/TEMPLATE`` with ``context`` (every value escaped unless marked safe)."""
    return _env().get_template(template).render(version=__version__, **context)


def deg(value: Any) -> str:
    """``38.04`` → ``38.0°``; missing or NaN → ``–``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    text = f"{float(value):.1f}"
    return f"{text.lstrip('-') if float(text) == 0 else text}°"


def subject_url(subject_id: str) -> str:
    return "/subjects/" + quote(subject_id, safe="")


def _result(store: "JobStore", job_id: str) -> dict[str, Any] | None:
    from hiprom.errors import HipromError
    from hiprom.io.result_json import read_result

    try:
        return read_result(store.result_dir(job_id) / "result.json")
    except HipromError:
        return None


def _playable(path: Path) -> tuple[bool, str]:
    """Can a browser play this MP4? H.264 (``avc1``/``avc3``) yes; MPEG-4 Part 2 and others no."""
    from hiprom.io.video_probe import probe_mp4

    codec = probe_mp4(path).codec or "unknown"
    names = {"mp4v": "MPEG-4 Part 2", "avc1": "H.264", "avc3": "H.264", "hvc1": "HEVC", "hev1": "HEVC"}
    return codec in ("avc1", "avc3"), f"{names.get(codec, codec)} (codec '{codec}')"


def analysis_view(store: "JobStore", rec: dict[str, Any], status: dict[str, Any]) -> dict[str, Any]:
    """What the page of one analysis shows, by its status."""
    job_id, meta = rec["id"], rec["meta"]
    facts = [(k.replace("_", " "), f"{meta[k]:g}" if isinstance(meta[k], float) else meta[k])
             for k in ("test_date", "age", "sex", "sport", "examiner") if meta.get(k) not in (None, "")]
    if meta.get("notes"):
        facts.append(("notes", meta["notes"]))
    view: dict[str, Any] = {"title": rec["input"]["name"], "nav": "analyses", "name": rec["input"]["name"],
                            "subject": meta.get("subject_id"), "facts": facts, "created": _day(rec["created_utc"]),
                            "subject_url": subject_url(meta["subject_id"]) if meta.get("subject_id") else None,
                            "status": rec["status"], "progress": status["progress"],
                            "position": status.get("queue_position"),
                            "status_url": f"/api/analyses/{job_id}", "error": rec.get("error") or {}}
    if rec["status"] != "done":
        return view
    data = _result(store, job_id) or {"sides": {}}
    sides = []
    for side in ("right", "left"):
        s = data["sides"].get(side) or {}
        q = s.get("quality") or {}
        sides.append({"side": side, "ir": deg(s.get("peak_ir_deg")), "er": deg(s.get("peak_er_deg")),
                      "arc": deg(s.get("total_arc_deg")),
                      "quality": f"{q.get('level', '?')}" if s.get("tested") else "not tested"})
    files = store.files(job_id)
    base = f"/analyses/{job_id}/files/"
    view.update(sides=sides, warnings=data.get("warnings") or [], report_url=f"/analyses/{job_id}/report",
                downloads=[{"url": base + n, "file": n, "label": LABELS[n]} for n in LABELS if n in files])
    if "annotated.mp4" in files:
        playable, codec = _playable(files["annotated.mp4"])
        view["video"] = {"url": base + "annotated.mp4", "playable": playable, "codec": codec}
    return view


def _day(iso: str) -> str:
    return str(iso or "")[:16].replace("T", " ")


def analyses_view(store: "JobStore") -> dict[str, Any]:
    jobs = []
    for rec in store.all()[:200]:
        data = _result(store, rec["id"]) if rec["status"] == "done" else None
        sides = (data or {}).get("sides", {})
        sid = rec["meta"].get("subject_id")
        jobs.append({"created": _day(rec["created_utc"]), "name": rec["input"]["name"], "url": f"/analyses/{rec['id']}",
                     "subject": sid or "", "subject_url": subject_url(sid) if sid else None, "status": rec["status"],
                     "right_ir": deg(sides.get("right", {}).get("peak_ir_deg")) if data else "",
                     "left_ir": deg(sides.get("left", {}).get("peak_ir_deg")) if data else ""})
    return {"title": "Recent analyses", "nav": "analyses", "jobs": jobs}


def patients_view(history_path: Path) -> dict[str, Any]:
    from hiprom.outputs.history import History

    subjects = []
    if history_path.is_file():
        with History(history_path) as h:
            for sid in h.subjects():
                rows = h.rows(sid)
                last = rows.iloc[-1]
                subjects.append({"id": sid, "url": subject_url(sid), "n": len(rows),
                                 "last": last["date"].strftime("%Y-%m-%d"),
                                 "right_ir": deg(last["right_ir_deg"]), "left_ir": deg(last["left_ir_deg"])})
    return {"title": "Patients", "nav": "patients", "subjects": subjects, "history_path": str(history_path)}


def patient_view(store: "JobStore", history_path: Path, subject_id: str) -> dict[str, Any] | None:
    """The patient's tests over time, or None when the history holds none."""
    from hiprom.apps.cli.history import _auto_band
    from hiprom.outputs.history import History, default_mdc_deg, with_changes

    if not history_path.is_file():
        return None
    with History(history_path) as h:
        rows = h.rows(subject_id)
    if rows.empty:
        return None
    mdc = default_mdc_deg()
    table = with_changes(rows, mdc)
    out = []
    for _, r in table.iterrows():
        cells = {"date": r["date"].strftime("%Y-%m-%d"), "quality": r["quality_level"] or "",
                 "clip": Path(str(r["clip"])).name, "right_er": deg(r["right_er_deg"]),
                 "left_er": deg(r["left_er_deg"])}
        for side in ("right", "left"):
            change = r[f"{side}_ir_change_deg"]
            note = "" if change != change else f" ({change:+.1f}°{' <MDC' if r[f'{side}_ir_within_mdc'] else ''})"
            cells[f"{side}_ir"] = deg(r[f"{side}_ir_deg"]) + note
        job_id = store.job_of(r["result_dir"])
        cells["url"] = f"/analyses/{job_id}" if job_id else None
        cells["why"] = "" if job_id else "analysed outside this server"
        out.append(cells)
    since = []
    for side in ("right", "left"):
        ir = table[f"{side}_ir_deg"].dropna()
        if len(ir) >= 2:
            total = float(ir.iloc[-1] - ir.iloc[0])
            verdict = "within the minimal detectable change: no real change shown" if abs(total) < mdc \
                else "larger than the minimal detectable change"
            since.append(f"{side} IR since the first test: {total:+.1f}° ({verdict}).")
    band, label = _auto_band(None, None)
    return {"title": f"Patient {subject_id}", "nav": "patients", "subject_id": subject_id, "rows": out,
            "plot_url": subject_url(subject_id) + "/plot.png", "mdc": f"{mdc:g}", "since": since,
            "band": label if band else None}


def history_plot_png(history_path: Path, subject_id: str) -> bytes | None:
    """The patient's IR-over-time plot (:meth:`hiprom.outputs.history.History.plot`) as PNG."""
    from hiprom.apps.cli.history import _auto_band
    from hiprom.outputs.history import History

    if not history_path.is_file():
        return None
    band, label = _auto_band(None, None)
    with History(history_path) as h:
        if h.rows(subject_id).empty:
            return None
        fig = h.plot(subject_id, norm_band=band, norm_label=label)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    return buf.getvalue()
