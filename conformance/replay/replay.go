// Package replay sends the commands of a recorded session (a transcript, e.g. recorded by lab mode
// on a real test card) to another card — the virtual card, or any readers.Reader — and reports,
// APDU by APDU, where the answers differ. It compares structurally what legitimately differs
// between two cards: signatures and challenges (per-card keys and randomness) by length, masked
// data by length, files by their record layout (formats/mynumber), retry counters by class. Status
// words and layouts must match: that is the fidelity of the emulator against the recorded card.
package replay

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/mynaconform/mynaconform/formats/iso7816"
	"github.com/mynaconform/mynaconform/formats/mynumber"
	"github.com/mynaconform/mynaconform/formats/tlv"
	"github.com/mynaconform/mynaconform/readers"
	"github.com/mynaconform/mynaconform/reports/transcript"
)

// Verdict is the outcome of one APDU.
type Verdict string

const (
	Same        Verdict = "same"         // identical answer
	Expected    Verdict = "expected"     // differs where two genuine cards differ (Why says how)
	Different   Verdict = "DIFFERENT"    // a real difference of behaviour or layout
	NotCompared Verdict = "not compared" // the recording has no answer (a transport failure)
)

// Result is one APDU of the replay.
type Result struct {
	Index       int     `json:"index"` // 1-based, as transcripts print
	Step        string  `json:"step"`
	Command     string  `json:"command"` // its name (mynumber.CommandName)
	RecordedSW  string  `json:"recorded_sw,omitempty"`
	ReplayedSW  string  `json:"replayed_sw,omitempty"`
	RecordedLen int     `json:"recorded_data_bytes"`
	ReplayedLen int     `json:"replayed_data_bytes"`
	Verdict     Verdict `json:"verdict"`
	Why         string  `json:"why,omitempty"`
}

// Report is the whole replay.
type Report struct {
	Transcript  string   `json:"transcript,omitempty"`
	Persona     string   `json:"persona"`
	Results     []Result `json:"results"`
	Differences int      `json:"differences"`
}

// Secrets gives the replaying card's reference data for a key whose VERIFY or CHANGE data the
// recording masked (the persona's PIN, 照合番号...). ok false: the key has none.
type Secrets func(aid mynumber.AID, fid mynumber.FID) (value []byte, ok bool)

// Options configure a replay.
type Options struct {
	Secrets Secrets
	Persona string // for the report
}

// file assembles what was read of one EF on each side, by offset.
type file struct {
	rec, rep []byte
	checked  bool
}

type state struct {
	aid   mynumber.AID
	ef    mynumber.FID
	files map[mynumber.FileRef]*file
}

// Run connects r, then sends every recorded command in order (masked secrets replaced through
// opt.Secrets) and compares each answer with the recorded one.
func Run(ctx context.Context, r readers.Reader, f *transcript.File, opt Options) (*Report, error) {
	if err := r.Connect(ctx); err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	defer r.Close()
	rep := &Report{Persona: opt.Persona}
	st := &state{files: map[mynumber.FileRef]*file{}}
	for i, ex := range f.Exchanges {
		res := Result{Index: i + 1, Step: ex.Step, Command: mynumber.CommandName(ex.Command)}
		cmd, why := unmask(ex, st, opt.Secrets)
		if why != "" {
			res.Verdict, res.Why = Different, why
			rep.add(res)
			continue
		}
		got, err := r.Transmit(ctx, cmd)
		switch {
		case ex.Err != "" || len(ex.Response) < 2:
			res.Verdict, res.Why = NotCompared, "the recording has no answer: "+firstLine(ex.Err)
			if err == nil && len(got) >= 2 {
				res.ReplayedSW = iso7816.SWOf(got).String()
				st.track(cmd, iso7816.SWOf(got))
			}
		case err != nil:
			res.RecordedSW = iso7816.SWOf(ex.Response).String()
			res.Verdict, res.Why = Different, "the replaying card did not answer: "+firstLine(err.Error())
		default:
			compare(&res, ex, cmd, got, st)
		}
		rep.add(res)
	}
	return rep, nil
}

func (rep *Report) add(r Result) {
	rep.Results = append(rep.Results, r)
	if r.Verdict == Different {
		rep.Differences++
	}
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

// unmask puts the replaying card's secret where the recording masked one.
func unmask(ex transcript.Exchange, st *state, secrets Secrets) ([]byte, string) {
	cmd := bytes.Clone(ex.Command)
	l, ok := iso7816.ParseLayout(cmd)
	if !ex.Masked || !ok || l.DataLen == 0 {
		return cmd, ""
	}
	data := cmd[l.DataOffset : l.DataOffset+l.DataLen]
	if !allMask(data) {
		return cmd, ""
	}
	fid := st.ef
	if p2 := cmd[3]; p2&0x80 != 0 && p2&0x1F != 0 {
		fid = mynumber.FID(p2 & 0x1F)
	}
	if secrets == nil {
		return nil, "masked secret and no persona to replay it with"
	}
	v, found := secrets(st.aid, fid)
	if !found {
		return nil, fmt.Sprintf("masked secret for %s, which the replaying persona does not have", mynumber.FileName(st.aid, fid))
	}
	// A masked secret the recorded card refused (63Cx, 6984) was a wrong one: replay a wrong one
	// of the same length, so that the replaying card is asked the same question.
	if sw := iso7816.SWOf(ex.Response); len(ex.Response) >= 2 && !sw.OK() {
		v = wrong(v, len(data))
	}
	c, err := iso7816.ParseCommand(cmd)
	if err != nil {
		return nil, err.Error()
	}
	c.Data = v
	b, err := c.Bytes()
	if err != nil {
		return nil, err.Error()
	}
	return b, ""
}

// wrong is a value of n bytes that differs from v.
func wrong(v []byte, n int) []byte {
	w := bytes.Repeat([]byte{'0'}, n)
	copy(w, v)
	if bytes.Equal(w, v) {
		w[n-1] ^= 0x01 // '0' <-> '1', 'A' <-> '@'...
	}
	return w
}

func allMask(b []byte) bool {
	for _, c := range b {
		if c != transcript.MaskByte {
			return false
		}
	}
	return len(b) > 0
}

// track follows the selection the card accepted.
func (st *state) track(cmd []byte, sw iso7816.StatusWord) {
	l, ok := iso7816.ParseLayout(cmd)
	if !ok || len(cmd) < 4 || cmd[0]&iso7816.ClaSMMask != 0 {
		return
	}
	ins, p1 := cmd[1], cmd[2]
	switch {
	case ins == iso7816.InsSelect && sw.OK():
		data := cmd[l.DataOffset : l.DataOffset+l.DataLen]
		switch p1 {
		case iso7816.SelectByName:
			st.aid, st.ef = mynumber.AID(data), 0
			for _, a := range mynumber.Applications { // a DF-name prefix selects the first match
				if strings.HasPrefix(string(a), string(data)) {
					st.aid = a
					break
				}
			}
		case iso7816.SelectEF:
			if len(data) == 2 {
				st.ef = mynumber.FID(data[0])<<8 | mynumber.FID(data[1])
			}
		}
	case ins == iso7816.InsReadBinary && p1&0x80 != 0:
		st.ef = mynumber.FID(p1 & 0x1F) // the short-EF form selects the EF
	case ins == iso7816.InsReadRecord && cmd[3]>>3 != 0:
		st.ef = mynumber.FID(cmd[3] >> 3) // SFI in P2 b8-b4
	}
}

func compare(res *Result, ex transcript.Exchange, cmd, got []byte, st *state) {
	want := ex.Response
	ws, gs := iso7816.SWOf(want), iso7816.SWOf(got)
	res.RecordedSW, res.ReplayedSW = ws.String(), gs.String()
	wd, gd := want[:len(want)-2], got[:len(got)-2]
	res.RecordedLen, res.ReplayedLen = len(wd), len(gd)
	st.track(cmd, gs)
	if ws != gs {
		_, wr := ws.Retries()
		_, gr := gs.Retries()
		if wr && gr {
			res.Verdict, res.Why = Expected, "retry counters of the two cards differ"
			return
		}
		res.Verdict = Different
		res.Why = fmt.Sprintf("status word %s (%s), recorded %s (%s)", gs.String(), gs.Meaning(), ws.String(), ws.Meaning())
		return
	}
	if bytes.Equal(wd, gd) {
		res.Verdict = Same
		if ins := cmd[1]; ins == iso7816.InsReadBinary || ins == iso7816.InsReadRecord {
			st.read(cmd, wd, gd, res)
		}
		return
	}
	cla, ins := cmd[0], cmd[1]
	switch {
	case allMask(wd):
		res.Verdict, res.Why = lengthVerdict(wd, gd, "masked secret data")
	case ins == iso7816.InsGetChallenge:
		res.Verdict, res.Why = lengthVerdict(wd, gd, "random challenge")
	case cla&mynumber.ClaProprietary != 0 && ins == mynumber.InsComputeSignature, ins == iso7816.InsInternalAuthenticate:
		res.Verdict, res.Why = lengthVerdict(wd, gd, "signature by the card's own key")
	case ins == iso7816.InsReadBinary || ins == iso7816.InsReadRecord:
		res.Verdict, res.Why = Expected, "per-card data"
		st.read(cmd, wd, gd, res)
	case ins == iso7816.InsGetData:
		res.Verdict, res.Why = Expected, "per-card data object"
		if wt, _, _, err := tlv.Header(wd); err == nil {
			if gt, _, _, err := tlv.Header(gd); err != nil || gt != wt {
				res.Verdict, res.Why = Different, "data object tag differs"
			}
		}
	default:
		res.Verdict, res.Why = Different, fmt.Sprintf("response data differs (%d bytes, recorded %d)", len(gd), len(wd))
	}
}

func lengthVerdict(want, got []byte, what string) (Verdict, string) {
	if len(want) == len(got) {
		return Expected, what
	}
	return Different, fmt.Sprintf("%s of %d bytes, recorded %d", what, len(got), len(want))
}

// read records the data of a READ on both sides and, once both hold a whole object from offset 0,
// checks its layout with the formats package.
func (st *state) read(cmd, wd, gd []byte, res *Result) {
	off := 0
	if cmd[1] == iso7816.InsReadBinary && cmd[2]&0x80 == 0 {
		off = int(cmd[2])<<8 | int(cmd[3])
	} else if cmd[1] == iso7816.InsReadBinary {
		off = int(cmd[3])
	}
	ref := mynumber.FileRef{AID: st.aid, FID: st.ef}
	f := st.files[ref]
	if f == nil {
		f = &file{}
		st.files[ref] = f
	}
	f.rec, f.rep = put(f.rec, off, wd), put(f.rep, off, gd)
	if f.checked {
		return
	}
	lay, known := mynumber.LayoutOf(ref.AID, ref.FID)
	rw, okW := whole(f.rec)
	rp, okP := whole(f.rep)
	if !okW {
		return // the recording has not read the whole object (yet)
	}
	if !okP {
		n, err := tlv.TotalLen(f.rep)
		switch {
		case err == nil && n > len(f.rep):
			// The client asked for the recorded card's lengths; this card's object is longer.
			f.checked = true
			if res.Verdict == Same || res.Verdict == Expected {
				res.Verdict, res.Why = Expected, fmt.Sprintf("per-card data; the object is %d bytes on the replaying card, the recording read %d", n, len(f.rec))
			}
		case cmd[1] == iso7816.InsReadRecord || len(f.rep) >= len(f.rec):
			f.checked = true
			res.Verdict, res.Why = Different, fmt.Sprintf("%s: the replaying card's file does not hold the object the recording read", mynumber.FileName(ref.AID, ref.FID))
		}
		return
	}
	f.checked = true
	if allMask(rw) {
		return
	}
	if a, b := shape(rw), shape(rp); a != b {
		res.Verdict = Different
		res.Why = fmt.Sprintf("%s: layout %s, recorded %s", mynumber.FileName(ref.AID, ref.FID), b, a)
		return
	}
	if !known {
		return
	}
	if _, err := lay.Parse(rw); err != nil {
		return // the recorded object is not in the layout this tool knows: nothing to hold the emulator to
	}
	if _, err := lay.Parse(rp); err != nil {
		res.Verdict = Different
		res.Why = fmt.Sprintf("%s: the recorded object parses, the replaying card's does not: %v", mynumber.FileName(ref.AID, ref.FID), err)
		return
	}
	if res.Verdict == Expected {
		res.Why = fmt.Sprintf("per-card data; %s layout matches", lay.Name)
	}
}

// shape is the tag tree of a card record, "FF30{DF31,DF32,DF33}": constructed objects of the
// card's own classes (application, context, private) are opened; universal ones (a DER
// certificate) and primitives are leaves, whose lengths legitimately differ from card to card.
func shape(b []byte) string {
	var sb strings.Builder
	var walk func(b []byte, depth int)
	walk = func(b []byte, depth int) {
		for i := 0; len(b) > 0; i++ {
			o, rest, err := tlv.Parse(b)
			if err != nil {
				sb.WriteString("?")
				return
			}
			if i > 0 {
				sb.WriteByte(',')
			}
			fmt.Fprintf(&sb, "%X", o.Tag)
			first := byte(o.Tag >> 8)
			if o.Tag <= 0xFF {
				first = byte(o.Tag)
			}
			if first&0xC0 != 0 && first&0x20 != 0 && depth < 4 {
				sb.WriteByte('{')
				walk(o.Value, depth+1)
				sb.WriteByte('}')
			}
			b = rest
			if depth == 0 {
				return // filler follows the file's object
			}
		}
	}
	walk(b, 0)
	return sb.String()
}

// put writes b at off into buf (growing it; the gap, if any, stays zero).
func put(buf []byte, off int, b []byte) []byte {
	if need := off + len(b); need > len(buf) {
		buf = append(buf, make([]byte, need-len(buf))...)
	}
	copy(buf[off:], b)
	return buf
}

// whole returns the complete object at the start of buf: a BER-TLV object, or a SIMPLE-TLV record.
func whole(buf []byte) ([]byte, bool) {
	if n, err := tlv.TotalLen(buf); err == nil && n <= len(buf) && n > 0 {
		return buf[:n], true
	}
	if _, rest, err := tlv.ParseSimple(buf); err == nil {
		return buf[:len(buf)-len(rest)], true
	}
	return nil, false
}

// Print writes the report: one line per APDU that is not the same, then the summary.
func (rep *Report) Print(w io.Writer, all bool) error {
	counts := map[Verdict]int{}
	for _, r := range rep.Results {
		counts[r.Verdict]++
		if r.Verdict == Same && !all {
			continue
		}
		line := fmt.Sprintf("#%-3d %-10s %-30s recorded %-4s  replayed %-4s", r.Index, r.Verdict, r.Command, dash(r.RecordedSW), dash(r.ReplayedSW))
		if r.Why != "" {
			line += "  " + r.Why
		}
		if r.Step != "" {
			line += "  [" + r.Step + "]"
		}
		if _, err := fmt.Fprintln(w, line); err != nil {
			return err
		}
	}
	_, err := fmt.Fprintf(w, "%d APDUs: %d same, %d differ as two cards do, %d not compared, %d DIFFERENT\n",
		len(rep.Results), counts[Same], counts[Expected], counts[NotCompared], counts[Different])
	return err
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// WriteJSON writes the report as JSON.
func (rep *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}
