package collector

import (
	"context"
	"errors"
	"hash/maphash"
	"slices"
	"strings"
	"time"

	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/graphapi"
)

// Helpers that more than one report uses live here, not in a report's
// file, so that removing a report (a deprecated one, say) removes only
// what that report alone uses.

// b2i is 1 for true, 0 for false: for counting flags.
func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// featureMethod is the feature and method labels of an activity or event.
type featureMethod struct{ feature, method string }

// sortedFeatureMethods returns the keys of a featureMethod map in label order.
func sortedFeatureMethods[V any](m map[featureMethod]V) []featureMethod {
	keys := make([]featureMethod, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b featureMethod) int {
		if c := strings.Compare(a.feature, b.feature); c != 0 {
			return c
		}
		return strings.Compare(a.method, b.method)
	})
	return keys
}

// sortedKeys returns a map's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// countOnce adds one to counts for each distinct value of values as label
// maps it (two values may both become "other", or cut to the same text).
func countOnce(counts map[string]int64, values []string, label func(string) string) {
	done := make([]string, 0, len(values))
	for _, v := range values {
		if l := label(v); !slices.Contains(done, l) {
			done = append(done, l)
			counts[l]++
		}
	}
}

// newest reads a report of one row per day and keeps the newest row (nil
// when there is none), whatever order Graph sends the days in.
func newest[T any](ctx context.Context, list func(context.Context, func(*T) error) (int, error), day func(*T) time.Time) (*T, int, error) {
	var best *T
	n, err := list(ctx, func(r *T) error {
		if best == nil || day(r).After(day(best)) {
			c := *r // r is reused by the decoder
			best = &c
		}
		return nil
	})
	return best, n, err
}

func unixSeconds(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

// oncePerUser tells each user's first row in a poll from repeats (a user
// Graph sends twice, on two pages), by a seeded 64-bit hash of the user's
// id: about 16 bytes per user for the length of a poll.
type oncePerUser struct {
	seed       maphash.Seed
	seen       map[uint64]struct{}
	duplicates int
}

func newOncePerUser() *oncePerUser {
	return &oncePerUser{seed: maphash.MakeSeed(), seen: map[uint64]struct{}{}}
}

// first reports whether this is the user's first row. A row without an id
// is refused as decode: every user row of these reports has one.
func (o *oncePerUser) first(id string) (bool, error) {
	if id == "" {
		return false, &graphapi.Error{Reason: graphapi.ReasonDecode, Err: errors.New("a user row without an id")}
	}
	h := maphash.String(o.seed, id)
	if _, dup := o.seen[h]; dup {
		o.duplicates++
		return false, nil
	}
	o.seen[h] = struct{}{}
	return true, nil
}
