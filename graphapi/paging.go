package graphapi

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/internal/redact"
)

// badPageRetries is how often a page not whole JSON is fetched again before it fails as decode.
const badPageRetries = 2

// list reads a collection from path, following @odata.nextLink, and hands
// each record to each, in order, returning how many it handed on. A page is
// decoded whole, so a garbled one is fetched again without anything counted
// twice. The *T passed to each must not be kept.
func list[T any](ctx context.Context, c *Client, path, query string, each func(*T) error) (int, error) {
	// Sent as written: getCredentialUsageSummary(period='D30') and $top=1000
	// keep their literal characters, as Graph's documentation writes them.
	pageURL := c.endpoint.String() + path
	if query != "" {
		pageURL += "?" + query
	}
	seen := map[string]bool{pageURL: true} // pages asked for in this listing: a repeat is a loop
	total := 0
	for {
		next, records, err := fetchPage[T](ctx, c, pageURL)
		if err != nil {
			return total, withPath(err, path)
		}
		for i := range records {
			if i%1024 == 1023 && ctx.Err() != nil {
				return total, ctx.Err()
			}
			total++
			if err := each(&records[i]); err != nil {
				return total, err
			}
		}
		if next == "" {
			return total, nil
		}
		if err := c.checkNextLink(next, seen); err != nil {
			return total, &Error{Reason: ReasonPaging, Path: path, Err: err}
		}
		seen[next] = true
		pageURL = next
	}
}

// fetchPage gets and decodes one page, fetching it again when its body is
// not whole JSON: well-formed JSON we refuse would only be refused again.
func fetchPage[T any](ctx context.Context, c *Client, pageURL string) (next string, records []T, err error) {
	for tries := 0; ; tries++ {
		body, err := c.get(ctx, pageURL)
		if err != nil {
			return "", nil, err
		}
		next, records, err = decodeRecords[T](body, DefaultMaxRecordsPerPage)
		_, malformed := errors.AsType[*json.SyntaxError](err)
		if (malformed || errors.Is(err, io.ErrUnexpectedEOF)) && tries < badPageRetries && ctx.Err() == nil {
			continue
		}
		return next, records, err
	}
}

// withPath names path in err's *Error, unless it names one already.
func withPath(err error, path string) error {
	if ge, ok := errors.AsType[*Error](err); ok && ge.Path == "" {
		ge.Path = path
	}
	return err
}

// checkNextLink refuses a nextLink that leaves the configured Graph endpoint
// (following it would hand our bearer token to whoever the response names),
// one that repeats a page already read (a loop), and one past MaxPages.
func (c *Client) checkNextLink(link string, seen map[string]bool) error {
	u, err := url.Parse(link)
	if err != nil {
		return fmt.Errorf("nextLink %q is not a URL", redact.Cut(link, 100))
	}
	if !strings.EqualFold(u.Scheme, c.endpoint.Scheme) || !sameHost(u, c.endpoint) ||
		!strings.HasPrefix(u.Path, c.endpoint.Path+"/") {
		return fmt.Errorf("refusing nextLink to %s://%s: not the configured Graph endpoint %s://%s%s",
			redact.Cut(u.Scheme, 20), redact.Cut(u.Host, 100), c.endpoint.Scheme, c.endpoint.Host, c.endpoint.Path)
	}
	if seen[link] {
		return fmt.Errorf("nextLink repeats a page already read in this poll")
	}
	if len(seen) == c.maxPages {
		return fmt.Errorf("more than %d pages", c.maxPages)
	}
	return nil
}

// sameHost reports whether two https URLs name the same host and port, an
// explicit default port (graph.microsoft.com:443) being the same as none.
func sameHost(a, b *url.URL) bool {
	return strings.EqualFold(a.Hostname(), b.Hostname()) && cmp.Or(a.Port(), "443") == cmp.Or(b.Port(), "443")
}

// decodeRecords decodes one page of an OData collection, {"@odata.nextLink":
// "...", "value": [{...}, ...], ...}: keys in any order and case, unknown
// ones skipped. A "value" that is one object (as a documentation example
// shows) is a one-record page. More than maxRecords records, or a null one,
// are refused.
func decodeRecords[T any](body []byte, maxRecords int) (next string, records []T, err error) {
	if next, records, err = decodePage[T](body, maxRecords); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF // the page ended before its object did: cut short
		}
		return "", nil, &Error{Reason: ReasonDecode, Err: err}
	}
	return next, records, nil
}

func decodePage[T any](body []byte, maxRecords int) (next string, records []T, err error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil {
		return "", nil, err
	} else if tok != json.Delim('{') {
		return "", nil, errors.New("the page is not a JSON object")
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return "", nil, err
		}
		switch key, _ := tok.(string); {
		case strings.EqualFold(key, "@odata.nextLink"):
			next = ""
			if err := dec.Decode(&next); err != nil {
				return "", nil, fmt.Errorf("@odata.nextLink: %w", err)
			}
		case strings.EqualFold(key, "value"):
			if records, err = decodeValue[T](dec, body, maxRecords); err != nil {
				return "", nil, err
			}
		default:
			if err := dec.Decode(new(json.RawMessage)); err != nil { // skipped
				return "", nil, err
			}
		}
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return "", nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return "", nil, errors.New("the page has more after its JSON object")
	}
	return next, records, nil
}

// decodeValue decodes the "value" member, whose first byte the decoder is at.
func decodeValue[T any](dec *json.Decoder, body []byte, maxRecords int) ([]T, error) {
	switch nextByte(body, dec.InputOffset()) {
	case '{':
		records := make([]T, 1)
		return records, dec.Decode(&records[0])
	case '[':
	default: // null, or not a list: Decode says which
		if err := dec.Decode(new([]T)); err != nil {
			return nil, fmt.Errorf("value: %w", err)
		}
		return nil, nil
	}
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	var records []T
	for dec.More() {
		if len(records) == maxRecords {
			return nil, fmt.Errorf("more than %d records in one page", maxRecords)
		}
		if nextByte(body, dec.InputOffset()) == 'n' {
			return nil, fmt.Errorf("record %d is null", len(records)+1)
		}
		records = append(records, *new(T))
		if err := dec.Decode(&records[len(records)-1]); err != nil {
			return nil, fmt.Errorf("record %d: %w", len(records), err)
		}
	}
	_, err := dec.Token() // the closing bracket
	return records, err
}

// nextByte returns the first byte after offset past space, ':' and ',', or 0 at the end.
func nextByte(body []byte, offset int64) byte {
	rest := bytes.TrimLeft(body[offset:], " \t\r\n:,")
	if len(rest) == 0 {
		return 0
	}
	return rest[0]
}
