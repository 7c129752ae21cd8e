package graphapi

import (
	"context"
	"sync"
	"time"
)

// Limiter allows at most n requests in any window of length per: a sliding
// window, as Graph counts, rather than a token bucket whose burst could put
// n+1 requests into one window. It is safe for concurrent use.
type Limiter struct {
	mu   sync.Mutex
	per  time.Duration
	sent []time.Time // ring of the last n send times
	next int         // index of the oldest entry once the ring is full
	now  func() time.Time
}

// safetyMargin absorbs the difference between when we send and when Graph
// counts a request, so that pacing at exactly the limit draws no 429.
const safetyMargin = 25 * time.Millisecond

// NewLimiter returns a Limiter for n requests per window; n < 1 means no limit.
func NewLimiter(n int, per time.Duration) *Limiter {
	if n < 1 || per <= 0 {
		return nil
	}
	return &Limiter{per: per + safetyMargin, sent: make([]time.Time, 0, n), now: time.Now}
}

// Wait blocks until a request may be sent, and records it as sent.
// A nil Limiter never waits.
func (l *Limiter) Wait(ctx context.Context) error {
	if l == nil {
		return nil
	}
	for {
		l.mu.Lock()
		now := l.now()
		if len(l.sent) < cap(l.sent) {
			l.sent = append(l.sent, now)
			l.mu.Unlock()
			return nil
		}
		wait := l.sent[l.next].Add(l.per).Sub(now)
		if wait <= 0 {
			l.sent[l.next] = now
			l.next = (l.next + 1) % len(l.sent)
			l.mu.Unlock()
			return nil
		}
		l.mu.Unlock()
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}
