package onshi

import (
	"sync"
	"time"
)

// Clock is the source of time of the service: activation delays, expiries, sessions and
// challenges are all measured with it, so tests move time instead of sleeping.
type Clock interface {
	Now() time.Time
}

// SystemClock is the wall clock.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// FakeClock is a manually moved clock, safe for concurrent use.
type FakeClock struct {
	mu  sync.Mutex
	now time.Time
}

// NewFakeClock returns a clock stopped at t.
func NewFakeClock(t time.Time) *FakeClock { return &FakeClock{now: t} }

// Now returns the clock's time.
func (c *FakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d and returns the new time.
func (c *FakeClock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	return c.now
}

// Set moves the clock to t.
func (c *FakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// jst is Japan time, in which dates (利用開始年月日, consent dates) are counted. A fixed zone: no
// tzdata needed and Japan has no daylight saving time.
var jst = time.FixedZone("JST", 9*60*60)

// dateOf is the Japan-time calendar date of t as YYYY-MM-DD.
func dateOf(t time.Time) string { return t.In(jst).Format(time.DateOnly) }

// parseDate parses YYYY-MM-DD as the start of that day in Japan time.
func parseDate(s string) (time.Time, error) { return time.ParseInLocation(time.DateOnly, s, jst) }
