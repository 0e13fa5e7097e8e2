//go:build pcsc

package hil_test

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/ebfe/scard"

	"github.com/mynaconform/mynaconform/conformance/hil"
	"github.com/mynaconform/mynaconform/conformance/hil/stack"
	"github.com/mynaconform/mynaconform/emulator/vpcd"
	"github.com/mynaconform/mynaconform/formats/mynumber"
	"github.com/mynaconform/mynaconform/readers"
)

// BenchmarkPCSC measures APDU round trips through pcscd + vpcd with the virtual card of persona
// adult in slot 0, through the Reader, with and without TCP_QUICKACK (docs/pcsc.md: ~0.1 ms per
// short APDU with it, ~44 ms without on Debian 12's vpcd 0.8):
//
//   - select-read: SELECT EF 000A and a short READ BINARY of 32 bytes (2 APDUs per op);
//   - read-4k-extended: one READ BINARY of 4096 bytes with an extended Le from the card-face
//     record EF 0002 (after VERIFY of 照合番号B once).
//
// BenchmarkPCSCFloor compares the same pair with a C loop and bare ebfe/scard in one run.
func BenchmarkPCSC(b *testing.B) {
	need(b)
	for _, quick := range []bool{true, false} {
		b.Run(fmt.Sprintf("quickack=%v", quick), func(b *testing.B) {
			c, p := newCard(b, "adult")
			insert(b, c, 0, vpcd.WithQuickAck(quick))
			r := open(b, 0)
			ctx := testCtx(b)
			// tx is transmit without a context per call, so that only the round trip is timed.
			tx := func(cmd []byte, want int) {
				resp, err := r.Transmit(ctx, cmd)
				if err != nil || len(resp) != want+2 || resp[len(resp)-2] != 0x90 || resp[len(resp)-1] != 0x00 {
					b.Fatalf("% X: %d bytes, %v", cmd[:5], len(resp), err)
				}
			}

			b.Run("select-read", func(b *testing.B) {
				transmit(b, r, selectJPKI, 0x9000)
				read := []byte{0x00, 0xB0, 0x00, 0x00, 0x20}
				b.ResetTimer()
				start := time.Now()
				for range b.N {
					tx(selectAuth, 0)
					tx(read, 32)
				}
				b.ReportMetric(float64(2*b.N)/time.Since(start).Seconds(), "apdu/s")
			})

			b.Run("read-4k-extended", func(b *testing.B) {
				transmit(b, r, append([]byte{0x00, 0xA4, 0x04, 0x0C, 0x0A}, mynumber.AIDCardFace...), 0x9000)
				transmit(b, r, []byte{0x00, 0xA4, 0x02, 0x0C, 0x02, 0x00, 0x12}, 0x9000)
				pin := p.VerificationB()
				transmit(b, r, append([]byte{0x00, 0x20, 0x00, 0x80, byte(len(pin))}, pin...), 0x9000)
				transmit(b, r, []byte{0x00, 0xA4, 0x02, 0x0C, 0x02, 0x00, 0x02}, 0x9000)
				read := []byte{0x00, 0xB0, 0x00, 0x00, 0x00, 0x10, 0x00}
				b.SetBytes(4096)
				b.ResetTimer()
				start := time.Now()
				for range b.N {
					tx(read, 4096)
				}
				b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "apdu/s")
			})
		})
	}
}

var _ readers.Reader // the benchmark drives the card through the readers.Reader backend

// BenchmarkPCSCFloor holds the Reader to the floor of the stack: in one run, against one virtual
// card (persona adult, slot 0, served from a process of its own as a reader's driver runs outside
// its clients), the same SELECT EF 000A + 32-byte READ BINARY pair as BenchmarkPCSC/select-read
// is sent by
//
//   - floor: a C loop over SCardTransmit (hil.Floor, one cgo call per chunk);
//   - cgo: a Go loop making one cgo SCardTransmit per APDU into a reused buffer (Floor.Transmit),
//     what any Go client pays at least;
//   - scard: bare ebfe/scard, Transmit in a Go loop;
//   - reader: the project's Reader (readers/pcsc) with context.Background (its own default
//     deadline);
//   - reader-ctx: the Reader with a cancellable context that has a deadline, as the suite's.
//
// The clients take turns in chunks of 100 pairs, the order rotating, so that load from other
// jobs falls on all of them alike; each chunk ends with a garbage collection, timed with it. One
// op is one pair from each client (10 APDUs). The metrics are each client's APDU/s over the run
// and its ratio to the floor: the median over the rounds of the floor's chunk time over the
// client's (target: reader/floor >= 0.90).
func BenchmarkPCSCFloor(b *testing.B) {
	need(b)
	serveElsewhere(b, "adult", 0)
	read := []byte{0x00, 0xB0, 0x00, 0x00, 0x20}

	fl, err := hil.OpenFloor(stack.ReaderName(0))
	if err != nil {
		b.Fatal(err)
	}
	defer fl.Close()
	sc, err := scard.EstablishContext()
	if err != nil {
		b.Fatal(err)
	}
	defer sc.Release()
	h, err := sc.Connect(stack.ReaderName(0), scard.ShareShared, scard.ProtocolAny)
	if err != nil {
		b.Fatal(err)
	}
	defer h.Disconnect(scard.LeaveCard)
	r := open(b, 0)
	transmit(b, r, selectJPKI, 0x9000)
	dctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()

	readerLoop := func(ctx context.Context) func(n int) {
		return func(n int) {
			for range n {
				if resp, err := r.Transmit(ctx, selectAuth); err != nil || len(resp) != 2 {
					b.Fatalf("SELECT: % X, %v", resp, err)
				}
				if resp, err := r.Transmit(ctx, read); err != nil || len(resp) != 34 {
					b.Fatalf("READ: %d bytes, %v", len(resp), err)
				}
			}
		}
	}
	clients := []struct {
		name   string
		run    func(n int)
		took   time.Duration
		rounds []time.Duration // per chunk
	}{
		{name: "floor", run: func(n int) {
			if err := fl.Loop(n, [][]byte{selectAuth, read}, []int{2, 34}); err != nil {
				b.Fatal(err)
			}
		}},
		{name: "cgo", run: func(n int) {
			buf := make([]byte, 258)
			for range n {
				if k, err := fl.Transmit(selectAuth, buf); err != nil || k != 2 {
					b.Fatalf("SELECT: %d bytes, %v", k, err)
				}
				if k, err := fl.Transmit(read, buf); err != nil || k != 34 {
					b.Fatalf("READ: %d bytes, %v", k, err)
				}
			}
		}},
		{name: "scard", run: func(n int) {
			for range n {
				if resp, err := h.Transmit(selectAuth); err != nil || len(resp) != 2 {
					b.Fatalf("SELECT: % X, %v", resp, err)
				}
				if resp, err := h.Transmit(read); err != nil || len(resp) != 34 {
					b.Fatalf("READ: %d bytes, %v", len(resp), err)
				}
			}
		}},
		{name: "reader", run: readerLoop(context.Background())},
		{name: "reader-ctx", run: readerLoop(dctx)},
	}
	const chunk = 100
	b.ResetTimer()
	for done, turn := 0, 0; done < b.N; turn++ {
		n := min(chunk, b.N-done)
		for k := range clients {
			cl := &clients[(turn+k)%len(clients)]
			start := time.Now()
			cl.run(n)
			// Each client pays for collecting its own garbage (ebfe/scard's 65,548 bytes per
			// Transmit), inside its own window rather than in the next client's.
			runtime.GC()
			took := time.Since(start)
			cl.took += took
			cl.rounds = append(cl.rounds, took)
		}
		done += n
	}
	b.StopTimer()
	for _, cl := range clients {
		b.ReportMetric(float64(2*b.N)/cl.took.Seconds(), cl.name+"-apdu/s")
		if cl.name == "floor" {
			continue
		}
		// The median over the rounds of floor time / client time for the same chunk, so that a
		// burst of load from other jobs in one client's turn does not decide the ratio.
		ratios := make([]float64, len(cl.rounds))
		for i, d := range cl.rounds {
			ratios[i] = clients[0].rounds[i].Seconds() / d.Seconds()
		}
		slices.Sort(ratios)
		b.ReportMetric(ratios[len(ratios)/2], cl.name+"/floor")
	}
}
