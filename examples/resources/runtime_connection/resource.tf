variable "warehouse_password" {
  type      = string
  sensitive = true
  # ephemeral = true # Terraform 1.10+ / OpenTofu 1.11+: keeps it out of saved plan files too
}

# The app gets WAREHOUSE_URL (postgresql://analyst:<password>@db.internal:5432/sales?sslmode=require,
# every part percent-encoded) and WAREHOUSE_HOST, _PORT, _LOGIN, _PASSWORD,
# _SCHEMA. A Streamlit app can simply call st.connection("warehouse"); an
# Airflow app finds it as the connection id "warehouse".
resource "runtime_connection" "warehouse" {
  project_id          = runtime_project.sales.id
  name                = "warehouse"
  type                = "postgres"
  host                = "db.internal"
  port                = 5432
  login               = "analyst"
  password_wo         = var.warehouse_password # write-only (Terraform 1.11+)
  password_wo_version = 1                      # increment to rotate the password
  schema              = "sales"
  extra = {
    sslmode = "require"
  }
}

# An HTTP API without a password.
resource "runtime_connection" "billing_api" {
  project_id = runtime_project.sales.id
  name       = "billing_api"
  type       = "http"
  host       = "billing.example.com"
  schema     = "https"
}
