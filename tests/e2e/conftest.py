"""The end-to-end tier: tests that need the pose model or the shared data (``../shared``).

Running the pose model over a clip is what makes these tests slow, so each clip is detected
once per test run and its landmarks are shared (the ``landmarks`` fixture):

- ``landmarks.detect(clip, config)`` runs :func:`hiprom.detect_landmarks` the first time a clip
  is asked for with given detection settings (``config.model``, ``config.video``,
  ``config.geometry.silhouette``) and returns the same ``(series, info)`` afterwards;
- ``landmarks.analyze(clip, config)`` is what ``hiprom.analyze(clip, config)`` returns, measured
  from that series with :func:`hiprom.analyze_landmarks` (one result per clip and config);
- ``landmarks.npz(clip)`` is the series saved once as a landmarks file, for CLI tests that
  check the output and need no detection (``hiprom analyze FILE --from-landmarks``).

Under pytest-xdist (``-n 2``, pyproject's default) each worker process has its own cache, and
the workers share their detections through files in the run's temporary folder: the first to
ask for a clip detects it (holding a lock on it) and saves it; the others wait and load it.

The paths a user takes still run for real, each at least once: ``hiprom analyze`` on a clip
(``sample_cli_run`` below), a photo, ``hiprom batch``, ``hiprom live --headless`` and the report.
Results are shared between tests: never change one in place (``dataclasses.replace`` makes a copy).
"""

from __future__ import annotations

import hashlib
import os
import pickle
from pathlib import Path

import pytest
from helpers import SAMPLES
from helpers.cli import run_cli

import hiprom
from hiprom.apps.analysis import Analysis
from hiprom.config import Config
from hiprom.core.landmarks import LandmarkSeries
from hiprom.io.frames import SourceInfo
from hiprom.io.landmarks_npz import load_series, save_series
from hiprom.vision.model_store import ModelInfo

SAMPLE = SAMPLES / "seated_ir_right.mp4"


class Landmarks:
    """Landmarks of each clip, detected once per test run (see the module docstring).

    Parameters
    ----------
    model
        The resolved pose model every detection uses.
    config
        Default settings (``config.model.path`` = ``model``).
    folder
        Where :meth:`npz` writes the landmarks files.
    shared
        A folder every test process of this run sees (pytest-xdist workers), where detections
        are handed from one process to the others; None: this process only.
    """

    def __init__(self, model: ModelInfo, config: Config, folder: Path, shared: Path | None = None):
        self.model, self.config, self.folder, self.shared = model, config, folder, shared
        self._series: dict[tuple, tuple[LandmarkSeries, SourceInfo]] = {}
        self._results: dict[tuple, Analysis] = {}
        self._files: dict[tuple, Path] = {}

    def _key(self, clip: str | Path, config: Config) -> tuple:
        """The clip (path, size, modification time) and every setting detection reads."""
        if config.model.path and Path(config.model.path).resolve() != Path(self.model.path).resolve():
            raise ValueError(f"the landmarks cache runs {self.model.path}, not {config.model.path}")
        path = Path(clip).resolve()
        stat = path.stat()
        return str(path), stat.st_size, stat.st_mtime_ns, config.model, config.video, config.geometry.silhouette

    def detect(self, clip: str | Path, config: Config | None = None) -> tuple[LandmarkSeries, SourceInfo]:
        """``hiprom.detect_landmarks(clip, config)``, run once per clip and detection settings."""
        config = config or self.config
        key = self._key(clip, config)
        if key not in self._series:
            self._series[key] = self._detect_once(clip, config, key)
        return self._series[key]

    def _detect_once(self, clip: str | Path, config: Config, key: tuple) -> tuple[LandmarkSeries, SourceInfo]:
        """Detect, or load what another process of this run detected (``shared``)."""
        try:
            import fcntl
        except ImportError:  # no POSIX file locks (Windows): each process detects for itself
            fcntl = None
        if self.shared is None or fcntl is None:
            return hiprom.detect_landmarks(clip, config, model=self.model)
        name = hashlib.sha256(repr(key).encode()).hexdigest()[:20]
        series_file, info_file = self.shared / f"{name}.npz", self.shared / f"{name}.info.pickle"
        with open(self.shared / f"{name}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
            if info_file.is_file():           # written last: the detection is complete
                return load_series(series_file), pickle.loads(info_file.read_bytes())
            series, info = hiprom.detect_landmarks(clip, config, model=self.model)
            save_series(series, series_file)
            info_file.write_bytes(pickle.dumps(info))
            return series, info

    def analyze(self, clip: str | Path, config: Config | None = None) -> Analysis:
        """``hiprom.analyze(clip, config)`` from the clip's cached landmarks."""
        config = config or self.config
        key = (self._key(clip, config), config)
        if key not in self._results:
            series, info = self.detect(clip, config)
            self._results[key] = hiprom.analyze_landmarks(series, config, source_info=info, model=self.model)
        return self._results[key]

    def npz(self, clip: str | Path, config: Config | None = None) -> Path:
        """The clip's landmarks saved once as ``<n>_<clip name>.npz`` (do not modify the file)."""
        config = config or self.config
        key = self._key(clip, config)
        if key not in self._files:
            series, _info = self.detect(clip, config)
            self._files[key] = save_series(series, self.folder / f"{len(self._files)}_{Path(clip).stem}.npz")
        return self._files[key]


@pytest.fixture(scope="session")
def config(shared_model_path: Path) -> Config:
    """The default settings with the shared pose model."""
    return Config().with_overrides({"model.path": str(shared_model_path)})


@pytest.fixture(scope="session")
def model(config: Config) -> ModelInfo:
    """The shared pose model, resolved and validated once."""
    return hiprom.load_model(config, progress=False)


@pytest.fixture(scope="session")
def landmarks(model: ModelInfo, config: Config, tmp_path_factory: pytest.TempPathFactory) -> Landmarks:
    """Each clip's landmarks, detected once per test run."""
    shared = None
    if os.environ.get("PYTEST_XDIST_WORKER"):  # the workers' temporary folders share this parent
        shared = tmp_path_factory.getbasetemp().parent / "landmarks-shared"
        shared.mkdir(exist_ok=True)
    return Landmarks(model, config, tmp_path_factory.mktemp("landmarks"), shared)


@pytest.fixture(scope="session")
def sample_cli_run(tmp_path_factory: pytest.TempPathFactory, shared_model_path: Path):
    """The real thing, once per run: ``hiprom analyze samples/seated_ir_right.mp4 --out <tmp>/out
    --json`` with the progress bar on (stderr). Returns the finished process and the folder."""
    work = tmp_path_factory.mktemp("cli")
    out = work / "out"
    proc = run_cli("analyze", SAMPLE, "--out", out, "--json",
                   env={"HIPROM_MODEL": str(shared_model_path)}, cwd=work)
    return proc, out
