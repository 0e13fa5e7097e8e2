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
	found := map[specKey]outcome{}
	for _, o := range s.found[dr.dev.ID] {
		found[specKey{o.Device, o.Spec, max(o.Run, 1)}] = o
	}
	s.mu.Unlock()
	get := func(run int, id string) (outcome, bool) { o, ok := found[specKey{dr.dev.ID, id, run}]; return o, ok }
	d, _ := s.deviceResult(dr.dev, get, s.opts.Repeat)
	total := len(s.devs)
	elapsed := time.Since(s.started)
	left := time.Duration(float64(elapsed) / float64(done) * float64(total-done))
	fmt.Fprintln(s.opts.Progress, reports.ProgressLine(s.opts.Lang, s.opts.Color, done, total, d, left))
}
