package graphapi

import (
	"bytes"
	"io"
	"net/http"
	"sync"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

// bodyPool recycles the buffers pages are read into: a page is read whole
// (about a megabyte per 1000 users) and dropped once decoded, so reusing its
// buffer spares the garbage collector most of a poll's allocation.
type bodyPool struct{ pool sync.Pool }

func (p *bodyPool) get() []byte {
	if b, ok := p.pool.Get().(*[]byte); ok {
		return (*b)[:0]
	}
	return nil
}

func (p *bodyPool) put(b []byte) {
	if cap(b) > 0 {
		p.pool.Put(&b)
	}
}

// pageBody is a response body already read into a pooled buffer.
type pageBody struct {
	*bytes.Reader
	buf []byte
}

func (*pageBody) Close() error { return nil }

// readBodyPolicy reads a successful response's body into a pooled buffer,
// within the try (so under its timeout and while it holds its pacing slot),
// as azcore's own body download would into a fresh one. Requests must be
// marked with runtime.SkipBodyDownload; azcore still reads error bodies.
func (p *bodyPool) readBodyPolicy(req *policy.Request) (*http.Response, error) {
	resp, err := req.Next()
	if err != nil || resp.StatusCode >= http.StatusBadRequest {
		return resp, err
	}
	buf, err := readAll(resp.Body, p.get(), resp.ContentLength)
	resp.Body.Close()
	if err != nil {
		p.put(buf)
		return nil, err
	}
	resp.Body = &pageBody{Reader: bytes.NewReader(buf), buf: buf}
	return resp, nil
}

// readAll reads r to its end into buf, sized for size bytes when known.
func readAll(r io.Reader, buf []byte, size int64) ([]byte, error) {
	if size >= 0 && int64(cap(buf)) < size+1 { // +1: room to see the end without growing
		buf = make([]byte, 0, size+1)
	}
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}
