package graphapi

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

func collect[T any](t *testing.T, body string) (string, []T, error) {
	t.Helper()
	var got []T
	next, n, err := decodePage([]byte(body), func(r *T) error {
		got = append(got, *r)
		return nil
	})
	if err == nil && n != len(got) {
		t.Fatalf("decodePage counted %d records, handed over %d", n, len(got))
	}
	return next, got, err
}

func TestDecodeRegistrationCountBothSpellings(t *testing.T) {
	// The resource definition's keys, then the documentation example's (typo included).
	body := `{"@odata.context":"x","value":[{"id":"a","totalUserCount":23123,"userRegistrationCounts":[
		{"registrationStatus":"registered","registrationCount":23423},
		{"userRegistrationStatus":"enabled","userRegistationCount":4234},
		{"registrationStatus":"capable","registrationCount":"323"}]}]}`
	_, got, err := collect[CredentialRegistrationCount](t, body)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].TotalUserCount != 23123 {
		t.Fatalf("got %+v", got)
	}
	want := []struct {
		status string
		count  Count
	}{{"registered", 23423}, {"enabled", 4234}, {"capable", 323}}
	for i, w := range want {
		c := got[0].UserRegistrationCounts[i]
		if c.Status() != w.status || c.Count() != w.count {
			t.Errorf("count %d: got %s=%d, want %s=%d", i, c.Status(), c.Count(), w.status, w.count)
		}
	}
}

func TestDecodePageShapes(t *testing.T) {
	type rec struct {
		A string `json:"a"`
		B int    `json:"b"`
	}
	cases := []struct {
		name, body, next string
		want             []rec
	}{
		{"nextLink after value, unknown keys skipped",
			`{"value":[{"a":"x","b":1,"extra":{"deep":[1,2]}},{"a":"y"}],"@odata.count":2,"@odata.nextLink":"https://g/next"}`,
			"https://g/next", []rec{{"x", 1}, {"y", 0}}},
		{"nextLink first", `{"@odata.nextLink":"https://g/n2", "value" : [ {"b":2} ]}`, "https://g/n2", []rec{{"", 2}}},
		{"single object value", `{"value":{"a":"one"}}`, "", []rec{{"one", 0}}},
		{"empty page", `{"value":[]}`, "", nil},
		{"null value", `{"value":null}`, "", nil},
		{"no value", `{"@odata.context":"c"}`, "", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			next, got, err := collect[rec](t, c.body)
			if err != nil {
				t.Fatal(err)
			}
			if next != c.next || len(got) != len(c.want) {
				t.Fatalf("got next=%q %+v, want next=%q %+v", next, got, c.next, c.want)
			}
			for i := range got {
				if got[i] != c.want[i] {
					t.Errorf("record %d: got %+v, want %+v", i, got[i], c.want[i])
				}
			}
		})
	}
}

func TestDecodePageRecordsAreNotMixed(t *testing.T) {
	// The decoder reuses one record; a field absent from the second record must not keep the first's value.
	_, got, err := collect[UserRegistrationDetails](t, `{"value":[{"isAdmin":true,"methodsRegistered":["email"]},{"userType":"guest"}]}`)
	if err != nil {
		t.Fatal(err)
	}
	if got[1].IsAdmin || len(got[1].MethodsRegistered) != 0 {
		t.Errorf("second record inherited fields: %+v", got[1])
	}
}

func TestDecodePageErrors(t *testing.T) {
	for _, body := range []string{``, `[]`, `{"value":[{"a":1}`, `{"value":"text"}`, `{"value":[{"eventDateTime":"yesterday"}]}`, `<html>`} {
		_, _, err := collect[Event](t, body)
		if ReasonOf(err) != ReasonDecode {
			t.Errorf("body %q: got %v (reason %q), want a decode error", body, err, ReasonOf(err))
		}
	}
}

func TestDecodeTimes(t *testing.T) {
	body := `{"value":[{"eventDateTime":"2023-03-13T19:15:41.6195833Z"},{"eventDateTime":"2025-07-16T16:19:18"},{"eventDateTime":""},{"eventDateTime":null}]}`
	_, got, err := collect[Event](t, body)
	if err != nil {
		t.Fatal(err)
	}
	want := []time.Time{
		time.Date(2023, 3, 13, 19, 15, 41, 619583300, time.UTC),
		time.Date(2025, 7, 16, 16, 19, 18, 0, time.UTC),
		{}, {},
	}
	for i, w := range want {
		if !got[i].EventDateTime.Equal(w) {
			t.Errorf("%d: got %v, want %v", i, got[i].EventDateTime, w)
		}
	}
}

func TestEachErrorStopsPage(t *testing.T) {
	stop := errors.New("stop")
	_, n, err := decodePage([]byte(`{"value":[{},{},{}]}`), func(*Event) error { return stop })
	if !errors.Is(err, stop) || n != 1 {
		t.Fatalf("got n=%d err=%v", n, err)
	}
}

func TestResponseErrorClassification(t *testing.T) {
	cases := []struct {
		status int
		body   string
		want   Reason
	}{
		{403, `{"error":{"code":"Authentication_RequestFromNonPremiumTenantOrB2CTenant","message":"Neither tenant is B2C or tenant doesn't have premium license","innerError":{"request-id":"r1"}}}`, ReasonUnlicensed},
		{403, `{"error":{"code":"Authorization_RequestDenied","message":"Insufficient privileges"}}`, ReasonForbidden},
		{401, `{"error":{"code":"InvalidAuthenticationToken"}}`, ReasonUnauthorized},
		{429, `{"error":{"code":"TooManyRequests"}}`, ReasonThrottled},
		{503, `not json`, ReasonServer},
		{404, `{"error":{"code":"ResourceNotFound"}}`, ReasonOther},
	}
	for _, c := range cases {
		resp := &http.Response{StatusCode: c.status, Header: http.Header{}}
		e := responseError(resp, []byte(c.body), "/beta/x")
		if e.Reason != c.want {
			t.Errorf("%d %s: reason %q, want %q", c.status, c.body, e.Reason, c.want)
		}
	}
	e := responseError(&http.Response{StatusCode: 403, Header: http.Header{}}, []byte(cases[0].body), "/v1.0/reports/authenticationMethods/userRegistrationDetails")
	for _, want := range []string{"unlicensed", "HTTP 403", "Authentication_RequestFromNonPremiumTenantOrB2CTenant", "request-id r1", "userRegistrationDetails"} {
		if !strings.Contains(e.Error(), want) {
			t.Errorf("error %q lacks %q", e.Error(), want)
		}
	}
}

func TestLimiterSlidingWindow(t *testing.T) {
	const per = 200 * time.Millisecond
	l := NewLimiter(3, per)
	start := time.Now()
	var granted, completed []time.Time
	for i := 0; i < 7; i++ {
		done, err := l.Wait(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		granted = append(granted, time.Now())
		time.Sleep(10 * time.Millisecond) // the request takes a while
		completed = append(completed, time.Now())
		done()
	}
	for i := 3; i < len(granted); i++ {
		if gap := granted[i].Sub(completed[i-3]); gap < per {
			t.Errorf("request %d went %v after request %d completed: more than 3 in one window", i, gap, i-3)
		}
	}
	if d := granted[2].Sub(start); d > 100*time.Millisecond {
		t.Errorf("the first 3 requests should go at once; the third waited %v", d)
	}
}

func TestLimiterHoldsSlotsUntilDone(t *testing.T) {
	l := NewLimiter(1, time.Millisecond)
	done, _ := l.Wait(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := l.Wait(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a second request went while the first was in flight: %v", err)
	}
	done()
	if _, err := l.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestLimiterHonoursContext(t *testing.T) {
	l := NewLimiter(1, time.Hour)
	done, _ := l.Wait(context.Background())
	done()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := l.Wait(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v", err)
	}
	var none *Limiter
	if _, err := none.Wait(ctx); err != nil {
		t.Fatalf("nil limiter: %v", err)
	}
}
