package collector

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/config"
)

// An event Graph dates after the poll began (it happened while the poll
// paged, or clocks differ) counts in every window, for events and users
// alike, whatever order the rows come in.
func TestFutureEventCountsItsUser(t *testing.T) {
	for _, futureFirst := range []bool{true, false} {
		f := newFixture(t, 20, config.UserEventsSummary)
		now := testNow
		at := func(d time.Duration) string { return now.Add(d).UTC().Format(time.RFC3339) }
		rows := []string{
			fmt.Sprintf(`{"id":"u1","feature":"reset","authMethod":"email","isSuccess":false,"eventDateTime":%q}`, at(10*time.Minute)),
			fmt.Sprintf(`{"id":"u1","feature":"reset","authMethod":"email","isSuccess":true,"eventDateTime":%q}`, at(-2*time.Hour)),
		}
		if !futureFirst {
			rows[0], rows[1] = rows[1], rows[0]
		}
		body := `{"value":[` + strings.Join(rows, ",") + `]}`
		f.srv.SetIntercept(func(w http.ResponseWriter, r *http.Request) bool {
			if !strings.HasSuffix(r.URL.Path, "/userEventsSummary") {
				return false
			}
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(body))
			return true
		})
		f.pollAll(t)
		e := exporterFor(f.p)
		for _, name := range []string{"entra_authmethods_period_event_failures", "entra_authmethods_period_users", "entra_authmethods_period_failed_users"} {
			if got := sumOf(t, e, name, "period", "h1"); got != 1 {
				t.Errorf("future event first=%v: %s{period=h1} = %v, want 1", futureFirst, name, got)
			}
		}
	}
}
