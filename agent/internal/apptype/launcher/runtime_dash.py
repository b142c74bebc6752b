"""WSGI entry point runtime-agent uses to serve a Dash app with gunicorn.

runtime-agent mounts this file read-only into the app's container and runs

    gunicorn --bind 0.0.0.0:8050 --workers N --threads T --timeout 120 \\
        --chdir /app --pythonpath /opt/runtime/dash runtime_dash:application

gunicorn cannot serve ``app:app.server`` (it takes a plain name, not an
attribute path), and ``python app.py`` would start Dash's development
server. So this module:

* loads the user's app file, named by the environment variable
  RUNTIME_DASH_ENTRY, by path as the module ``__runtime_app__``: its
  ``if __name__ == "__main__":`` block (app.run / run_server) does not run;
  the file's own folder, then the repository root (RUNTIME_APP_ROOT, default
  /app), are put on sys.path first so its imports resolve as they do with
  ``python app.py``;
* exposes ``application``: the module's ``server`` if it defines one,
  otherwise the Flask server (``.server``) of the first Dash instance among
  the module's globals;
* adds the route ``<routes prefix>_agent/health`` answering "ok", which the
  agent probes.

It never imports dash itself: a Dash instance is recognised by its shape (a
``server`` attribute plus ``layout`` or ``callback``), so a plain Flask app
works too. Standard library only.
"""

import importlib.util
import os
import sys

ENTRY_ENV = "RUNTIME_DASH_ENTRY"
ROOT_ENV = "RUNTIME_APP_ROOT"
DEFAULT_ROOT = "/app"
MODULE_NAME = "__runtime_app__"
HEALTH_ROUTE = "_agent/health"
HEALTH_ENDPOINT = "runtime_agent_health"

__all__ = ["application"]


def _fail(message):
    raise RuntimeError("runtime_dash: " + message)


def _entry_path():
    entry = os.environ.get(ENTRY_ENV, "").strip()
    if not entry:
        _fail(
            "%s is not set; it must name the Dash app's Python file "
            "(runtime-agent sets it from the deployment's entrypoint)" % ENTRY_ENV
        )
    path = os.path.abspath(entry)
    if not os.path.isfile(path):
        _fail("%s=%s: no such file (the deployment's entrypoint must be a Python file in the repository)" % (ENTRY_ENV, entry))
    return path


def _prepend_path(folder):
    folder = os.path.abspath(folder)
    if folder in sys.path:
        sys.path.remove(folder)
    sys.path.insert(0, folder)


def _load(path):
    root = os.environ.get(ROOT_ENV, "").strip() or DEFAULT_ROOT
    # Inserted in reverse: the app's folder ends up first, the root second.
    if os.path.isdir(root):
        _prepend_path(root)
    _prepend_path(os.path.dirname(path))

    spec = importlib.util.spec_from_file_location(MODULE_NAME, path)
    if spec is None or spec.loader is None:
        _fail("cannot load %s as a Python module" % path)
    module = importlib.util.module_from_spec(spec)
    # Registered before it runs, as an import would: Flask(__name__) and
    # Dash(__name__) look the module up to find the app's folder (assets/,
    # pages/, templates/).
    sys.modules[MODULE_NAME] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(MODULE_NAME, None)
        raise
    return module


def _is_dash_app(obj):
    if isinstance(obj, type) or type(obj).__name__ == "module":
        return False
    try:
        return (
            callable(getattr(obj, "server", None))
            and (hasattr(obj, "layout") or callable(getattr(obj, "callback", None)))
        )
    except Exception:
        return False


def _find_dash_app(module):
    for value in list(vars(module).values()):
        if _is_dash_app(value):
            return value
    return None


def _normalise_prefix(prefix):
    prefix = "/" + prefix.strip("/") + "/"
    return "/" if prefix == "//" else prefix


def _routes_prefix(dash_app):
    config = getattr(dash_app, "config", None) if dash_app is not None else None
    if config is not None:
        value = getattr(config, "routes_pathname_prefix", None)
        if value is None and hasattr(config, "get"):
            try:
                value = config.get("routes_pathname_prefix")
            except Exception:
                value = None
        if isinstance(value, str) and value:
            return _normalise_prefix(value)
    # Dash's own order: an explicit routes prefix, else the URL base path.
    for name in ("DASH_ROUTES_PATHNAME_PREFIX", "DASH_URL_BASE_PATHNAME"):
        value = os.environ.get(name, "").strip()
        if value:
            return _normalise_prefix(value)
    return "/"


def _health(environ, start_response):
    start_response(
        "200 OK",
        [("Content-Type", "text/plain; charset=utf-8"), ("Cache-Control", "no-store"), ("Content-Length", "2")],
    )
    return [b"ok"]


class _HealthMiddleware(object):
    """Answers the health path in front of a WSGI app that is not Flask."""

    def __init__(self, app, path):
        self.app = app
        self.path = path

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO") == self.path and environ.get("REQUEST_METHOD") in ("GET", "HEAD"):
            return _health(environ, start_response)
        return self.app(environ, start_response)

    def __getattr__(self, name):
        return getattr(self.app, name)


def _add_health_route(server, prefix):
    path = prefix + HEALTH_ROUTE
    add_url_rule = getattr(server, "add_url_rule", None)
    if add_url_rule is None:
        return _HealthMiddleware(server, path)
    view_functions = getattr(server, "view_functions", {})
    if HEALTH_ENDPOINT not in view_functions:
        def runtime_agent_health():
            return "ok", 200, {"Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store"}

        add_url_rule(path, endpoint=HEALTH_ENDPOINT, view_func=runtime_agent_health, methods=["GET"])
    return server


def _application():
    path = _entry_path()
    module = _load(path)
    dash_app = _find_dash_app(module)

    server = getattr(module, "server", None)
    if server is not None:
        if _is_dash_app(server):
            # "server = app" instead of "server = app.server".
            dash_app, server = server, server.server
        elif not callable(server):
            _fail(
                "%s defines `server`, but it is a %s, not a WSGI application; "
                "set server = app.server where app is your dash.Dash instance" % (path, type(server).__name__)
            )
    elif dash_app is not None:
        server = dash_app.server
    else:
        _fail(
            "%s defines no `server` and no Dash instance at module level, so there is nothing to serve: "
            "define server = app.server or create a dash.Dash instance at module level "
            "(not only inside a function or the `if __name__ == \"__main__\":` block)" % path
        )
    return _add_health_route(server, _routes_prefix(dash_app))


application = _application()
