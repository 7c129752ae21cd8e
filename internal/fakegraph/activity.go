package fakegraph

import (
	"math/rand/v2"
	"slices"
	"time"
)

// Activity is a rate of registrations and password resets, and the share
// of them that fail, for data that changes while it is served (the demo).
type Activity struct {
	RegistrationsPerMinute, ResetsPerMinute int
	RegistrationFailRatio, ResetFailRatio   float64
}

// Events returns the events of each minute from `from` to `to` (the
// minutes that end in (from, to], counted from from):
// RegistrationsPerMinute and ResetsPerMinute events by users picked at
// random, each within 20 s of the minute's middle, whole seconds. So a
// window whose edge is a whole number of minutes before `to`, and a few
// seconds more, never has an event within 10 s of its edge. Failures carry
// a reason.
func (a Activity) Events(rng *rand.Rand, users []User, from, to time.Time) []Event {
	if len(users) == 0 {
		return nil
	}
	var out []Event
	for m := from.Add(time.Minute); !m.After(to); m = m.Add(time.Minute) {
		for i := range a.RegistrationsPerMinute + a.ResetsPerMinute {
			at := m.Add(time.Duration(rng.IntN(41)-50) * time.Second).UTC().Truncate(time.Second)
			u := users[rng.IntN(len(users))]
			e := Event{ID: u.ID, UPN: u.UPN, DisplayName: u.DisplayName, EventDateTime: at, IsSuccess: true}
			ratio := a.RegistrationFailRatio
			if i < a.RegistrationsPerMinute {
				e.Feature, e.AuthMethod = "registration", registrationPool[rng.IntN(len(registrationPool))]
			} else {
				e.Feature, e.AuthMethod = "reset", resetPool[rng.IntN(len(resetPool))]
				ratio = a.ResetFailRatio
			}
			if rng.Float64() < ratio {
				e.IsSuccess = false
				e.FailureReason = failureReasons[rng.IntN(len(failureReasons))]
			}
			out = append(out, e)
		}
	}
	return out
}

// RegisterPasskeys returns users with n members picked at random by rng
// (fewer if fewer are left) registering a synced passkey at at: each gains
// passKeySynced in methodsRegistered, becomes MFA registered and capable
// and passwordless capable, and is last updated at at. Members who have one
// already are not picked. users is not changed: the result is a new slice
// (or users itself when nobody registers), so it can replace the Users of a
// Data that is being served.
func RegisterPasskeys(rng *rand.Rand, users []User, n int, at time.Time) []User {
	var candidates []int
	for i, u := range users {
		if u.UserType == "member" && !slices.Contains(u.MethodsRegistered, "passKeySynced") {
			candidates = append(candidates, i)
		}
	}
	n = min(n, len(candidates))
	if n <= 0 {
		return users
	}
	out := slices.Clone(users)
	for k := range n {
		// A partial Fisher-Yates shuffle: the k-th pick is among the rest.
		j := k + rng.IntN(len(candidates)-k)
		candidates[k], candidates[j] = candidates[j], candidates[k]
		u := &out[candidates[k]]
		addPasskey(u, "passKeySynced")
		u.LastUpdatedDateTime = at.UTC().Truncate(time.Second)
	}
	return out
}
