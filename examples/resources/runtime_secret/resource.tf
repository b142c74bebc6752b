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
