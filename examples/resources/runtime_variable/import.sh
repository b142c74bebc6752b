# A variable is imported as <project-slug>/<key>: the project's slug (its id,
# also shown by `runtime-agent projects list` on the host) and the variable's
# key, as the app sees it.
terraform import runtime_variable.region sales/REGION
