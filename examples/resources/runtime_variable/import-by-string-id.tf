# A variable is imported as <project-slug>/<key>.
import {
  to = runtime_variable.region
  id = "sales/REGION"
}
