package graphapi

import (
	"bytes"
	"net/http"
	"sync"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

// bodyPool recycles the buffers pages are read into: a page is read whole
// (about a megabyte per 1000 users) and dropped once decoded, so reusing its
// buffer spares the garbage collector most of a poll's allocation.
// maxBytes caps what a Content-Length may make it set aside beforehand;
// the transport ends a body past it anyway.
type bodyPool struct {
	pool     sync.Pool
	maxBytes int64
}

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
	buf := p.get()
	// Exactly the room the page needs: ReadFrom wants MinRead spare to see
	// the end, and Grow would double a small pooled buffer.
	if n := int(min(resp.ContentLength, p.maxBytes)) + bytes.MinRead; cap(buf) < n {
		buf = make([]byte, 0, n)
	}
	b := bytes.NewBuffer(buf)
	_, err = b.ReadFrom(resp.Body)
	resp.Body.Close()
	if err != nil {
		p.put(b.Bytes())
		return nil, err
	}
	resp.Body = &pageBody{Reader: bytes.NewReader(b.Bytes()), buf: b.Bytes()}
	return resp, nil
}
