# A deployment is imported by the slug of its project. `triggers` cannot be
# read back from the agent: it is empty after the import until the next apply.
terraform import runtime_deployment.sales sales
