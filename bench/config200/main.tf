# 200 variables and 20 secrets on one running project: the benchmark's
# Terraform side. variables=0 secrets=0 gives the same project and
# deployment alone, whose refresh the children's cost is measured against.
terraform {
  required_providers {
    runtime = { source = "runtimeops/runtime" }
  }
}

variable "git_url" { type = string }
variable "run" { type = string }
variable "value" { type = string }
variable "variables" {
  type    = number
  default = 200
}
variable "secrets" {
  type    = number
  default = 20
}

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
  count      = var.variables
  project_id = runtime_project.app.id
  key        = "VAR_${count.index}"
  value      = "${var.value}-${count.index}"
}

resource "runtime_secret" "s" {
  count      = var.secrets
  project_id = runtime_project.app.id
  key        = "SECRET_${count.index}"
  value      = "${var.value}-secret-${count.index}"
}
