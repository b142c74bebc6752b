// Package tools pins the provider's development tools in their own module, so
// that their dependencies stay out of the provider's go.mod. The tools are Go
// tool dependencies (see go.mod); run them with `go tool <name>` from here.
//
// `go generate ./...` in this directory formats the examples and regenerates
// docs/ from the schemas, templates/ and examples/.
package tools

//go:generate terraform fmt -recursive ../examples/
//go:generate go tool tfplugindocs generate --provider-dir .. --provider-name runtime
