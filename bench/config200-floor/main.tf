# The floor: the same number of resources that cost nothing to refresh.
resource "terraform_data" "d" {
  count = 222
  input = count.index
}
