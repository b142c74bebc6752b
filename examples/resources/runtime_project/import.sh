# A project is imported by its slug, the `slug` shown by
# `runtime-agent projects list` on the host.
terraform import runtime_project.sales sales
