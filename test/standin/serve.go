package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"time"
)

// Helpers shared by the server personalities added after streamlit
// (gunicorn, airflow, open-webui). Streamlit keeps its own loop.

// stopSignals starts catching SIGTERM and SIGINT; call the returned func to
// stop.
func stopSignals() (<-chan os.Signal, func()) {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	return sigs, func() { signal.Stop(sigs) }
}

// sleepOrStop waits d, or less if a stop signal comes; it reports whether
// the wait ran to the end.
func sleepOrStop(d time.Duration, sigs <-chan os.Signal) bool {
	if d <= 0 {
		return true
	}
	select {
	case <-time.After(d):
		return true
	case <-sigs:
		return false
	}
}

// listenAll opens every address, closing the ones already open on failure.
func listenAll(addrs []string) ([]net.Listener, error) {
	var lns []net.Listener
	for _, a := range addrs {
		ln, err := net.Listen("tcp", a)
		if err != nil {
			for _, l := range lns {
				l.Close()
			}
			return nil, err
		}
		lns = append(lns, ln)
	}
	return lns, nil
}

// serveUntilStop serves h on every listener until a stop signal (status 0)
// or a serve error (status 1). onStop runs before the server shuts down.
func serveUntilStop(lns []net.Listener, h http.Handler, sigs <-chan os.Signal, stderr io.Writer, onStop func()) int {
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, len(lns))
	for _, ln := range lns {
		go func(ln net.Listener) { errc <- hs.Serve(ln) }(ln)
	}
	select {
	case err := <-errc:
		fmt.Fprintf(stderr, "standin: serve: %v\n", err)
		return 1
	case <-sigs:
	}
	if onStop != nil {
		onStop()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = hs.Shutdown(ctx)
	return 0
}

// environMap is the process environment as a map, for /_standin/info.
func environMap() map[string]string {
	env := map[string]string{}
	for _, kv := range os.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	return env
}

// writeJSON answers with v as indented JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

// baseInfo is what every personality's /_standin/info reports.
func baseInfo(startedAt time.Time) map[string]any {
	cwd, _ := os.Getwd()
	host, _ := os.Hostname()
	args := os.Args[1:]
	if args == nil {
		args = []string{}
	}
	installed, _ := os.ReadFile(installedFile)
	return map[string]any{
		"argv0":      os.Args[0],
		"args":       args,
		"env":        environMap(),
		"cwd":        cwd,
		"pid":        os.Getpid(),
		"uid":        os.Getuid(),
		"hostname":   host,
		"installed":  string(installed),
		"started_at": startedAt.UTC().Format(time.RFC3339Nano),
	}
}

// listDir lists a directory tree's regular files and directories (relative
// paths, directories with a trailing slash), at most max entries.
func listDir(root string, max int) []string {
	out := []string{}
	var walk func(dir, rel string)
	walk = func(dir, rel string) {
		entries, err := os.ReadDir(dir)
		if err != nil {
			return
		}
		for _, e := range entries {
			if len(out) >= max {
				return
			}
			name := rel + e.Name()
			if e.IsDir() {
				out = append(out, name+"/")
				walk(dir+"/"+e.Name(), name+"/")
			} else {
				out = append(out, name)
			}
		}
	}
	walk(root, "")
	sort.Strings(out)
	return out
}

// logTime is the timestamp gunicorn puts on its log lines.
func logTime() string {
	return time.Now().UTC().Format("2006-01-02 15:04:05 +0000")
}
