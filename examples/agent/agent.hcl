# runtime-agent configuration (HCL). Every setting is optional; flags and
# RUNTIME_AGENT_* environment variables override the file.

listen      = "0.0.0.0:7788"        # API; put TLS in front or set tls_cert/tls_key
apps_listen = "0.0.0.0:80"          # app reverse proxy
apps_domain = "apps.example.com"    # apps at http://<slug>.apps.example.com (wildcard DNS)
data_dir    = "/var/lib/runtime-agent"
token_file  = "/etc/runtime-agent/token" # the bearer token; never put the token itself here

tls_cert = "/etc/runtime-agent/tls.crt"
tls_key  = "/etc/runtime-agent/tls.key"

# Git hosts' SSH host keys. Fill with: ssh-keyscan github.com >> /etc/runtime-agent/known_hosts
known_hosts        = "/etc/runtime-agent/known_hosts"
trust_on_first_use = false
allow_local_repos  = false

# Encrypts deploy keys at rest. Created (0600) on first start; back it up with data_dir.
key_file = "/etc/runtime-agent/secret.key"

# Python environments: name -> base image. Only these names are accepted.
environments = {
  "python-3.11" = "python:3.11-slim"
  "python-3.12" = "python:3.12-slim"
}

health_timeout = "120s"
workers        = 16
log_level      = "info"
log_json       = true
