terraform {
  required_providers {
    runtime = {
      source = "runtimeops/runtime"
    }
  }
}

variable "agent_token" {
  type      = string
  sensitive = true
}

# One provider block per host: runtime-agent runs on each host that runs apps.
provider "runtime" {
  endpoint = "https://apps-host.example.com:7788" # or RUNTIME_ENDPOINT
  token    = var.agent_token                      # or RUNTIME_TOKEN

  # Optional:
  # ca_cert_pem     = file("agent-ca.pem") # a private CA for the agent's TLS certificate
  # request_timeout = "30s"                # each HTTP request to the agent
  # retries         = 4                    # on connection errors, 429 and 5xx
}
