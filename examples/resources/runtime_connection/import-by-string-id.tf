# A connection is imported as <project-slug>/<name>.
import {
  to = runtime_connection.warehouse
  id = "sales/warehouse"
}
