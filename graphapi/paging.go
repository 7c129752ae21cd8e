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
// and hands each record to each as it is decoded: only one page is held in
// memory at a time. The *T passed to each is reused; each must not keep it.
// It returns the number of records read.
func list[T any](ctx context.Context, c *Client, path, query string, each func(*T) error) (int, error) {
	next := c.url(path, query)
	seen := map[string]bool{}
	total := 0
	for next != "" {
		if seen[next] {
			return total, &Error{Reason: ReasonPaging, Path: path, Err: fmt.Errorf("nextLink repeats a page already read in this poll")}
		}
		if len(seen) == c.maxPages {
			return total, &Error{Reason: ReasonPaging, Path: path, Err: fmt.Errorf("more than %d pages", c.maxPages)}
		}
		seen[next] = true
		body, err := c.getJSON(ctx, next)
		if err != nil {
			return total, err
		}
		link, n, err := decodePage(body, each)
		total += n
		if err != nil {
			return total, err
		}
		if link == "" {
			break
		}
		if err := c.checkNextLink(link); err != nil {
			return total, &Error{Reason: ReasonPaging, Path: path, Err: err}
		}
		next = link
	}
	return total, nil
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

// checkNextLink refuses a nextLink that leaves the configured Graph endpoint:
// following it would hand our bearer token to whoever the response names.
func (c *Client) checkNextLink(link string) error {
	u, err := url.Parse(link)
	if err != nil {
		return fmt.Errorf("nextLink is not a URL: %v", err)
	}
	if !strings.EqualFold(u.Scheme, c.endpoint.Scheme) || !strings.EqualFold(u.Host, c.endpoint.Host) ||
		!strings.HasPrefix(u.Path, c.endpoint.Path+"/") {
		return fmt.Errorf("refusing nextLink to %s://%s: not the configured Graph endpoint %s://%s%s",
			u.Scheme, u.Host, c.endpoint.Scheme, c.endpoint.Host, c.endpoint.Path)
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
