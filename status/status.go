// Package status holds what the landing page shows of each tenant's
// reports: the collector fills it, the HTTP endpoints render it, and neither
// needs the other for it.
package status

import "time"

// Report is one report's state.
type Report struct {
	Report      string
	Polled      bool // a poll has finished
	Up          bool
	LastSuccess time.Time
	Records     int
	LastError   string
}

// Tenant is one tenant's state.
type Tenant struct {
	Tenant  string
	Reports []Report
}
