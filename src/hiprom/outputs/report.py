"""A self-contained HTML report of one analysis: one file, images embedded, opens offline.

``write_report(result, "report.html")`` writes it atomically (temporary file, then
``os.replace``). The page holds: subject and date, how the clip was filmed and the quality
verdict, per-side results, the norm comparison (:mod:`hiprom.interpret.norms`), screening flags, the
figures (:mod:`hiprom.report_plots`), a key frame at each side's peak IR
(:mod:`hiprom.keyframes`) and suggested drills. All user text is HTML-escaped; CSS is inline
and images are ``data:`` URIs, so the file makes no network requests.
"""

from __future__ import annotations

import base64
import datetime as _dt
import io
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hiprom.core.measurement import SIDES
from hiprom.core.session import TestInfo
from hiprom.errors import ConfigError, HipromError, InputError
from hiprom.io.atomic import atomic_write_text
from hiprom.io.result_json import read_result
from hiprom.outputs.report_sections import (
    _drills_section,
    _e,
    _flags_section,
    _mdc_text,
    _norm_section,
    _sources_section,
    _table,
    _td,
    load_drills,
)

if TYPE_CHECKING:  # pragma: no cover
    from hiprom.core.result import AnalysisResult
    from hiprom.interpret.norms import NormComparison

__all__ = ["write_report", "read_result_json", "load_drills",
           "find_video"]



def _css() -> str:
    return resources.files("hiprom").joinpath("data", "report.css").read_text(encoding="utf-8")


def _deg(value: Any, nd: int = 1) -> str:
    """``37.95`` → ``38.0°``; a value that rounds to zero has no minus sign."""
    if value is None:
        return "–"
    text = f"{float(value):.{nd}f}"
    return f"{text.lstrip('-') if float(text) == 0 else text}°"


def _when(iso: Any) -> str:
    """``2026-11-21T11:58:41+00:00`` → ``2026-11-21 11:58 UTC`` (other text unchanged)."""
    try:
        t = _dt.datetime.fromisoformat(str(iso)).astimezone(_dt.timezone.utc)
    except ValueError:
        return str(iso or "unknown")
    return t.strftime("%Y-%m-%d %H:%M UTC")


# -- loading ----------------------------------------------------------------------------
#: The one validated reader of result.json (kept under this name for the report's callers).
read_result_json = read_result


def find_video(data: dict[str, Any], folder: Path | None = None, video_path: str | Path | None = None) -> Path | None:
    """The analysed clip: ``video_path``, else ``input.path`` as saved (absolute or from the
    current folder), else beside the output folder; ``None`` when not found."""
    if video_path is not None:
        p = Path(video_path)
        if not p.exists():
            raise InputError("does not exist: expected the analysed video", path=p, fix="check the path.")
        return p
    saved = (data.get("input") or {}).get("path")
    if not saved:
        return None
    candidates = [Path(saved)]
    if folder is not None:
        candidates += [folder.parent / Path(saved).name, folder.parent / saved]
    return next((c for c in candidates if c.exists()), None)


# -- pieces -----------------------------------------------------------------------------
def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _jpeg(rgb) -> str:
    import cv2

    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 88])
    if not ok:  # pragma: no cover - OpenCV always encodes a valid uint8 image
        raise ValueError("JPEG encoding failed")
    return "data:image/jpeg;base64," + base64.b64encode(buf.tobytes()).decode("ascii")


def _key_frames(result: "AnalysisResult", video: Path | None,
                blur_faces: bool) -> tuple[list[tuple[str, str]], list[str]]:
    """``[(caption, data uri)]`` per measured side and reading (IR, then ER), and notes on
    frames that were left out."""
    from hiprom.outputs.keyframes import peak_frame

    wanted = [(side, kind) for side in SIDES for kind in ("ir", "er")
              if getattr(result.sides[side], f"peak_{kind}_frame") is not None]
    if not wanted:
        return [], []
    if video is None:
        return [], ["Key frames omitted: the analysed video was not found (give it with --video)."]
    blur_fn = None
    if blur_faces:
        try:
            from hiprom.outputs.privacy import blur_faces as blur_fn
        except ImportError:
            raise ConfigError("face blurring is not available in this installation of hiprom",
                              fix="update hiprom, or leave out --blur-faces.") from None
    out, notes = [], []
    for side, kind in wanted:
        res = result.sides[side]
        frame, t_s = getattr(res, f"peak_{kind}_frame"), getattr(res, f"peak_{kind}_t_s")
        hook = None
        if blur_fn is not None:
            row = int((result.series.frame_index == frame).nonzero()[0][0])
            vis = result.series.visibility[row]
            hook = lambda rgb, px, _vis=vis: blur_fn(rgb, px, _vis)  # noqa: E731
        try:
            rgb = peak_frame(result, side, kind=kind, video_path=video, blur=hook)
        except HipromError as exc:  # a shorter or different video, or no shank in that frame
            notes.append(f"Key frame of the {side} {kind.upper()} omitted: {exc.what}")
            continue
        when = f" at {t_s:.2f} s" if t_s is not None else ""
        name = {"ir": "internal", "er": "external"}[kind]
        out.append((f"{side.capitalize()} hip holding {name} rotation (frame {frame}{when}, the middle of the "
                    f"hold): shank line, vertical (dashed) and the angle.", _jpeg(rgb)))
    return out, notes


def _sections(d: dict[str, Any], cmp: "NormComparison") -> list[str]:
    inp, cam, q = d.get("input", {}), d.get("camera", {}), d.get("quality", {})
    out = ["<h2>How the clip was filmed</h2>", _table(None, [
        [_td("input"), _td(f"{Path(str(inp.get('path', ''))).name} ({inp.get('kind', '?')}, "
                           f"{inp.get('width_px')}×{inp.get('height_px')} px, {inp.get('fps') or '–'} fps, "
                           f"{inp.get('duration_s') or '–'} s, rotation {inp.get('rotation_deg', 0)}°"
                           f"{', mirrored' if inp.get('mirrored') else ''})")],
        [_td("camera roll"), _td(f"{_deg(cam.get('roll_deg'))} ({cam.get('roll_source', '?')})")],
        [_td("camera yaw (estimate)"), _td(_deg(cam.get("yaw_deg_estimate")))],
        [_td("angles measured"), _td("from the vertical (as a goniometer)" if d.get("reference") == "vertical"
                                     else "from the leg's rest position")],
        [_td("quality verdict"), _td(f"{q.get('level', '?')} ({q.get('score') or 0:.2f})")]])]
    warns = d.get("warnings") or []
    out.append("<div class='box note'>Warnings: " + ("; ".join(_e(w) for w in warns) or "none") + "</div>")
    rows = []
    for side in SIDES:
        s = d["sides"][side]
        rows.append([_td(side), _td(_reading(s, "ir"), "num"), _td(_reading(s, "er"), "num"),
                     _td(_deg(s.get("total_arc_deg")), "num"), _td(s.get("n_reps", 0), "num"), _td(_verdict(s))])
    diff = (d.get("left_right") or {}).get("ir_difference_deg")
    video = inp.get("kind", "video") == "video"
    held = "held " if video else ""
    out += ["<h2>Results per side</h2>",
            _table(["side", f"{held}IR", f"{held}ER", "total arc", "reps", "quality"], rows),
            f"<p class='sub'>{_e(HELD_TEXT if video else PHOTO_TEXT)} Left–right IR difference: "
            f"{_e(_deg(diff) if diff is not None else 'not known (one side measured)')}.</p>"]
    return out


#: What "held" means, said once wherever a reading is shown.
HELD_TEXT = ("Held IR / ER: the mean angle over the hold at end range (the best repetition), ± its own "
             "measurement uncertainty (about 95 %); the total arc adds the two as shown.")


PHOTO_TEXT = ("IR / ER: the angle at end range in the photo (the photo and its mirror image read and averaged), "
              "± its own measurement uncertainty (about 95 %).")


def _reading(s: dict[str, Any], kind: str) -> str:
    """``"38.0° ± 1.4°"``; ``"–"`` when not measured."""
    value, u = s.get(f"peak_{kind}_deg"), s.get(f"peak_{kind}_uncertainty_deg")
    if value is None:
        return "–"
    return _deg(value) + (f" ± {u:.1f}°" if u is not None else "")


def _verdict(s: dict[str, Any]) -> str:
    """Quality, or why the side has no reading (the recognition's reason, or why it was withheld)."""
    q = s.get("quality") or {}
    if not s.get("tested"):
        label = "not a seated test" if s.get("test") == "not_a_seated_test" else "not tested"
        return f"{label}: {s['test_reason']}" if s.get("test_reason") else label
    text = f"{q.get('level', '?')} ({q.get('score') or 0:.2f})"
    if q.get("withheld"):
        text = "withheld: " + "; ".join(q.get("reasons") or []) if q.get("reasons") else "withheld"
    return text


def _header(d: dict[str, Any], cmp: "NormComparison") -> list[str]:
    """Who was tested, when, by whom, how, and what they said."""
    subject = dict(d.get("subject") or {})
    who = {"ID": subject.get("id"), "age": cmp.inputs.get("age"), "sex": subject.get("sex") or cmp.inputs.get("sex"),
           "sport": cmp.inputs.get("sport")}
    text = ", ".join(f"{k} {v:g}" if isinstance(v, float) else f"{k} {v}" for k, v in who.items()
                     if v not in (None, "")) or "not given"
    test = TestInfo.from_dict(d.get("test"))
    date = (f"{test.date.replace('T', ' ')}" + (" (the clip's creation time)" if test.date_source == "clip" else "")
            if test.date else f"not recorded (analysed {_when(d.get('created_utc'))})")
    pain = {"no": "no pain", None: "not recorded"}.get(test.pain, f"pain on the {test.pain} side"
                                                        if test.pain != "both" else "pain on both sides")
    rows = [[_td("subject"), _td(text)], [_td("test date"), _td(date)],
            [_td("examiner"), _td(test.examiner or "not recorded")],
            [_td("test position"), _td(test.position + ("" if test.position == "seated" else
                                                        " (hiprom measures the seated test)"))],
            [_td("pain"), _td(pain)]]
    if test.notes:
        rows.append([_td("notes"), _td(test.notes)])
    return ["<h2>Test</h2>", _table(None, rows)]


def _html(d: dict[str, Any], cmp: "NormComparison", figures: list[tuple[str, str]],
          frames: list[tuple[str, str]], notes: list[str]) -> str:
    name = Path(str(d.get("input", {}).get("path", "") or "analysis")).name
    parts = [f"<h1>Hip rotation report — {_e(name)}</h1>",
             f"<p class='sub'>Analysed {_e(_when(d.get('created_utc')))} · "
             f"hiprom {_e(d.get('software', {}).get('version'))}</p>",
             "<p class='sub'>A measuring aid: the comparisons below are screening references, not a diagnosis.</p>"]
    parts += _header(d, cmp) + _sections(d, cmp)
    parts += ["<section class='page'>"] + _norm_section(cmp) + _flags_section(cmp) + ["</section>"]
    parts.append("<section class='page'><h2>Figures</h2>")
    parts += [f"<figure><img alt='{_e(c)}' src='{uri}'><figcaption>{_e(c)}</figcaption></figure>"
              for c, uri in figures]
    parts.append("<h2>Key frames</h2>")
    parts += [f"<div class='box note'>{_e(n)}</div>" for n in notes]
    if frames:
        parts.append("<div class='frames'>" + "".join(
            f"<figure><img alt='{_e(c)}' src='{uri}'><figcaption>{_e(c)}</figcaption></figure>"
            for c, uri in frames) + "</div>")
    parts.append("</section>")
    parts += ["<section class='page'>"] + _drills_section(cmp) + _sources_section(cmp) + ["</section>"]
    parts.append(f"<footer>hiprom is a measuring aid, not a diagnostic device. Figures come from a video and carry "
                 f"measurement error. {_e(_mdc_text())}</footer>")
    return ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            "<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; img-src data:; "
            "style-src 'unsafe-inline'\">"
            f"<title>hiprom report — {_e(name)}</title><style>{_css()}</style></head><body><main>"
            + "\n".join(parts) + "</main></body></html>\n")


def write_report(result: "AnalysisResult | None", out_path: str | Path, *, data: dict[str, Any] | None = None,
                 folder: Path | None = None, comparison: "NormComparison | None" = None,
                 video_path: str | Path | None = None, blur_faces: bool = False) -> Path:
    """Write the HTML report of one analysis to ``out_path`` (replaced atomically).

    Parameters
    ----------
    result
        The analysis (its time series and key frames), or None when only ``data`` is known.
    data
        The saved ``result.json`` the numbers come from (default: ``result.to_dict()``).
    folder
        The output folder ``data`` was read from (to find the clip beside it).
    comparison
        From :func:`hiprom.interpret.norms.compare`; default: compared without age, sex or sport.
    video_path
        The analysed clip, for the key frames (default: found from ``result.json``).
    blur_faces
        Blur faces in the key frames (:func:`hiprom.privacy.blur_faces`).

    Returns
    -------
    Path
        ``out_path``.
    """
    from hiprom.interpret.norms import compare
    from hiprom.outputs.report_plots import plot_angles_with_band, plot_demands_gauge, plot_sides_vs_band

    if data is None:
        if result is None:
            raise ValueError("write_report needs a result or its saved data")
        data = result.to_dict()
    cmp = comparison if comparison is not None else compare(data)
    figures, notes = [], []
    if result is not None and result.series.kind != "video":
        from hiprom.outputs.folder import result_figure

        figures.append(("The photo with each reading drawn: shank line, vertical (dashed) and the angle.",
                        _png(result_figure(result))))
    elif result is not None:
        figures.append(("Angle against time with the norm band shaded; ▲ IR and ▼ ER at each rep's hold.",
                        _png(plot_angles_with_band(result, cmp))))
    figures.append(("Peak IR per side (± uncertainty) against the norm band.", _png(plot_sides_vs_band(data, cmp))))
    figures.append(("Peak IR against what everyday and sport movements need.", _png(plot_demands_gauge(data, cmp))))
    frames: list[tuple[str, str]] = []
    if result is None:
        notes.append("Time series and key frames omitted: landmarks.npz was not found next to result.json.")
    else:
        video = find_video(data, folder, video_path)
        frames, frame_notes = _key_frames(result, video, blur_faces)
        notes += frame_notes
    out = Path(out_path)
    atomic_write_text(out, _html(data, cmp, figures, frames, notes))
    return out
