package graphapi

import (
	"bytes"
	"fmt"
	"io"
	"net/http"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

// Caps on what one response may make the exporter hold.
const (
	// DefaultMaxPageBytes is the most one page may have. Graph's pages hold
	// about 1,000 records of under a kilobyte each; 8 MiB leaves room for
	// eight times that, and bounds a hostile or broken answer.
	DefaultMaxPageBytes = 8 << 20
	// maxErrorBodyBytes is what is kept of an error answer: Graph's error
	// JSON is a few hundred bytes.
	maxErrorBodyBytes = 64 << 10
	// firstReadBytes is the most set aside before any byte has arrived,
	// whatever Content-Length promises; the buffer then grows with what
	// really arrives.
	firstReadBytes = 1 << 20
)

// readBodyPolicy reads a successful response's body within the try (so
// under its timeout and while it holds its pacing slot) into memory of its
// own bounding: a page past maxBytes fails as too large. Requests must be
// marked with runtime.SkipBodyDownload; azcore reads error bodies itself,
// which errorBodies cuts short.
func readBodyPolicy(maxBytes int64) policyFunc {
	return func(req *policy.Request) (*http.Response, error) {
		resp, err := req.Next()
		if err != nil || resp.StatusCode >= http.StatusMultipleChoices {
			return resp, err
		}
		body, err := readBody(resp.Body, resp.ContentLength, maxBytes)
		resp.Body.Close()
		if err != nil {
			return nil, err
		}
		resp.Body = io.NopCloser(bytes.NewReader(body))
		resp.ContentLength = int64(len(body))
		return resp, nil
	}
}

// errorBodies cuts the body of every answer but a success at
// maxErrorBodyBytes: azcore reads such bodies whole, and only the first few
// hundred bytes (Graph's error JSON) matter.
type errorBodies struct{ base http.RoundTripper }

func (t errorBodies) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(r)
	if err == nil && resp.StatusCode >= http.StatusMultipleChoices {
		resp.Body = struct {
			io.Reader
			io.Closer
		}{io.LimitReader(resp.Body, maxErrorBodyBytes), resp.Body}
	}
	return resp, err
}

// readBody reads r to its end, or to limit bytes (then *pageTooLargeError,
// with what was read). It never holds more than limit+1 bytes of buffer:
// it starts from Content-Length, up to firstReadBytes, and grows by
// doubling only as data arrives.
func readBody(r io.Reader, contentLength, limit int64) ([]byte, error) {
	size := int64(64 << 10)
	if contentLength >= 0 {
		size = contentLength + 1 // +1 to see the end without growing
	}
	buf := make([]byte, 0, min(size, firstReadBytes, limit+1))
	for {
		if len(buf) == cap(buf) {
			if int64(len(buf)) > limit {
				return buf[:limit], &pageTooLargeError{limit: limit}
			}
			grown := make([]byte, len(buf), min(2*int64(cap(buf))+1, limit+1))
			copy(grown, buf)
			buf = grown
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		switch {
		case int64(len(buf)) > limit:
			return buf[:limit], &pageTooLargeError{limit: limit}
		case err == io.EOF:
			return buf, nil
		case err != nil:
			return buf, err
		}
	}
}

// pageTooLargeError ends a response past the byte cap. Retrying would only
// fetch the same page again, hence NonRetriable (azcore's marker).
type pageTooLargeError struct{ limit int64 }

func (e *pageTooLargeError) Error() string {
	return fmt.Sprintf("a page of more than %d bytes: refusing to read it", e.limit)
}

func (*pageTooLargeError) NonRetriable() {}
