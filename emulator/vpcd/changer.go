package vpcd

import (
	"errors"
	"sync"
)

// Changer is a Card that can be exchanged for another without leaving the slot: Change names the
// card that answers from the next power-on or reset on (vpcd control 01 or 02, which pcscd sends
// for SCardReconnect with SCARD_UNPOWER_CARD or SCARD_RESET_CARD). To PC/SC this is a card that
// stays inserted and is power-cycled, so presenting a new card costs one reconnect instead of a
// removal and an insertion, each of which pcscd notices only at its ~0.4 s presence poll.
//
// Until the power cycle, the current card keeps answering: a card never changes under a
// command.
type Changer struct {
	mu   sync.Mutex
	cur  Card
	next Card
	in   chan struct{} // closed when next has become cur
}

// NewChanger returns a Changer holding c.
func NewChanger(c Card) (*Changer, error) {
	if c == nil {
		return nil, errors.New("vpcd: nil card")
	}
	return &Changer{cur: c}, nil
}

// Change makes c the card that answers from the next power-on or reset on, replacing one that a
// previous Change had named and that never came in. The channel is closed when c is in.
func (ch *Changer) Change(c Card) (<-chan struct{}, error) {
	if c == nil {
		return nil, errors.New("vpcd: nil card")
	}
	ch.mu.Lock()
	defer ch.mu.Unlock()
	ch.next = c
	if ch.in == nil {
		ch.in = make(chan struct{})
	}
	return ch.in, nil
}

// Current is the card answering now.
func (ch *Changer) Current() Card {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	return ch.cur
}

// swap puts the named card in, at a power-on or reset.
func (ch *Changer) swap() Card {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	if ch.next != nil {
		ch.cur, ch.next = ch.next, nil
		close(ch.in)
		ch.in = nil
	}
	return ch.cur
}

func (ch *Changer) PowerOn() []byte { return ch.swap().PowerOn() }
func (ch *Changer) Reset() []byte   { return ch.swap().Reset() }
func (ch *Changer) PowerOff()       { ch.Current().PowerOff() }
func (ch *Changer) ATR() []byte     { return ch.Current().ATR() }

func (ch *Changer) Transmit(cmd []byte) []byte { return ch.Current().Transmit(cmd) }
