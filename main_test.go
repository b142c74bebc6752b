package main

import (
	"os"
	"testing"
)

var sdkLevels = []string{"TF_LOG_SDK", "TF_LOG_SDK_PROTO", "TF_LOG_SDK_FRAMEWORK"}

// The SDK's levels follow the level Terraform shows provider logs at, so
// a user who asks for logs gets every line they would have got before.
func TestQuietUnreadLogs(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		want map[string]string // "" = left unset
	}{
		{"no logs asked for", nil, map[string]string{"TF_LOG_SDK": "OFF", "TF_LOG_SDK_PROTO": "OFF", "TF_LOG_SDK_FRAMEWORK": "OFF"}},
		{"TF_LOG", map[string]string{"TF_LOG": "DEBUG"}, map[string]string{"TF_LOG_SDK": "DEBUG", "TF_LOG_SDK_PROTO": "DEBUG", "TF_LOG_SDK_FRAMEWORK": "DEBUG"}},
		{"TF_LOG_PROVIDER wins", map[string]string{"TF_LOG": "WARN", "TF_LOG_PROVIDER": "trace"}, map[string]string{"TF_LOG_SDK": "trace", "TF_LOG_SDK_PROTO": "trace", "TF_LOG_SDK_FRAMEWORK": "trace"}},
		{"user's own SDK level kept", map[string]string{"TF_LOG_SDK_PROTO": "TRACE"}, map[string]string{"TF_LOG_SDK": "OFF", "TF_LOG_SDK_PROTO": "TRACE", "TF_LOG_SDK_FRAMEWORK": "OFF"}},
		{"JSON logs everything", map[string]string{"TF_LOG": "JSON"}, nil},
		{"acceptance test logs", map[string]string{"TF_ACC_LOG_PATH": "/tmp/x.log"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, name := range append([]string{"TF_LOG", "TF_LOG_PROVIDER", "TF_ACC_LOG_PATH", "TF_LOG_PATH_MASK"}, sdkLevels...) {
				t.Setenv(name, "") // restored after the test
				os.Unsetenv(name)
			}
			for k, v := range tc.env {
				os.Setenv(k, v)
			}
			quietUnreadLogs()
			for _, name := range sdkLevels {
				if got := os.Getenv(name); got != tc.want[name] {
					t.Errorf("%s = %q, want %q", name, got, tc.want[name])
				}
			}
		})
	}
}
