package graphapi

import (
	"context"
	"sync"
	"time"
)

// Limiter allows at most n requests in any window of length per: a sliding
// window, as Graph counts, not a token bucket whose burst could put n+1 in
// one. A slot is held from sending a request until its response arrives, and
// the window runs from that arrival: Graph saw the request in between, so it
// never counts more than n in a window. It is safe for concurrent use.
type Limiter struct {
	mu          sync.Mutex
	per         time.Duration
	slots       []slot    // one per request allowed in a window
	pausedUntil time.Time // no request before then: Graph asked so (Retry-After)
	freed       chan struct{}
}

type slot struct {
	busy bool      // a request holds it
	at   time.Time // when its last request completed
}

// NewLimiter returns a Limiter for n requests per window; n < 1 means no limit.
func NewLimiter(n int, per time.Duration) *Limiter {
	if n < 1 || per <= 0 {
		return nil
	}
	per += 5 * time.Millisecond // for clock granularity between the two ends
	return &Limiter{per: per, slots: make([]slot, n), freed: make(chan struct{}, 1)}
}

// Wait blocks until a request may be sent and returns the function to call
// once its response arrived or it failed. A pause (PauseUntil) past maxWait
// fails at once with a *refusedError. A nil Limiter never waits.
func (l *Limiter) Wait(ctx context.Context, maxWait time.Duration) (done func(), err error) {
	if l == nil {
		return func() {}, nil
	}
	for {
		i, wait, err := l.take(maxWait)
		switch {
		case err != nil:
			return nil, err
		case i >= 0:
			return func() { l.release(i) }, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait): // an unfired timer is collected once unreferenced
		case <-l.freed:
		}
	}
}

// take claims a free slot whose window has passed and returns its index;
// otherwise -1 and how long to wait: until Graph's pause ends, or the soonest
// window passes (with every slot busy, a window: a freed slot wakes Wait).
func (l *Limiter) take(maxWait time.Duration) (int, time.Duration, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	if pause := l.pausedUntil.Sub(now); pause > maxWait {
		return -1, 0, &refusedError{ReasonThrottled, "Graph asked (Retry-After) for no requests until " +
			l.pausedUntil.UTC().Format(time.RFC3339) + "; this one was not sent"}
	} else if pause > 0 {
		return -1, pause, nil
	}
	wait := l.per
	for i, s := range l.slots {
		if s.busy {
			continue
		}
		w := s.at.Add(l.per).Sub(now)
		if w <= 0 {
			l.slots[i].busy = true
			return i, 0, nil
		}
		wait = min(wait, w)
	}
	return -1, wait, nil
}

// PauseUntil holds every request until t (or fails it, see Wait); an
// earlier t than one already set changes nothing. A nil Limiter ignores it.
func (l *Limiter) PauseUntil(t time.Time) {
	if l == nil {
		return
	}
	l.mu.Lock()
	if t.After(l.pausedUntil) {
		l.pausedUntil = t
	}
	l.mu.Unlock()
}

func (l *Limiter) release(i int) {
	l.mu.Lock()
	l.slots[i] = slot{at: time.Now()}
	l.mu.Unlock()
	select {
	case l.freed <- struct{}{}:
	default:
	}
}
