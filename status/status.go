// Package status holds what the landing page shows of each tenant's
// reports and groups: the collector fills it, the HTTP endpoints render it, and neither
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

// Group is the state of one of a tenant's groups: the last read of its
// transitive user members, made with each poll of the registration details.
type Group struct {
	Name        string
	Polled      bool // a read has finished
	Up          bool
	LastSuccess time.Time
	Members     int64
	LastError   string
}

// Tenant is one tenant's state.
type Tenant struct {
	Tenant  string
	Reports []Report
	Groups  []Group // in the order of the tenant's groups
}
