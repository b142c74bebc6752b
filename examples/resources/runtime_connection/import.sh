# A connection is imported as <project-slug>/<name>. A password cannot be read
# back from the agent, so when the connection has one the first plan after the
# import shows an update that writes the configured password once.
terraform import runtime_connection.warehouse sales/warehouse
