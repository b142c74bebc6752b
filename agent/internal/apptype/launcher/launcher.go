// Package launcher embeds the files the agent ships into app containers.
package launcher

import _ "embed"

// DashLauncher is runtime_dash.py, mounted read-only into Dash containers.
//
//go:embed runtime_dash.py
var DashLauncher []byte
