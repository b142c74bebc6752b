# 200 variables and 20 secrets on one running project: the benchmark's
# Terraform side.
terraform {
  required_providers {
    runtime = { source = "runtimeops/runtime" }
  }
}

variable "git_url" { type = string }
variable "run" { type = string }
variable "value" { type = string }

resource "runtime_project" "app" {
  name        = "config bench ${var.run}"
  app_type    = "streamlit"
  environment = "python-3.12"
  git_url     = var.git_url
  path        = "app.py"
}

resource "runtime_deployment" "app" {
  project_id = runtime_project.app.id
}

resource "runtime_variable" "v" {
  count      = 200
  project_id = runtime_project.app.id
  key        = "VAR_${count.index}"
  value      = "${var.value}-${count.index}"
}

resource "runtime_secret" "s" {
  count      = 20
  project_id = runtime_project.app.id
  key        = "SECRET_${count.index}"
  value      = "${var.value}-secret-${count.index}"
}
