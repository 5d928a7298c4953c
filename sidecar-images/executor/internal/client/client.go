// Package client speaks the executor's /ipc API (package wire) over one pack's Unix socket, and finds the
// packs' sockets as a client must: <ipcDir>/<pack>/exec.sock, a socket in a plain directory, never through a
// symbolic link. It never dials anything but such a socket, and never through a proxy.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"skillpod.io/executor/internal/wire"
)

// Client speaks the /ipc API over one Unix socket; it is what call, list, probe and the MCP bridge use.
type Client struct {
	sock string
	http *http.Client
}

// New is a client of the executor listening on sock. timeout bounds each request (0: none).
func New(sock string, timeout time.Duration) *Client {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			d := net.Dialer{Timeout: 2 * time.Second}
			return d.DialContext(ctx, "unix", sock)
		},
		DisableCompression: true,
		Proxy:              nil, // never a proxy: HTTP_PROXY in the agent's environment must not apply
	}
	return &Client{sock: sock, http: &http.Client{Transport: tr, Timeout: timeout}}
}

// Do sends a JSON request and decodes a JSON answer into out (nil: the answer is dropped). A non-2xx answer
// is a *wire.Error carrying the executor's error code and message. Cancelling ctx closes the connection, which
// stops a synchronous run.
func (c *Client) Do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://skillpod"+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s: %w", c.sock, err)
	}
	defer func() { _ = resp.Body.Close() }()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return fmt.Errorf("%s: reading answer: %w", c.sock, err)
	}
	if resp.StatusCode/100 != 2 {
		e := &wire.Error{Status: resp.StatusCode}
		if json.Unmarshal(data, e) != nil || e.Code == "" {
			e.Code, e.Message = "http_error", fmt.Sprintf("%s: %s", resp.Status, bytes.TrimSpace(data))
		}
		return e
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%s: decoding answer: %w", c.sock, err)
	}
	return nil
}

// Tools is GET /v1/tools.
func (c *Client) Tools(ctx context.Context) (wire.ToolList, error) {
	var tl wire.ToolList
	err := c.Do(ctx, http.MethodGet, "/v1/tools", nil, &tl)
	return tl, err
}

// Health is GET /v1/health.
func (c *Client) Health(ctx context.Context) (wire.Health, error) {
	var h wire.Health
	err := c.Do(ctx, http.MethodGet, "/v1/health", nil, &h)
	return h, err
}

// Run is POST /v1/tools/<tool>/run: a synchronous run, over when it returns.
func (c *Client) Run(ctx context.Context, tool string, req wire.RunRequest) (wire.RunResult, error) {
	var res wire.RunResult
	err := c.Do(ctx, http.MethodPost, "/v1/tools/"+tool+"/run", req, &res)
	return res, err
}
