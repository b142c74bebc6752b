resource "runtime_project" "sales" {
  name        = "Sales dashboard"
  slug        = "sales" # optional: derived from name ("sales-dashboard") when unset
  app_type    = "streamlit"
  environment = "python-3.12"
  git_url     = "git@github.com:acme/sales.git"
  branch      = "main" # optional, default "main"
  path        = "src/app.py"
}

# Register the deploy key with the git host before the first deployment,
# for example with the GitHub provider:
#
# resource "github_repository_deploy_key" "sales" {
#   repository = "sales"
#   title      = "runtime: ${runtime_project.sales.slug}"
#   key        = runtime_project.sales.deploy_public_key
#   read_only  = true
# }

output "sales_url" {
  value = runtime_project.sales.url
}
