// Command terraform-provider-runtime is the Terraform provider for
// runtime-agent: it serves the provider over plugin protocol 6.
package main

import (
	"context"
	"flag"
	"log"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"

	"github.com/runtimeops/terraform-provider-runtime/provider"
)

// version is set at build time: -ldflags "-X main.version=1.2.3".
var version = "dev"

func main() {
	var debug bool
	flag.BoolVar(&debug, "debug", false, "start the provider with support for debuggers like delve")
	flag.Parse()

	err := providerserver.Serve(context.Background(), provider.New(version), providerserver.ServeOpts{
		Address: "registry.terraform.io/runtimeops/runtime",
		Debug:   debug,
	})
	if err != nil {
		log.Fatal(err)
	}
}
