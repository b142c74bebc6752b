// Package config loads the agent's settings: defaults, then the HCL config
// file, then RUNTIME_AGENT_* environment variables, then command-line flags,
// each overriding the one before.
package config

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2/hclsimple"
)

// Config is every agent setting.
type Config struct {
	Listen          string            `hcl:"listen,optional"`
	DataDir         string            `hcl:"data_dir,optional"`
	TokenFile       string            `hcl:"token_file,optional"`
	AppsListen      string            `hcl:"apps_listen,optional"`
	AppsDomain      string            `hcl:"apps_domain,optional"`
	TLSCert         string            `hcl:"tls_cert,optional"`
	TLSKey          string            `hcl:"tls_key,optional"`
	KnownHosts      string            `hcl:"known_hosts,optional"`
	TrustOnFirstUse bool              `hcl:"trust_on_first_use,optional"`
	AllowLocalRepos bool              `hcl:"allow_local_repos,optional"`
	KeyFile         string            `hcl:"key_file,optional"`
	Environments    map[string]string `hcl:"environments,optional"`
	HealthTimeout   string            `hcl:"health_timeout,optional"`
	StartPeriods    map[string]string `hcl:"start_periods,optional"`
	BuildMemoryMB   int64             `hcl:"build_memory_mb,optional"`
	Workers         int               `hcl:"workers,optional"`
	LogLevel        string            `hcl:"log_level,optional"`
	LogJSON         bool              `hcl:"log_json,optional"`
	DockerNetwork   string            `hcl:"docker_network,optional"`

	// Token is never read from the config file (files get copied around);
	// it comes from RUNTIME_AGENT_TOKEN or the token file.
	Token       string
	InsecureDev bool
}

// Defaults are the documented defaults.
func Defaults() Config {
	return Config{
		Listen:        "127.0.0.1:7788",
		DataDir:       "/var/lib/runtime-agent",
		AppsListen:    "127.0.0.1:8080",
		AppsDomain:    "localhost",
		HealthTimeout: "120s",
		Workers:       16,
		LogLevel:      "info",
		DockerNetwork: "runtime-apps",
		Environments: map[string]string{
			"python-3.11": "python:3.11-slim",
			"python-3.12": "python:3.12-slim",
			"python-3.13": "python:3.13-slim",
		},
	}
}

// Load parses args (after the subcommand) and builds the config.
func Load(args []string, getenv func(string) string) (*Config, error) {
	return load(args, getenv, true)
}

// LoadOffline builds the config for commands that work on the data
// directory with the agent stopped (rotate-key); they need no token.
func LoadOffline(args []string, getenv func(string) string) (*Config, error) {
	return load(args, getenv, false)
}

func load(args []string, getenv func(string) string, needToken bool) (*Config, error) {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	var (
		file                                                          = fs.String("config", "", "HCL config file")
		listen, dataDir, tokenFile, appsListen, appsDomain, cert, key = fs.String("listen", "", "API address (RUNTIME_AGENT_LISTEN)"), fs.String("data-dir", "", "data directory (RUNTIME_AGENT_DATA_DIR)"), fs.String("token-file", "", "file holding the bearer token (RUNTIME_AGENT_TOKEN_FILE)"), fs.String("apps-listen", "", "app reverse proxy address (RUNTIME_AGENT_APPS_LISTEN)"), fs.String("apps-domain", "", "apps are served at <slug>.<domain> (RUNTIME_AGENT_APPS_DOMAIN)"), fs.String("tls-cert", "", "TLS certificate for the API (RUNTIME_AGENT_TLS_CERT)"), fs.String("tls-key", "", "TLS key for the API (RUNTIME_AGENT_TLS_KEY)")
		insecure                                                      = fs.Bool("insecure-dev", false, "allow running without a token (development only)")
		logJSON                                                       = fs.Bool("log-json", false, "log as JSON")
		logLevel                                                      = fs.String("log-level", "", "trace, debug, info, warn or error")
	)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	c := Defaults()
	if *file != "" {
		var fc Config
		if err := hclsimple.DecodeFile(*file, nil, &fc); err != nil {
			return nil, fmt.Errorf("config file: %w", err)
		}
		c.merge(fc)
	}
	env := func(name string, dst *string) {
		if v := getenv(name); v != "" {
			*dst = v
		}
	}
	env("RUNTIME_AGENT_LISTEN", &c.Listen)
	env("RUNTIME_AGENT_DATA_DIR", &c.DataDir)
	env("RUNTIME_AGENT_TOKEN_FILE", &c.TokenFile)
	env("RUNTIME_AGENT_APPS_LISTEN", &c.AppsListen)
	env("RUNTIME_AGENT_APPS_DOMAIN", &c.AppsDomain)
	env("RUNTIME_AGENT_TLS_CERT", &c.TLSCert)
	env("RUNTIME_AGENT_TLS_KEY", &c.TLSKey)
	env("RUNTIME_AGENT_TOKEN", &c.Token)
	flagStr := func(v string, dst *string) {
		if v != "" {
			*dst = v
		}
	}
	flagStr(*listen, &c.Listen)
	flagStr(*dataDir, &c.DataDir)
	flagStr(*tokenFile, &c.TokenFile)
	flagStr(*appsListen, &c.AppsListen)
	flagStr(*appsDomain, &c.AppsDomain)
	flagStr(*cert, &c.TLSCert)
	flagStr(*key, &c.TLSKey)
	flagStr(*logLevel, &c.LogLevel)
	c.LogJSON = c.LogJSON || *logJSON
	c.InsecureDev = *insecure || !needToken

	if c.TokenFile != "" && c.Token == "" {
		b, err := os.ReadFile(c.TokenFile)
		if err != nil {
			return nil, fmt.Errorf("reading token file: %w", err)
		}
		c.Token = strings.TrimSpace(string(b))
	}
	if c.KnownHosts == "" {
		c.KnownHosts = filepath.Join(c.DataDir, "known_hosts")
	}
	if c.KeyFile == "" {
		c.KeyFile = filepath.Join(c.DataDir, "secret.key")
	}
	return &c, c.validate()
}

func (c *Config) merge(f Config) {
	set := func(v string, dst *string) {
		if v != "" {
			*dst = v
		}
	}
	set(f.Listen, &c.Listen)
	set(f.DataDir, &c.DataDir)
	set(f.TokenFile, &c.TokenFile)
	set(f.AppsListen, &c.AppsListen)
	set(f.AppsDomain, &c.AppsDomain)
	set(f.TLSCert, &c.TLSCert)
	set(f.TLSKey, &c.TLSKey)
	set(f.KnownHosts, &c.KnownHosts)
	set(f.KeyFile, &c.KeyFile)
	set(f.HealthTimeout, &c.HealthTimeout)
	set(f.LogLevel, &c.LogLevel)
	set(f.DockerNetwork, &c.DockerNetwork)
	c.TrustOnFirstUse = f.TrustOnFirstUse
	c.AllowLocalRepos = f.AllowLocalRepos
	c.LogJSON = f.LogJSON
	if f.StartPeriods != nil {
		c.StartPeriods = f.StartPeriods
	}
	if f.BuildMemoryMB > 0 {
		c.BuildMemoryMB = f.BuildMemoryMB
	}
	if f.Workers > 0 {
		c.Workers = f.Workers
	}
	if f.Environments != nil {
		// The file's list replaces the defaults: an admin who lists
		// environments means exactly those.
		c.Environments = f.Environments
	}
}

func (c *Config) validate() error {
	if c.Token == "" && !c.InsecureDev {
		return errors.New("no API token: set RUNTIME_AGENT_TOKEN or RUNTIME_AGENT_TOKEN_FILE (or --token-file); --insecure-dev runs without one, for local development only")
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return errors.New("set both tls_cert and tls_key, or neither")
	}
	if _, err := c.HealthTimeoutDuration(); err != nil {
		return err
	}
	if _, err := c.StartPeriodDurations(); err != nil {
		return err
	}
	if c.AppsDomain == "" {
		return errors.New("apps_domain must not be empty")
	}
	return nil
}

// HealthTimeoutDuration is how long a deploy waits for the app to report healthy.
func (c *Config) HealthTimeoutDuration() (time.Duration, error) {
	d, err := time.ParseDuration(c.HealthTimeout)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("health_timeout %q is not a duration such as \"120s\"", c.HealthTimeout)
	}
	return d, nil
}

// AppsPort is the port part of AppsListen, for app URLs.
func (c *Config) AppsPort() int {
	i := strings.LastIndex(c.AppsListen, ":")
	if i < 0 {
		return 80
	}
	n, err := strconv.Atoi(c.AppsListen[i+1:])
	if err != nil {
		return 80
	}
	return n
}

// StartPeriodDurations parses start_periods (app type → duration): how long
// failed health probes are expected while an app of that type starts.
func (c *Config) StartPeriodDurations() (map[string]time.Duration, error) {
	out := map[string]time.Duration{}
	for k, v := range c.StartPeriods {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return nil, fmt.Errorf("start_periods[%q] = %q is not a duration such as \"90s\"", k, v)
		}
		out[k] = d
	}
	return out, nil
}
