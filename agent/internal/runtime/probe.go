package runtime

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// maxProbeBody caps what a health probe reads: enough for any health JSON
// (Airflow's is the largest), never an unbounded page.
const maxProbeBody = 64 << 10

// defaultProbeTimeout applies when ProbeHTTP is given no timeout.
const defaultProbeTimeout = 5 * time.Second

// ProbeHTTP makes one GET to url and returns the status and up to 64 KiB
// of the body. The agent probes apps itself, over the apps network, because
// app images need not contain curl.
//
// Redirects are not followed (a redirect is the app's answer), proxies from
// the environment are ignored (container IPs are local), and connections are
// not kept alive: a probe every few seconds per app must not pile up idle
// sockets. A non-2xx status is not an error: err is set only when no
// response (status 0) or no complete body arrived.
func ProbeHTTP(ctx context.Context, url string, timeout time.Duration) (int, []byte, error) {
	if timeout <= 0 {
		timeout = defaultProbeTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, nil, fmt.Errorf("probe %s: %w", url, err)
	}
	req.Header.Set("User-Agent", "runtime-agent-probe")
	tr := &http.Transport{
		Proxy:                 nil,
		DialContext:           (&net.Dialer{Timeout: timeout}).DialContext,
		DisableKeepAlives:     true,
		ResponseHeaderTimeout: timeout,
	}
	defer tr.CloseIdleConnections()
	hc := &http.Client{
		Transport:     tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("probe %s: %w", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxProbeBody))
	if err != nil {
		return resp.StatusCode, body, fmt.Errorf("probe %s: read body: %w", url, err)
	}
	return resp.StatusCode, body, nil
}
