package graphapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

func collect[T any](t *testing.T, body string) (string, []T, error) {
	t.Helper()
	return decodeRecords[T]([]byte(body), DefaultMaxRecordsPerPage)
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
	if got[1].IsAdmin != nil || len(got[1].MethodsRegistered) != 0 {
		t.Errorf("second record inherited fields: %+v", got[1])
	}
}

// isAdmin and isSuccess are nullable in Graph's metadata: null and absent
// decode as nil (not known), apart from false.
func TestDecodeNullableBooleans(t *testing.T) {
	for _, c := range []struct {
		json string
		want string // "true", "false" or "nil"
	}{{`true`, "true"}, {`false`, "false"}, {`null`, "nil"}, {``, "nil"}} {
		checkNullableAdmin(t, c.json, c.want)
		checkNullableSuccess(t, c.json, c.want)
	}
}

// showBool prints a nullable boolean as true, false or nil.
func showBool(b *bool) string {
	if b == nil {
		return "nil"
	}
	return fmt.Sprint(*b)
}

// jsonField is `,"name":value`, or nothing for an empty value (absent).
func jsonField(name, value string) string {
	if value == "" {
		return ""
	}
	return `,"` + name + `":` + value
}

func checkNullableAdmin(t *testing.T, value, want string) {
	t.Helper()
	_, users, err := collect[UserRegistrationDetails](t, `{"value":[{"id":"u"`+jsonField("isAdmin", value)+jsonField("userType", "null")+`}]}`)
	if err != nil || len(users) != 1 {
		t.Fatalf("isAdmin %q: %v", value, err)
	}
	if got := showBool(users[0].IsAdmin); got != want || users[0].UserType != "" {
		t.Errorf("isAdmin %q: got %s (userType %q), want %s", value, got, users[0].UserType, want)
	}
}

func checkNullableSuccess(t *testing.T, value, want string) {
	t.Helper()
	_, events, err := collect[Event](t, `{"value":[{"id":"u"`+jsonField("isSuccess", value)+`}]}`)
	if err != nil || len(events) != 1 {
		t.Fatalf("isSuccess %q: %v", value, err)
	}
	if got := showBool(events[0].IsSuccess); got != want {
		t.Errorf("isSuccess %q: got %s, want %s", value, got, want)
	}
	if failed, wantFailed := events[0].Failed(), want == "false"; failed != wantFailed {
		t.Errorf("isSuccess %q: Failed() = %v, want %v (only a false isSuccess is a failure)", value, failed, wantFailed)
	}
}

// TestDecodeNotABoolean: a value that is not a boolean is refused, not
// taken as unknown.
func TestDecodeNotABoolean(t *testing.T) {
	for _, body := range []string{`{"value":[{"isSuccess":"false"}]}`, `{"value":[{"isSuccess":0}]}`} {
		if _, _, err := collect[Event](t, body); ReasonOf(err) != ReasonDecode {
			t.Errorf("%s: got %v, want a decode error", body, err)
		}
	}
	if _, _, err := collect[UserRegistrationDetails](t, `{"value":[{"id":"u","isAdmin":"yes"}]}`); ReasonOf(err) != ReasonDecode {
		t.Errorf("isAdmin \"yes\": got %v, want a decode error", err)
	}
}

// Each record gets booleans of its own: a pointer decoded for one record
// is not shared with, or overwritten by, the next.
func TestDecodeNullableBooleansPerRecord(t *testing.T) {
	_, got, err := collect[Event](t, `{"value":[{"isSuccess":true},{"isSuccess":false},{"isSuccess":null},{}]}`)
	if err != nil || len(got) != 4 {
		t.Fatalf("got %d records, %v", len(got), err)
	}
	if got[0].IsSuccess == nil || !*got[0].IsSuccess || got[1].IsSuccess == nil || *got[1].IsSuccess ||
		got[2].IsSuccess != nil || got[3].IsSuccess != nil || got[0].IsSuccess == got[1].IsSuccess {
		t.Errorf("records mixed: %v %v %v %v", got[0].IsSuccess, got[1].IsSuccess, got[2].IsSuccess, got[3].IsSuccess)
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

// Pages that are well-formed JSON but not what Graph may send are refused
// as decode errors, never counted: null records, negative or null counts,
// too many records, a list of more distinct methods than exist.
func TestDecodeRefusesImpossibleRecords(t *testing.T) {
	cases := []struct{ name, body, want string }{
		{"null record", `{"value":[{"singleFactorSignIns":1},null]}`, "record 2 is null"},
		{"negative count", `{"value":[{"singleFactorSignIns":-5}]}`, "negative"},
		{"null count", `{"value":[{"singleFactorSignIns":null}]}`, "null"},
		{"text count", `{"value":[{"singleFactorSignIns":"` + strings.Repeat("x", 5000) + `"}]}`, "not an integer"},
		{"trailing data", `{"value":[]} {"value":[]}`, "more after"},
	}
	for _, c := range cases {
		_, _, err := collect[UserMFASignInSummary](t, c.body)
		if ReasonOf(err) != ReasonDecode || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want a decode error saying %q", c.name, err, c.want)
		}
		if err != nil && len(err.Error()) > 300 {
			t.Errorf("%s: the error echoes the whole value (%d bytes)", c.name, len(err.Error()))
		}
	}

	var many strings.Builder
	many.WriteString(`{"value":[`)
	for i := range 11 {
		if i > 0 {
			many.WriteByte(',')
		}
		many.WriteString(`{}`)
	}
	many.WriteString(`]}`)
	if _, _, err := decodeRecords[Event]([]byte(many.String()), 10); ReasonOf(err) != ReasonDecode || !strings.Contains(err.Error(), "more than 10 records") {
		t.Errorf("11 records past a cap of 10: got %v", err)
	}
	if _, got, err := decodeRecords[Event]([]byte(many.String()), 11); err != nil || len(got) != 11 {
		t.Errorf("11 records at a cap of 11: got %d, %v", len(got), err)
	}
}

// A record's methods are de-duplicated as they are decoded, in linear
// time: 100,000 distinct values end at the 65th, not after minutes.
func TestMethodListsAreDeduplicatedAndBounded(t *testing.T) {
	_, got, err := collect[UserRegistrationDetails](t, `{"value":[{"id":"u","methodsRegistered":["email","push","email","email","push"]}]}`)
	if err != nil || len(got) != 1 || strings.Join(got[0].MethodsRegistered, ",") != "email,push" {
		t.Fatalf("got %+v, %v", got, err)
	}
	var b strings.Builder
	b.WriteString(`{"value":[{"id":"u","methodsRegistered":[`)
	for i := range 100000 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"m%d"`, i)
	}
	b.WriteString(`]}]}`)
	start := time.Now()
	_, _, err = collect[UserRegistrationDetails](t, b.String())
	if ReasonOf(err) != ReasonDecode || !strings.Contains(err.Error(), "more than 64 distinct") {
		t.Errorf("got %v, want a decode error", err)
	}
	t.Logf("refused 100,000 distinct methods in %v", time.Since(start))
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
		done, err := l.Wait(context.Background(), time.Minute)
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
	done, _ := l.Wait(context.Background(), time.Minute)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := l.Wait(ctx, time.Minute); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a second request went while the first was in flight: %v", err)
	}
	done()
	if _, err := l.Wait(context.Background(), time.Minute); err != nil {
		t.Fatal(err)
	}
}

func TestLimiterHonoursContext(t *testing.T) {
	l := NewLimiter(1, time.Hour)
	done, _ := l.Wait(context.Background(), time.Minute)
	done()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := l.Wait(ctx, time.Minute); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v", err)
	}
	var none *Limiter
	if _, err := none.Wait(ctx, time.Minute); err != nil {
		t.Fatalf("nil limiter: %v", err)
	}
}

func TestLimiterPause(t *testing.T) {
	l := NewLimiter(5, time.Millisecond)
	l.PauseUntil(time.Now().Add(time.Hour))
	var paused *refusedError
	if _, err := l.Wait(context.Background(), time.Minute); !errors.As(err, &paused) || paused.reason != ReasonThrottled {
		t.Fatalf("a pause longer than the wait allowed: got %v, want it refused at once", err)
	}
	l = NewLimiter(5, time.Millisecond)
	l.PauseUntil(time.Now().Add(50 * time.Millisecond))
	l.PauseUntil(time.Now()) // an earlier time does not shorten it
	start := time.Now()
	done, err := l.Wait(context.Background(), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	done()
	if waited := time.Since(start); waited < 45*time.Millisecond {
		t.Errorf("a 50 ms pause let a request go after %v", waited)
	}
}

func TestValuesDecoding(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`null`, ""},
		{`[]`, ""},
		{` [ "a" , "b","a" ] `, "a|b"},
		{`["\u0061","a","b\"c"]`, `a|b"c`},
	} {
		var v Values
		if err := json.Unmarshal([]byte(c.in), &v); err != nil || strings.Join(v, "|") != c.want {
			t.Errorf("%s: got %q, %v; want %q", c.in, v, err, c.want)
		}
	}
	for _, in := range []string{`[1]`, `["a",null]`, `{}`, `"a"`, `[`} {
		var v Values
		if err := v.UnmarshalJSON([]byte(in)); err == nil {
			t.Errorf("%s: no error", in)
		}
	}
}
