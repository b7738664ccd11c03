"""No network traffic, except the model download the user asked for.

MediaPipe's pip wheels carry a usage logger that the open-source build does not have: each
landmarker created starts a thread that posts usage statistics to
``https://play.googleapis.com/log`` through a libcurl built into ``libmediapipe.so``
(``mediapipe::tasks::core::logging::google_internal``). The wheel has no option, flag or
environment variable that turns it off (checked in mediapipe 1.2.3: ``CreateTasksLogger``
always builds the HTTP logger). So :func:`block_usage_logging` stops it another way, before
mediapipe is loaded: libcurl reads the standard proxy variables when it sends a request, so
``https_proxy`` is set to a proxy address whose scheme libcurl does not support
(:data:`BLOCKED_PROXY`); libcurl then gives up on each request before any DNS lookup or
connection, and nothing leaves the machine. ``no_proxy`` is removed so that it cannot exempt
the logging host. ``tests/test_offline.py`` checks with ``strace`` that ``analyze`` makes no
internet connection at all.

The user's own proxy settings are kept (in :data:`SAVED_ENV`, which child processes inherit)
and used for the one request hiprom makes itself, the model download
(:func:`download_proxy_handler`).
"""

from __future__ import annotations

import json
import os
import urllib.parse
import urllib.request

__all__ = ["BLOCKED_PROXY", "SAVED_ENV", "block_usage_logging", "user_proxy_env", "download_proxy_handler"]

#: A proxy URL libcurl refuses before resolving or connecting ("Unsupported proxy scheme").
BLOCKED_PROXY = "hiprom-offline://mediapipe-usage-logging-is-blocked"
#: Where the user's proxy variables are kept (JSON) once :func:`block_usage_logging` has run.
SAVED_ENV = "HIPROM_USER_PROXY_ENV"


def _is_proxy_var(name: str) -> bool:
    return name.lower().endswith("_proxy")


def user_proxy_env() -> dict[str, str]:
    """The user's proxy variables (``https_proxy``, ``no_proxy``...), as they were before
    :func:`block_usage_logging` changed them."""
    saved = os.environ.get(SAVED_ENV)
    if saved is not None:
        try:
            data = json.loads(saved)
        except ValueError:
            data = {}
        if isinstance(data, dict):
            return {str(k): str(v) for k, v in data.items()}
    return {k: v for k, v in os.environ.items() if _is_proxy_var(k) and v != BLOCKED_PROXY}


def block_usage_logging() -> None:
    """Make MediaPipe's built-in usage logging fail before it reaches the network.

    Call before mediapipe creates a task (:class:`hiprom.vision.pose.PoseModel` does). Sets
    ``https_proxy``/``HTTPS_PROXY`` to :data:`BLOCKED_PROXY` and removes ``no_proxy`` for this
    process and its children; idempotent.
    """
    if SAVED_ENV not in os.environ:
        os.environ[SAVED_ENV] = json.dumps(user_proxy_env(), sort_keys=True)
    for name in [k for k in os.environ if k.lower() == "no_proxy"]:
        del os.environ[name]
    os.environ["https_proxy"] = os.environ["HTTPS_PROXY"] = BLOCKED_PROXY


def download_proxy_handler(url: str) -> urllib.request.ProxyHandler:
    """A ``urllib`` proxy handler for ``url`` from the user's own proxy settings (as
    ``urllib`` would read them from the environment, ``no_proxy`` included)."""
    env = user_proxy_env()
    proxies: dict[str, str] = {}
    for lower_wins in (False, True):
        for name, value in env.items():
            if value and _is_proxy_var(name) and (name == name.lower()) == lower_wins:
                proxies[name[:-len("_proxy")].lower()] = value
    no = proxies.pop("no", None)
    host = urllib.parse.urlsplit(url).hostname or ""
    if no and urllib.request.proxy_bypass_environment(host, {"no": no}):
        return urllib.request.ProxyHandler({})
    return urllib.request.ProxyHandler(proxies)
