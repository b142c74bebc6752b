# A secret is imported as <project-slug>/<key>. Its value cannot be read back
# from the agent, so the first plan after the import shows an update: applying
# it writes the configured value once (nothing changes, and the app is not
# restarted, when it equals the agent's).
terraform import runtime_secret.billing_api_key sales/BILLING_API_KEY
