# The plugin floor: as many resources of bench/noopprovider, a framework
# provider whose reads do nothing, as the benchmark refreshes.
terraform {
  required_providers {
    noop = { source = "bench/noop" }
  }
}

resource "noop_thing" "t" {
  count      = 222
  project_id = "bench"
  key        = "KEY_${count.index}"
  value      = "value-${count.index}"
}
