# A project is imported by its slug.
import {
  to = runtime_project.sales
  id = "sales"
}
