package conformance

import (
	"fmt"
	"time"

	"github.com/mynaconform/mynaconform/reports"
)

// progress prints one line for a device whose specs have all been reported: the count, the
// device, its two verdicts with the same marks as the list, and the time left at the pace so
// far.
func (s *suite) progress(dr *deviceRun) {
	if s.opts.Progress == nil {
		return
	}
	s.mu.Lock()
	s.done++
	done := s.done
	found := map[string]outcome{}
	for _, o := range s.found[dr.dev.ID] {
		found[o.Spec] = o
	}
	s.mu.Unlock()
	get := func(id string) (outcome, bool) { o, ok := found[id]; return o, ok }
	d, _ := s.deviceResult(dr.dev, get)
	total := len(s.devs)
	elapsed := time.Since(s.started)
	left := time.Duration(float64(elapsed) / float64(done) * float64(total-done))
	fmt.Fprintln(s.opts.Progress, reports.ProgressLine(s.opts.Lang, s.opts.Color, done, total, d, left))
}
