# Quickstart: one data app on one runtime-agent host.
#
#   export RUNTIME_ENDPOINT=http://127.0.0.1:7788  RUNTIME_TOKEN=...
#   terraform init && terraform apply -var git_url=git@github.com:acme/sales.git
#
# `make demo` runs this against a local agent and a local demo repository,
# with the provider built from this repository (dev_overrides: no terraform
# init there).

terraform {
  required_providers {
    runtime = {
      source = "runtimeops/runtime"
    }
  }
}

variable "agent_endpoint" {
  description = "Address of runtime-agent's API; null reads RUNTIME_ENDPOINT."
  type        = string
  default     = null
}

variable "agent_token" {
  description = "The agent's bearer token; null reads RUNTIME_TOKEN."
  type        = string
  default     = null
  sensitive   = true
}

variable "git_url" {
  description = <<-EOT
    Repository of the app (git@host:org/repo.git, ssh://..., https://...). The
    default is the local repository `make demo` creates next to this stack
    (local paths work only when the agent sets allow_local_repos).
  EOT
  type        = string
  default     = null
}

variable "name" {
  description = "Name of the project; its slug (and the app's address) is derived from it."
  type        = string
  default     = "Sales dashboard"
}

variable "path" {
  description = "Entrypoint of the app inside the repository."
  type        = string
  default     = "src/app.py"
}

variable "environment" {
  description = "Python environment, one of the agent's environments."
  type        = string
  default     = "python-3.12"
}

locals {
  git_url = coalesce(var.git_url, abspath("${path.module}/../sales-dashboard"))
}

provider "runtime" {
  endpoint = var.agent_endpoint
  token    = var.agent_token
}

resource "runtime_project" "demo" {
  name        = var.name
  app_type    = "streamlit"
  environment = var.environment
  git_url     = local.git_url
  path        = var.path
}

# The deploy key to register with the git host (read access is enough) before
# the first deployment of a private repository over SSH. In a real stack a git
# host's deploy key resource takes it, and the deployment depends on that.
data "runtime_deploy_key" "demo" {
  project_id = runtime_project.demo.id
}

resource "runtime_deployment" "demo" {
  project_id = runtime_project.demo.id
  state      = "running"
}

output "deploy_key" {
  description = "Register this key with the git host."
  value       = data.runtime_deploy_key.demo.public_key
}

output "deploy_key_fingerprint" {
  value = data.runtime_deploy_key.demo.fingerprint_sha256
}

output "url" {
  description = "Where the app is served."
  value       = runtime_deployment.demo.url
}
