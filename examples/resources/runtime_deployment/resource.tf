resource "runtime_deployment" "sales" {
  project_id = runtime_project.sales.id
  state      = "running" # or "stopped"

  # Pin a commit; leave it unset to follow the branch head (each plan then
  # shows a pull when the branch moved).
  # commit = "4f2a9c1"

  # Any change pulls the branch and restarts the app.
  triggers = {
    data_version = "2024-06"
  }

  # The key must be registered with the git host before the first clone.
  depends_on = [github_repository_deploy_key.sales]

  timeouts {
    create = "15m" # clone, image build and health check; default 10m
  }
}

output "sales_url" {
  value = runtime_deployment.sales.url
}
