// Command terraform-provider-runtime is the Terraform provider for
// runtime-agent: it serves the provider over plugin protocol 6.
package main

import (
	"context"
	"flag"
	"log"
	"os"
	"runtime/debug"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"

	"github.com/runtimeops/terraform-provider-runtime/provider"
)

// version is set at build time: -ldflags "-X main.version=1.2.3".
var version = "dev"

func main() {
	var debugMode bool
	flag.BoolVar(&debugMode, "debug", false, "start the provider with support for debuggers like delve")
	flag.Parse()

	quietUnreadLogs()
	// Terraform starts this process for one command and ends it after; a
	// refresh of a few hundred resources allocates a few tens of MiB. Trading
	// that memory for fewer collections keeps the two cores free for
	// terraform itself (GOGC in the environment still wins).
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}

	err := providerserver.Serve(context.Background(), provider.New(version), providerserver.ServeOpts{
		Address: "registry.terraform.io/runtimeops/runtime",
		Debug:   debugMode,
	})
	if err != nil {
		log.Fatal(err)
	}
}

// quietUnreadLogs stops the plugin SDK from writing log lines that
// Terraform would throw away. The SDK logs every RPC at TRACE whatever
// Terraform's level, as JSON on stderr, and Terraform parses each line
// before it filters by TF_LOG_PROVIDER / TF_LOG: on a refresh of a few
// hundred resources that is about a third of the work of both processes.
// The SDK's own level variables (TF_LOG_SDK, TF_LOG_SDK_PROTO,
// TF_LOG_SDK_FRAMEWORK) are set to the level Terraform will show, unless
// the user set them, so every line that reaches a log is still written.
func quietUnreadLogs() {
	if os.Getenv("TF_ACC_LOG_PATH") != "" || os.Getenv("TF_LOG_PATH_MASK") != "" {
		return // test frameworks route plugin logs themselves
	}
	level := os.Getenv("TF_LOG_PROVIDER")
	if level == "" {
		level = os.Getenv("TF_LOG")
	}
	switch level {
	case "":
		level = "OFF"
	case "JSON", "json":
		return // Terraform writes everything, as JSON
	}
	for _, name := range []string{"TF_LOG_SDK", "TF_LOG_SDK_PROTO", "TF_LOG_SDK_FRAMEWORK"} {
		if _, set := os.LookupEnv(name); !set {
			os.Setenv(name, level)
		}
	}
}
