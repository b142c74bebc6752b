# 20 projects deployed at once: the benchmark's Terraform side.
terraform {
  required_providers {
    runtime = { source = "runtimeops/runtime" }
  }
}

variable "git_url" { type = string }
variable "run" { type = string }

resource "runtime_project" "app" {
  count       = 20
  name        = "bench ${var.run} ${count.index}"
  app_type    = "streamlit"
  environment = "python-3.12"
  git_url     = var.git_url
  path        = "app.py"
}

resource "runtime_deployment" "app" {
  count      = 20
  project_id = runtime_project.app[count.index].id
}
