// Command runtime-agent runs data apps from git on this host: it keeps the
// desired state of every project in an embedded store, clones code with each
// project's deploy key, runs apps in Docker and serves them through its
// reverse proxy. See `runtime-agent help`.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"

	"github.com/hashicorp/go-hclog"

	"github.com/runtimeops/terraform-provider-runtime/agent/api"
	"github.com/runtimeops/terraform-provider-runtime/agent/internal/config"
	"github.com/runtimeops/terraform-provider-runtime/agent/internal/daemon"
	"github.com/runtimeops/terraform-provider-runtime/agent/internal/reconcile"
	"github.com/runtimeops/terraform-provider-runtime/agent/internal/seal"
	"github.com/runtimeops/terraform-provider-runtime/agent/internal/store"
)

// version is set at build time (-ldflags "-X main.version=...").
var version = "dev"

const usage = `runtime-agent runs data apps from git on this host.

Usage:
  runtime-agent serve [--config agent.hcl] [flags]   run the agent (see serve --help)
  runtime-agent projects [list]                      projects the agent holds and their state
  runtime-agent projects show SLUG                   one project, its deployment and last error
  runtime-agent logs SLUG [-f] [-n N] [--build]      the app's container log (or its newest image build)
  runtime-agent credentials SLUG                     the app's generated admin login (Airflow, Open WebUI)
  runtime-agent rotate-key [--config agent.hcl]      re-encrypt everything with a new key file (agent stopped)
  runtime-agent version

Client commands reach the agent at RUNTIME_ENDPOINT (default http://<RUNTIME_AGENT_LISTEN>)
with the token from RUNTIME_TOKEN, RUNTIME_AGENT_TOKEN or RUNTIME_AGENT_TOKEN_FILE.
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "serve":
		err = serve(os.Args[2:])
	case "projects":
		err = projects(os.Args[2:])
	case "logs":
		err = logs(os.Args[2:])
	case "credentials":
		err = credentials(os.Args[2:])
	case "rotate-key":
		err = rotateKey(os.Args[2:])
	case "version", "--version", "-v":
		fmt.Println("runtime-agent", version)
	case "help", "--help", "-h":
		fmt.Print(usage)
	default:
		fmt.Fprintf(os.Stderr, "unknown command %q\n\n%s", os.Args[1], usage)
		os.Exit(2)
	}
	if err != nil {
		var ae *api.Error
		if errors.As(err, &ae) {
			err = errors.New(ae.Message) // the code is for programs, the message for people
		}
		fmt.Fprintln(os.Stderr, "runtime-agent:", err)
		os.Exit(1)
	}
}

func serve(args []string) error {
	cfg, err := config.Load(args, os.Getenv)
	if err != nil {
		return err
	}
	log := hclog.New(&hclog.LoggerOptions{
		Name: "runtime-agent", Level: hclog.LevelFromString(cfg.LogLevel), JSONFormat: cfg.LogJSON, Output: os.Stderr,
	})
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	d, err := daemon.Start(ctx, cfg, log, version)
	if err != nil {
		return err
	}
	return d.Wait()
}

// endpointAndToken finds the agent for the client commands.
func endpointAndToken() (string, string, error) {
	endpoint := os.Getenv("RUNTIME_ENDPOINT")
	if endpoint == "" {
		listen := os.Getenv("RUNTIME_AGENT_LISTEN")
		if listen == "" {
			listen = "127.0.0.1:7788"
		}
		endpoint = "http://" + listen
	}
	token := os.Getenv("RUNTIME_TOKEN")
	if token == "" {
		token = os.Getenv("RUNTIME_AGENT_TOKEN")
	}
	if token == "" {
		if f := os.Getenv("RUNTIME_AGENT_TOKEN_FILE"); f != "" {
			b, err := os.ReadFile(f)
			if err != nil {
				return "", "", err
			}
			token = strings.TrimSpace(string(b))
		}
	}
	return endpoint, token, nil
}

func client() (*api.Client, error) {
	endpoint, token, err := endpointAndToken()
	if err != nil {
		return nil, err
	}
	return api.NewClient(api.ClientConfig{Endpoint: endpoint, Token: token, RetryMax: 1, UserAgent: "runtime-agent/" + version})
}

func projects(args []string) error {
	c, err := client()
	if err != nil {
		return err
	}
	ctx := context.Background()
	if len(args) == 0 || args[0] == "list" {
		ps, err := c.ListProjects(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "SLUG\tAPP TYPE\tSTATUS\tBRANCH\tURL")
		for _, p := range ps {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", p.Slug, p.AppType, p.Status, p.Branch, p.URL)
		}
		return tw.Flush()
	}
	if args[0] != "show" || len(args) != 2 {
		return fmt.Errorf("usage: runtime-agent projects [list | show SLUG]")
	}
	p, err := c.GetProject(ctx, args[1])
	if err != nil {
		return err
	}
	d, err := c.GetDeployment(ctx, args[1], false)
	if err != nil {
		return err
	}
	out := map[string]any{"project": p, "deployment": d}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

func logs(args []string) error {
	fs := flag.NewFlagSet("logs", flag.ContinueOnError)
	follow := fs.Bool("f", false, "follow the log")
	build := fs.Bool("build", false, "show the newest image build's output instead")
	n := fs.Int("n", 100, "number of lines")
	// Accept flags before or after the slug.
	var slug string
	for len(args) > 0 {
		if err := fs.Parse(args); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		if slug != "" {
			return fmt.Errorf("usage: runtime-agent logs SLUG [-f] [-n N]")
		}
		slug, args = fs.Arg(0), fs.Args()[1:]
	}
	if slug == "" {
		return fmt.Errorf("usage: runtime-agent logs SLUG [-f] [-n N]")
	}
	c, err := client()
	if err != nil {
		return err
	}
	if *build {
		return rawGet(context.Background(), "/v1/projects/"+slug+"/build-log")
	}
	if !*follow {
		lines, err := c.Logs(context.Background(), slug, *n)
		if err != nil {
			return err
		}
		for _, l := range lines {
			fmt.Println(l)
		}
		return nil
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return rawGet(ctx, "/v1/projects/"+slug+"/logs?follow=true&tail="+strconv.Itoa(*n))
}

// rawGet copies a plain-text answer (a followed log, a build log) to
// stdout; the JSON client is for bounded JSON answers.
func rawGet(ctx context.Context, path string) error {
	endpoint, token, err := endpointAndToken()
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, "GET", strings.TrimRight(endpoint, "/")+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := (&http.Client{Timeout: 0}).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		var eb api.ErrorBody
		if json.Unmarshal(b, &eb) == nil && eb.Error != nil {
			return errors.New(eb.Error.Message)
		}
		return fmt.Errorf("HTTP %d: %s", resp.StatusCode, strings.TrimSpace(string(b)))
	}
	_, err = io.Copy(os.Stdout, resp.Body)
	if ctx.Err() != nil {
		return nil
	}
	return err
}

func credentials(args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("usage: runtime-agent credentials SLUG")
	}
	c, err := client()
	if err != nil {
		return err
	}
	cr, err := c.Credentials(context.Background(), args[0])
	if err != nil {
		return err
	}
	fmt.Printf("login:    %s\nusername: %s\npassword: %s\n", cr.LoginURL, cr.Username, cr.Password)
	return nil
}

// rotateKey re-seals every secret in the store with a new key file. The
// store's lock makes it refuse to run next to a live agent.
func rotateKey(args []string) error {
	cfg, err := config.LoadOffline(args, os.Getenv)
	if err != nil {
		return err
	}
	st, err := store.Open(filepath.Join(cfg.DataDir, "state.db"))
	if err != nil {
		return fmt.Errorf("%w (stop the agent before rotating its key)", err)
	}
	defer st.Close()
	n := 0
	err = seal.Rotate(cfg.KeyFile, func(old, next *seal.Sealer) error {
		return st.UpdateAll(func(p *store.Project) error {
			n++
			return reconcile.Reseal(p, old, next)
		})
	})
	if err != nil {
		return err
	}
	fmt.Printf("rotated %s: %d project(s) re-encrypted; start the agent again\n", cfg.KeyFile, n)
	return nil
}
