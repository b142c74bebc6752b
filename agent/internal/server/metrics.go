package server

import (
	"fmt"
	"net/http"
	"sort"
	"sync"

	"github.com/runtimeops/terraform-provider-runtime/agent/api"
)

// Metrics counts API requests for /metrics (Prometheus text format). Labels
// are method and status code only: nothing user-supplied, so no value can
// leak through them.
type Metrics struct {
	mu       sync.Mutex
	requests map[string]int64
}

// NewMetrics returns empty counters.
func NewMetrics() *Metrics { return &Metrics{requests: map[string]int64{}} }

func (m *Metrics) request(method string, code int) {
	if m == nil {
		return
	}
	m.mu.Lock()
	m.requests[fmt.Sprintf(`method=%q,code="%d"`, method, code)]++
	m.mu.Unlock()
}

func (s *Server) metrics(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	fmt.Fprintln(w, "# HELP runtime_agent_projects Projects by status.")
	fmt.Fprintln(w, "# TYPE runtime_agent_projects gauge")
	counts := map[string]int{api.StatusCreated: 0, api.StatusDeployed: 0, api.StatusStopped: 0, api.StatusFailed: 0}
	if ps, err := s.Store.List(); err == nil {
		for _, p := range ps {
			d := s.Reconciler.Observe(r.Context(), p)
			counts[d.Status]++
		}
	}
	for _, st := range []string{api.StatusCreated, api.StatusDeployed, api.StatusStopped, api.StatusFailed} {
		fmt.Fprintf(w, "runtime_agent_projects{status=%q} %d\n", st, counts[st])
	}
	fmt.Fprintln(w, "# HELP runtime_agent_http_requests_total API requests by method and status code.")
	fmt.Fprintln(w, "# TYPE runtime_agent_http_requests_total counter")
	if s.Metrics != nil {
		s.Metrics.mu.Lock()
		keys := make([]string, 0, len(s.Metrics.requests))
		for k := range s.Metrics.requests {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(w, "runtime_agent_http_requests_total{%s} %d\n", k, s.Metrics.requests[k])
		}
		s.Metrics.mu.Unlock()
	}
}
