"""``hiprom serve``: the local web page (see :mod:`hiprom.apps.serve`)."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import secrets
import socket
from pathlib import Path
from typing import Optional

import typer

from hiprom.apps.cli.common import Variant, app, err_console, in_range, run_guarded

#: What the serve extra brings (import name: pip name).
SERVE_PACKAGES = {"starlette": "starlette", "uvicorn": "uvicorn", "python_multipart": "python-multipart",
                  "jinja2": "jinja2"}
TOKEN_ENV = "HIPROM_SERVE_TOKEN"


@app.command("serve")
def serve(
    host: str = typer.Option("127.0.0.1", "--host",
                             help="Address to listen on. The default answers this computer only; another address "
                                  "(e.g. 0.0.0.0) opens the page to the network: a warning is printed and a token "
                                  "is required."),
    port: int = typer.Option(8765, "--port", callback=in_range(1, 65535, integer=True), help="Port, 1-65535."),
    data: Optional[Path] = typer.Option(None, "--data",
                                        help="Folder for uploads, results and the history database "
                                             "(default: the user data folder, e.g. ~/.local/share/hiprom)."),
    open_browser: bool = typer.Option(False, "--open", help="Open the page in the default browser."),
    token: Optional[str] = typer.Option(None, "--token", envvar=TOKEN_ENV,
                                        help=f"Require this access token on every request (or set {TOKEN_ENV}); "
                                             "8-200 letters, digits or ._~-"),
    workers: Optional[int] = typer.Option(None, "--workers", "-w", callback=in_range(1, 64, integer=True),
                                          help="Clips analysed at once, 1-64 (default: the cores less one)."),
    max_upload_mb: float = typer.Option(2000, "--max-upload-mb", callback=in_range(1, 100_000, unit=" MB"),
                                        help="Largest file accepted, in MB (default 2000)."),
    history_db: Optional[Path] = typer.Option(None, "--history-db",
                                              help="History database (default: $HIPROM_HISTORY, else "
                                                   "history.sqlite in the data folder)."),
    config_file: Optional[Path] = typer.Option(None, "--config", "-c", help="A TOML config file."),
    model: Optional[Path] = typer.Option(None, "--model", help="Pose model .task file."),
    model_variant: Optional[Variant] = typer.Option(None, "--model-variant",
                                                    help="Model to download if none is found (default: full)."),
) -> None:
    """Run the local web page: patients, new tests (drop a clip), results and reports."""
    run_guarded(_serve, host, port, data, open_browser, token, workers, max_upload_mb, history_db, config_file,
                {"model.path": str(model) if model else None,
                 "model.variant": model_variant.value if model_variant else None})


def missing_packages() -> list[str]:
    """The pip names of the serve extra's packages that are not installed."""
    return [pip for mod, pip in SERVE_PACKAGES.items() if importlib.util.find_spec(mod) is None]


def _check_token(token: str) -> str:
    import re

    from hiprom.errors import UsageError

    if not re.fullmatch(r"[A-Za-z0-9._~-]{8,200}", token):
        raise UsageError(f"--token must be 8-200 letters, digits or ._~- (got {len(token)} characters)",
                         fix="use e.g. --token $(python -c 'import secrets; print(secrets.token_urlsafe(24))').")
    return token


def _check_port(host: str, port: int) -> None:
    from hiprom.errors import UsageError

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as exc:
            raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}",
                             fix="another program (or another hiprom serve) uses this port: choose another with "
                                 "--port, or check the --host address.") from None


def _serve(host: str, port: int, data: Optional[Path], open_browser: bool, token: Optional[str],
           workers: Optional[int], max_upload_mb: float, history_db: Optional[Path], config_file: Optional[Path],
           overrides: dict) -> None:
    from hiprom.errors import UsageError

    missing = missing_packages()
    if missing:
        raise UsageError(f"hiprom serve needs the web server packages, and these are not installed: "
                         f"{', '.join(missing)}", fix='pip install "hiprom[serve]"')
    import platformdirs
    import uvicorn

    from hiprom.apps.batch.worker import available_cores
    from hiprom.apps.pipeline import load_model
    from hiprom.apps.serve.app import ServeSettings, create_app
    from hiprom.apps.serve.guard import LOOPBACK_HOSTS
    from hiprom.config import Config
    from hiprom.io.paths import check_can_create

    config = Config.from_toml(config_file).with_overrides(overrides)
    data_dir = (data or Path(platformdirs.user_data_dir("hiprom", appauthor=False))).expanduser()
    check_can_create(data_dir / "analyses", option="--data")
    history = history_db or (Path(os.environ["HIPROM_HISTORY"]) if os.environ.get("HIPROM_HISTORY")
                             else data_dir / "history.sqlite")
    check_can_create(history, option="--history-db")
    token = _check_token(token) if token else None
    local = host in LOOPBACK_HOSTS or host.startswith("127.")
    if not local and token is None:
        token = secrets.token_urlsafe(24)
    _check_port(host, port)
    model = load_model(config, progress=True)     # once, before the first request: no download later
    settings = ServeSettings(data_dir=data_dir, history_path=history.expanduser(), config=config, model=model,
                             workers=workers or max(1, available_cores() - 1),
                             max_upload_bytes=int(max_upload_mb * 1_000_000), token=token,
                             allowed_hosts=LOOPBACK_HOSTS if local else None)
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else shown}:{port}/"
    url_token = url + (f"?token={token}" if token else "")
    if not local:
        err_console.print(f"[bold yellow]warning:[/] listening on {host}: other computers on the network can reach "
                          "this page. Patient data is sent unencrypted (plain HTTP); every request needs the "
                          "token. Use --host 127.0.0.1 unless the network is private.", soft_wrap=True)
    err_console.print(f"hiprom serve: open {url_token}  (data: {data_dir}; {settings.workers} worker(s); "
                      "Ctrl-C stops)", soft_wrap=True, markup=False, highlight=False)
    if open_browser:
        import threading
        import webbrowser

        threading.Timer(1.0, webbrowser.open, args=(url_token,)).start()
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host=host, port=port, log_level="warning",
                                           lifespan="on", server_header=False))
    from hiprom.io.atomic import clear_interrupt

    with contextlib.suppress(KeyboardInterrupt):   # uvicorn stops gracefully on Ctrl-C, then raises it again
        server.run()
    clear_interrupt()                              # Ctrl-C is how a server is stopped: exit 0
    err_console.print("hiprom serve stopped; unfinished analyses resume at the next start.")
