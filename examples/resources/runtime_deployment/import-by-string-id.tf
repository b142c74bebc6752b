# A deployment is imported by the slug of its project.
import {
  to = runtime_deployment.sales
  id = "sales"
}
