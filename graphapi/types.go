package graphapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/internal/redact"
)

// Time is a Graph DateTimeOffset. It accepts RFC 3339 with any number of
// fractional digits, a timestamp without a zone (taken as UTC, which Graph
// documents these to be), null and "" (the zero Time).
type Time struct{ time.Time }

func (t *Time) UnmarshalJSON(b []byte) error {
	s, ok := jsonString(b)
	switch {
	case string(b) == "null" || ok && s == "":
		t.Time = time.Time{}
		return nil
	case !ok:
		return fmt.Errorf("date-time %s: not a string", redact.Cut(string(b), 40))
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02"} {
		if v, err := time.Parse(layout, s); err == nil {
			t.Time = v.UTC()
			return nil
		}
	}
	return fmt.Errorf("date-time %q: not ISO 8601", redact.Cut(s, 40))
}

// Count is a Graph Int64 count. It accepts a JSON number or a quoted number
// (the resource pages show Int64 fields quoted). A count is never negative
// or null: such a value is refused, not taken as 0.
type Count int64

func (c *Count) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		return errors.New("count: null where a number is required")
	}
	text := string(bytes.Trim(b, `"`))
	v, err := strconv.ParseInt(text, 10, 64)
	if err != nil {
		// 1e3 or 12.0 are fine; NaN, Inf and values past int64 are not.
		f, ferr := strconv.ParseFloat(text, 64)
		if ferr != nil || math.IsNaN(f) || f != math.Trunc(f) || math.Abs(f) >= 1<<63 {
			return fmt.Errorf("count %s: not an integer", redact.Cut(string(b), 40))
		}
		v = int64(f)
	}
	if v < 0 {
		return fmt.Errorf("count %d: negative", v)
	}
	*c = Count(v)
	return nil
}

// maxListValues bounds a list of methods: Graph knows about twenty.
const maxListValues = 64

// Values is a list of strings (a user's registered methods), de-duplicated
// while decoded, in linear time and bounded memory: a list of more than
// maxListValues distinct values is refused.
type Values []string

func (v *Values) UnmarshalJSON(b []byte) error {
	*v = nil
	// encoding/json hands over only valid JSON, so the scan below need not
	// check what it steps over.
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		return nil
	}
	if len(b) == 0 || b[0] != '[' {
		return errors.New("not a list")
	}
	for rest := b[1:]; ; {
		rest = bytes.TrimLeft(rest, " \t\r\n,")
		if len(rest) == 0 {
			return errors.New("a list without its end")
		}
		if rest[0] == ']' {
			return nil
		}
		end := stringEnd(rest)
		if end < 0 {
			return errors.New("not a list of strings")
		}
		s, _ := jsonString(rest[:end])
		rest = rest[end:]
		if slices.Contains(*v, s) {
			continue
		}
		if len(*v) == maxListValues {
			return fmt.Errorf("a list of more than %d distinct values", maxListValues)
		}
		*v = append(*v, s)
	}
}

// stringEnd returns the index just past the JSON string b starts with, or -1.
func stringEnd(b []byte) int {
	if b[0] != '"' {
		return -1
	}
	for i := 1; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return -1
}

// jsonString returns the text of a quoted JSON string.
func jsonString(b []byte) (string, bool) {
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return "", false
	}
	if bytes.IndexByte(b, '\\') < 0 {
		return string(b[1 : len(b)-1]), true
	}
	var s string
	return s, json.Unmarshal(b, &s) == nil
}
