# A plain value; the app sees it as the environment variable REGION=eu.
resource "runtime_variable" "region" {
  project_id = runtime_project.sales.id
  key        = "REGION"
  value      = "eu"
}

# Several at once: however many change in one apply, a running app restarts once.
resource "runtime_variable" "settings" {
  for_each = {
    CACHE_TTL = "300"
    LOG_LEVEL = "info"
  }

  project_id = runtime_project.sales.id
  key        = each.key
  value      = each.value
}
