package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// ipcClient speaks the /ipc API over one Unix socket; it is what call, list and probe use. It never dials
// anything but that socket.
type ipcClient struct {
	sock string
	http *http.Client
}

func newIPCClient(sock string, timeout time.Duration) *ipcClient {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			d := net.Dialer{Timeout: 2 * time.Second}
			return d.DialContext(ctx, "unix", sock)
		},
		DisableCompression: true,
		Proxy:              nil, // never a proxy: HTTP_PROXY in the agent's environment must not apply
	}
	return &ipcClient{sock: sock, http: &http.Client{Transport: tr, Timeout: timeout}}
}

// do sends a JSON request and decodes a JSON answer into out. A non-2xx answer becomes an *apiError carrying
// the executor's error code and message.
func (c *ipcClient) do(method, path string, body, out any) error {
	return c.doCtx(context.Background(), method, path, body, out)
}

// doCtx is do bound to ctx: cancelling it closes the connection, which stops a synchronous run.
func (c *ipcClient) doCtx(ctx context.Context, method, path string, body, out any) error {
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
		e := &apiError{Status: resp.StatusCode}
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
