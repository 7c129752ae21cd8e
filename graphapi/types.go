package graphapi

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"time"
)

// Time is a Graph DateTimeOffset. It accepts RFC 3339 with any number of
// fractional digits, a timestamp without a zone (taken as UTC, which Graph
// documents these to be), null and "" (the zero Time).
type Time struct{ time.Time }

func (t *Time) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		t.Time = time.Time{}
		return nil
	}
	s, err := strconv.Unquote(string(b))
	if err != nil {
		return fmt.Errorf("date-time %s: not a string", b)
	}
	if s == "" {
		t.Time = time.Time{}
		return nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02"} {
		if v, err := time.Parse(layout, s); err == nil {
			t.Time = v.UTC()
			return nil
		}
	}
	return fmt.Errorf("date-time %q: not ISO 8601", s)
}

// Count is a Graph Int64. It accepts a JSON number or a quoted number (the
// resource pages show Int64 fields quoted) and null as 0.
type Count int64

func (c *Count) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		*c = 0
		return nil
	}
	b = bytes.Trim(b, `"`)
	v, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		// 1e3 or 12.0 are fine; NaN, Inf and values past int64 are not.
		f, ferr := strconv.ParseFloat(string(b), 64)
		if ferr != nil || math.IsNaN(f) || f != math.Trunc(f) || math.Abs(f) >= 1<<63 {
			return fmt.Errorf("count %s: not an integer", b)
		}
		v = int64(f)
	}
	*c = Count(v)
	return nil
}
