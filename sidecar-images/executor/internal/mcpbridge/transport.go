//go:build !nomcp

package mcpbridge

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"sync"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// lineTransport is MCP's stdio transport (one JSON-RPC message per line) with one difference from the SDK's:
// a line that is not a JSON-RPC message gets a JSON-RPC error answer (-32700 parse error, -32600 invalid
// request) and the session goes on. The SDK's stdio transport ends the session on such a line, so one stray
// write by a harness would take every tool away from the agent.
type lineTransport struct {
	in  io.Reader
	out io.Writer
}

// maxMCPLine bounds one incoming message; a longer line is answered with an error and skipped.
const maxMCPLine = 16 << 20

func (t *lineTransport) Connect(context.Context) (mcp.Connection, error) {
	c := &lineConn{out: t.out, msgs: make(chan jsonrpc.Message), closed: make(chan struct{})}
	go c.readLoop(t.in)
	return c, nil
}

type lineConn struct {
	out  io.Writer
	wmu  sync.Mutex
	msgs chan jsonrpc.Message // closed when the input ends; readErr says why

	readErr   error
	closed    chan struct{}
	closeOnce sync.Once
}

func (c *lineConn) readLoop(in io.Reader) {
	r := bufio.NewReaderSize(in, 64<<10)
	for {
		line, tooLong, err := readLine(r, maxMCPLine)
		if len(bytes.TrimSpace(line)) > 0 || tooLong {
			if msg := c.decode(line, tooLong); msg != nil {
				select {
				case c.msgs <- msg:
				case <-c.closed:
					return
				}
			}
		}
		if err != nil {
			c.readErr = err
			close(c.msgs)
			return
		}
	}
}

// readLine reads up to and without the next newline; a line longer than max is read to its end, dropped,
// and reported as tooLong.
func readLine(r *bufio.Reader, max int) (line []byte, tooLong bool, err error) {
	for {
		chunk, err := r.ReadSlice('\n')
		if !tooLong {
			if len(line)+len(chunk) > max+1 {
				tooLong, line = true, nil
			} else {
				line = append(line, chunk...)
			}
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		return bytes.TrimRight(line, "\r\n"), tooLong, err
	}
}

// decode returns the message on the line, or answers the line with an error and returns nil.
func (c *lineConn) decode(line []byte, tooLong bool) jsonrpc.Message {
	trimmed := bytes.TrimSpace(line)
	switch {
	case tooLong:
		c.writeError(nil, jsonrpc.CodeInvalidRequest, "message too large")
		return nil
	case !json.Valid(trimmed):
		c.writeError(nil, jsonrpc.CodeParseError, "parse error: not valid JSON")
		return nil
	case trimmed[0] == '[':
		c.writeError(nil, jsonrpc.CodeInvalidRequest, "invalid request: JSON-RPC batches are not supported")
		return nil
	}
	msg, err := jsonrpc.DecodeMessage(trimmed)
	if err != nil {
		c.writeError(requestID(trimmed), jsonrpc.CodeInvalidRequest, "invalid request: "+err.Error())
		return nil
	}
	return msg
}

// requestID is the id of a message that is JSON but not a valid message, when it is a string or a number.
func requestID(data []byte) json.RawMessage {
	var m struct {
		ID json.RawMessage `json:"id"`
	}
	if json.Unmarshal(data, &m) != nil || len(m.ID) == 0 {
		return nil
	}
	if c := m.ID[0]; c == '"' || c == '-' || (c >= '0' && c <= '9') {
		return m.ID
	}
	return nil
}

func (c *lineConn) writeError(id json.RawMessage, code int, msg string) {
	if id == nil {
		id = json.RawMessage("null")
	}
	b, _ := json.Marshal(struct {
		JSONRPC string          `json:"jsonrpc"`
		ID      json.RawMessage `json:"id"`
		Error   struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}{JSONRPC: "2.0", ID: id, Error: struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}{code, msg}})
	_ = c.writeLine(b)
}

func (c *lineConn) writeLine(b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_, err := c.out.Write(append(b, '\n'))
	return err
}

func (c *lineConn) Read(ctx context.Context) (jsonrpc.Message, error) {
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-c.closed:
		return nil, io.EOF
	case msg, ok := <-c.msgs:
		if !ok {
			if c.readErr != nil && !errors.Is(c.readErr, io.EOF) {
				return nil, c.readErr
			}
			return nil, io.EOF
		}
		return msg, nil
	}
}

func (c *lineConn) Write(ctx context.Context, msg jsonrpc.Message) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	b, err := jsonrpc.EncodeMessage(msg)
	if err != nil {
		return err
	}
	return c.writeLine(b)
}

func (c *lineConn) Close() error {
	c.closeOnce.Do(func() { close(c.closed) })
	return nil
}

func (c *lineConn) SessionID() string { return "" }
