variable "billing_api_key" {
  type      = string
  sensitive = true
  # ephemeral = true # Terraform 1.10+ / OpenTofu 1.11+: keeps it out of saved plan files too
}

# Write-only (Terraform 1.11+): the value is sent to the agent and never
# stored in Terraform's plan or state. Increment value_wo_version to rotate it.
# The app sees BILLING_API_KEY=<value>; a Streamlit app also finds it as
# st.secrets["BILLING_API_KEY"].
resource "runtime_secret" "billing_api_key" {
  project_id       = runtime_project.sales.id
  key              = "BILLING_API_KEY"
  value_wo         = var.billing_api_key
  value_wo_version = 1
}

# Older Terraform: `value` is sensitive (hidden in the CLI output) but kept in
# the state.
# resource "runtime_secret" "billing_api_key" {
#   project_id = runtime_project.sales.id
#   key        = "BILLING_API_KEY"
#   value      = var.billing_api_key
# }

# A service-account key as a file: the app reads /run/secrets/GCP_SA_KEY
# (mode 0400), whose path is also in GCP_SA_KEY_FILE; the key is in no
# environment variable. The variable points Google's client libraries at it.
variable "gcp_sa_key_json" {
  type      = string
  sensitive = true
}

resource "runtime_secret" "gcp_sa_key" {
  project_id       = runtime_project.sales.id
  key              = "GCP_SA_KEY"
  value_wo         = var.gcp_sa_key_json
  value_wo_version = 1
  file             = true
}

resource "runtime_variable" "google_credentials" {
  project_id = runtime_project.sales.id
  key        = "GOOGLE_APPLICATION_CREDENTIALS"
  value      = "/run/secrets/GCP_SA_KEY"
}
