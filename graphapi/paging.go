package graphapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
)

// list reads a collection from path, following @odata.nextLink to the end,
// and hands each record to each as it is decoded. While one page is being
// decoded the next is already being fetched (as pacing allows), so Graph's
// work and ours overlap; at most two pages are held in memory. The *T passed
// to each is reused; each must not keep it. It returns the number of
// records read.
func list[T any](ctx context.Context, c *Client, path, query string, each func(*T) error) (int, error) {
	ctx, cancel := context.WithCancel(ctx)
	var pending <-chan fetched
	defer func() { // an error ends the listing: stop the prefetch, and wait so nothing outlives it
		cancel()
		if pending != nil {
			<-pending
		}
	}()

	first := c.url(path, query)
	seen := map[string]bool{first: true}
	pending = c.fetch(ctx, first)
	total := 0
	for pending != nil {
		page := <-pending
		pending = nil
		if page.err != nil {
			return total, page.err
		}
		// Start on the next page before decoding this one. The link is read
		// by a quick scan here; decodePage reads it again in full.
		link := nextLinkOf(page.body)
		if link != "" {
			if err := c.checkNextLink(link, seen); err != nil {
				return total, &Error{Reason: ReasonPaging, Path: path, Err: err}
			}
			seen[link] = true
			pending = c.fetch(ctx, link)
		}
		next, n, err := decodePage(page.body, each)
		total += n
		if err != nil {
			return total, err
		}
		if next != link { // cannot happen for valid JSON; never end a listing early on a misread
			return total, &Error{Reason: ReasonPaging, Path: path, Err: fmt.Errorf("nextLink could not be read unambiguously")}
		}
	}
	return total, nil
}

// fetched is a page fetched in the background.
type fetched struct {
	body []byte
	err  error
}

// fetch gets rawURL with getJSON in a goroutine; the result arrives on the
// returned channel, which is buffered so the goroutine never blocks.
func (c *Client) fetch(ctx context.Context, rawURL string) <-chan fetched {
	ch := make(chan fetched, 1)
	go func() {
		body, err := c.getJSON(ctx, rawURL)
		ch <- fetched{body, err}
	}()
	return ch
}

// badPageRetries is how often a page whose body is not valid JSON (cut
// short, garbled) is fetched again before the poll fails as decode.
const badPageRetries = 2

// getJSON gets a page and checks that it is whole JSON before any record is
// handed on, so a retried page never counts a record twice.
func (c *Client) getJSON(ctx context.Context, rawURL string) ([]byte, error) {
	for attempt := 0; ; attempt++ {
		body, err := c.get(ctx, rawURL)
		if err != nil || json.Valid(body) || attempt == badPageRetries {
			return body, err // decodePage names what is wrong with a bad page
		}
	}
}

// checkNextLink refuses a nextLink that leaves the configured Graph endpoint
// (following it would hand our bearer token to whoever the response names),
// one that repeats a page already read (a loop), and one past MaxPages.
func (c *Client) checkNextLink(link string, seen map[string]bool) error {
	u, err := url.Parse(link)
	if err != nil {
		return fmt.Errorf("nextLink is not a URL: %v", err)
	}
	if !strings.EqualFold(u.Scheme, c.endpoint.Scheme) || !strings.EqualFold(u.Host, c.endpoint.Host) ||
		!strings.HasPrefix(u.Path, c.endpoint.Path+"/") {
		return fmt.Errorf("refusing nextLink to %s://%s: not the configured Graph endpoint %s://%s%s",
			u.Scheme, u.Host, c.endpoint.Scheme, c.endpoint.Host, c.endpoint.Path)
	}
	if seen[link] {
		return fmt.Errorf("nextLink repeats a page already read in this poll")
	}
	if len(seen) == c.maxPages {
		return fmt.Errorf("more than %d pages", c.maxPages)
	}
	return nil
}

// decodePage decodes one page of an OData collection:
// {"@odata.nextLink": "...", "value": [ {...}, ... ], ...} in any key order.
// Unknown keys are skipped. A "value" that is a single object (as some
// documentation examples show) is treated as a one-record page.
func decodePage[T any](body []byte, each func(*T) error) (next string, n int, err error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := expectDelim(dec, '{'); err != nil {
		return "", 0, err
	}
	var rec T
	var zero T
	emit := func() error {
		rec = zero
		if err := dec.Decode(&rec); err != nil {
			return decodeError(err)
		}
		n++
		return each(&rec)
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return "", n, decodeError(err)
		}
		key, _ := tok.(string)
		switch key {
		case "@odata.nextLink":
			if err := dec.Decode(&next); err != nil {
				return "", n, decodeError(err)
			}
		case "value":
			if err := decodeValue(dec, peek(body, dec.InputOffset()), emit); err != nil {
				return "", n, err
			}
		default:
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return "", n, decodeError(err)
			}
		}
	}
	if err := expectDelim(dec, '}'); err != nil {
		return "", n, err
	}
	return next, n, nil
}

// decodeValue walks the "value" member, whose first byte is first: an array
// of records, one record, or null.
func decodeValue(dec *json.Decoder, first byte, emit func() error) error {
	switch first {
	case '[':
		if _, err := dec.Token(); err != nil {
			return decodeError(err)
		}
		for dec.More() {
			if err := emit(); err != nil {
				return err
			}
		}
		_, err := dec.Token()
		return decodeError(err)
	case '{':
		return emit()
	case 'n':
		var null json.RawMessage
		return decodeError(dec.Decode(&null))
	default:
		return decodeError(fmt.Errorf("value is neither an array nor an object"))
	}
}

// peek returns the first byte of the next JSON value at or after off.
func peek(body []byte, off int64) byte {
	for _, b := range body[off:] {
		switch b {
		case ' ', '\t', '\r', '\n', ':':
			continue
		}
		return b
	}
	return 0
}

func expectDelim(dec *json.Decoder, want json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return decodeError(err)
	}
	if d, ok := tok.(json.Delim); !ok || d != want {
		return decodeError(fmt.Errorf("expected %q, got %v", want, tok))
	}
	return nil
}

// decodeError classifies a JSON error; nil stays nil.
func decodeError(err error) error {
	if err == nil {
		return nil
	}
	return &Error{Reason: ReasonDecode, Err: err}
}
