# A secret is imported as <project-slug>/<key>; the plan writes the configured
# value once, since the agent never returns it.
import {
  to = runtime_secret.billing_api_key
  id = "sales/BILLING_API_KEY"
}
