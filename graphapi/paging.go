package graphapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// list reads a collection from path, following @odata.nextLink to the end,
// and hands each record to each, in order, from the calling goroutine.
//
// Pages are fetched and decoded in the background: as soon as a page has
// arrived, the next is asked for (as pacing allows), while this one is
// decoded. So Graph's work and ours overlap, and two pages can be decoded
// at once on two cores. At most two pages are in hand at a time. A page that
// is not whole JSON (cut short, garbled) is fetched again, at most
// badPageRetries times; a page's records are handed on only once all of it
// has decoded, so none is counted twice. The *T passed to each must not be
// kept. It returns the number of records handed on.
func list[T any](ctx context.Context, c *Client, path, query string, each func(*T) error) (int, error) {
	pageURL := c.url(path, query)
	seen := map[string]bool{pageURL: true} // pages asked for in this listing
	current := fetchPage[T](ctx, c, pageURL)
	var pending *listPage[T] // the next page, asked for early
	follow := func(link string) error {
		if err := c.checkNextLink(link, seen); err != nil {
			return &Error{Reason: ReasonPaging, Path: path, Err: err}
		}
		seen[link] = true
		pending = fetchPage[T](ctx, c, link)
		return nil
	}
	drop := func() { // the early request was for the wrong page, or too early
		if pending != nil {
			pending.stop()
			delete(seen, pending.url)
			pending = nil
		}
	}
	defer func() { current.stop(); pending.stop() }() // nothing outlives the listing

	total := 0
	for retries := 0; current != nil; {
		<-current.arrived
		if current.fetchErr != nil {
			return total, current.fetchErr
		}
		if current.link != "" { // start on the next page while this one is decoded
			if err := follow(current.link); err != nil {
				return total, err
			}
		}
		<-current.decoded
		var syntax *json.SyntaxError
		switch err := current.decodeErr; {
		case errors.As(err, &syntax) && retries < badPageRetries:
			retries++
			drop()
			current = fetchPage[T](ctx, c, pageURL)
			continue
		case err != nil:
			return total, err
		}
		if next := current.next; pending == nil && next != "" || pending != nil && next != pending.url {
			drop() // the quick scan misread the page; follow what the decoder read
			if next != "" {
				if err := follow(next); err != nil {
					return total, err
				}
			}
		}
		for i := range current.records {
			total++
			if err := each(&current.records[i]); err != nil {
				return total, err
			}
		}
		current, pending, retries = pending, nil, 0
		if current != nil {
			pageURL = current.url
		}
	}
	return total, nil
}

// badPageRetries is how often a page whose body is not valid JSON is
// fetched again before the poll fails as decode.
const badPageRetries = 2

// listPage is a page being fetched and decoded in the background. Each field is
// written before the channel that precedes it in the list is closed.
type listPage[T any] struct {
	url    string
	cancel context.CancelFunc

	arrived  chan struct{}
	fetchErr error
	link     string // the next page's, from a quick scan

	decoded   chan struct{}
	decodeErr error
	next      string // the next page's, as decoded
	records   []T
}

func fetchPage[T any](ctx context.Context, c *Client, url string) *listPage[T] {
	ctx, cancel := context.WithCancel(ctx)
	p := &listPage[T]{url: url, cancel: cancel, arrived: make(chan struct{}), decoded: make(chan struct{})}
	go func() {
		defer close(p.decoded)
		body, err := c.get(ctx, url)
		p.fetchErr = err
		if err == nil {
			p.link = nextLinkOf(body)
		}
		close(p.arrived)
		if err == nil {
			p.next, p.records, p.decodeErr = decodeRecords[T](body)
			c.release(body) // the records hold no part of it
		}
	}()
	return p
}

// stop cancels the page's fetch and waits for its goroutine; nil is fine.
func (p *listPage[T]) stop() {
	if p != nil {
		p.cancel()
		<-p.decoded
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

// decodeRecords decodes one page of an OData collection:
// {"@odata.nextLink": "...", "value": [ {...}, ... ], ...} in any key order,
// unknown keys skipped. A "value" that is a single object (as a
// documentation example shows) is a one-record page.
func decodeRecords[T any](body []byte) (next string, records []T, err error) {
	if i := skipSpace(body, 0); i == len(body) || body[i] != '{' {
		if err := json.Unmarshal(body, new(any)); err != nil {
			return "", nil, decodeError(err) // names the syntax error
		}
		return "", nil, decodeError(fmt.Errorf("the page is not a JSON object"))
	}
	var page struct {
		NextLink string `json:"@odata.nextLink"`
		Value    []T    `json:"value"`
	}
	err = json.Unmarshal(body, &page)
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) && typeErr.Field == "value" && typeErr.Value == "object" {
		var one struct {
			NextLink string `json:"@odata.nextLink"`
			Value    T      `json:"value"`
		}
		err = json.Unmarshal(body, &one)
		page.NextLink, page.Value = one.NextLink, []T{one.Value}
	}
	if err != nil {
		return "", nil, decodeError(err)
	}
	return page.NextLink, page.Value, nil
}

// decodePage decodes a page with decodeRecords and hands its records to
// each, as list does. n counts the records handed on, including one whose
// each failed.
func decodePage[T any](body []byte, each func(*T) error) (next string, n int, err error) {
	next, records, err := decodeRecords[T](body)
	if err != nil {
		return "", 0, err
	}
	for i := range records {
		n++
		if err := each(&records[i]); err != nil {
			return next, n, err
		}
	}
	return next, n, nil
}

// decodeError classifies a JSON error; nil stays nil.
func decodeError(err error) error {
	if err == nil {
		return nil
	}
	return &Error{Reason: ReasonDecode, Err: err}
}
