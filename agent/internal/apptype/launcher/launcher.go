// Package launcher embeds the files the agent ships into app containers.
package launcher

import _ "embed"

// DashLauncher is runtime_dash.py, mounted read-only into Dash containers.
// gunicorn imports it as DashModule from the mount point (--pythonpath) and
// serves DashApp. It loads the file named by DashEntryEnv without running
// its __main__ block, serves its `server` or its Dash instance's Flask
// server, and adds DashHealthRoute under Dash's routes prefix.
//
//go:embed runtime_dash.py
var DashLauncher []byte

const (
	// DashFile is the launcher's file name in its mount directory.
	DashFile = "runtime_dash.py"
	// DashModule is the module gunicorn imports.
	DashModule = "runtime_dash"
	// DashApp is gunicorn's APP argument.
	DashApp = DashModule + ":application"
	// DashEntryEnv names the user's app file (absolute path in the container).
	DashEntryEnv = "RUNTIME_DASH_ENTRY"
	// DashRootEnv is the repository root put on sys.path after the app's
	// own folder (default /app).
	DashRootEnv = "RUNTIME_APP_ROOT"
	// DashHealthRoute is appended to the routes prefix ("/" or "/x/"):
	// GET answers 200 "ok".
	DashHealthRoute = "_agent/health"
)
