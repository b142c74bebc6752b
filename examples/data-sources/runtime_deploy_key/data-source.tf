data "runtime_deploy_key" "sales" {
  project_id = runtime_project.sales.id
}

# Give these to whoever registers deploy keys with the git host.
output "deploy_key" {
  value = data.runtime_deploy_key.sales.public_key
}

output "deploy_key_fingerprint" {
  value = data.runtime_deploy_key.sales.fingerprint_sha256
}
