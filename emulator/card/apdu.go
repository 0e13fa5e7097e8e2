package card

// command is one parsed command APDU. Data aliases the input. The encoding form is kept:
// GET CHALLENGE and 80 A2 answer differently to short and extended APDUs (card.md).
type command struct {
	cla, ins, p1, p2 byte
	data             []byte
	ne               int  // expected response length; 0 = no Le field
	hasLe            bool // Le field present (Le 00 = 256, 00 00 = 65536)
	extended         bool // Lc and/or Le in the extended (3-byte / 2-byte) form
}

// parseCommand checks the length structure of ISO/IEC 7816-4 clause 5.1 (cases 1, 2S, 2E, 3S,
// 3E, 4S, 4E) and returns false for anything else (answered 6700). Unlike
// skythen/apdu.ParseCapdu it never panics, e.g. on 00 A4 04 00 00 01 (libraries.md).
func parseCommand(b []byte) (command, bool) {
	if len(b) < 4 {
		return command{}, false
	}
	c := command{cla: b[0], ins: b[1], p1: b[2], p2: b[3]}
	body := b[4:]
	switch {
	case len(body) == 0: // case 1
		return c, true
	case len(body) == 1: // case 2S
		c.hasLe, c.ne = true, int(body[0])
		if c.ne == 0 {
			c.ne = 256
		}
		return c, true
	case body[0] != 0: // short Lc: case 3S or 4S
		lc := int(body[0])
		switch len(body) {
		case 1 + lc:
			c.data = body[1:]
			return c, true
		case 2 + lc:
			c.data = body[1 : 1+lc]
			c.hasLe, c.ne = true, int(body[1+lc])
			if c.ne == 0 {
				c.ne = 256
			}
			return c, true
		}
		return command{}, false
	case len(body) == 3: // case 2E: 00 Le1 Le2
		c.extended, c.hasLe = true, true
		c.ne = int(body[1])<<8 | int(body[2])
		if c.ne == 0 {
			c.ne = 65536
		}
		return c, true
	case len(body) >= 4: // case 3E or 4E: 00 Lc1 Lc2 data [Le1 Le2]
		lc := int(body[1])<<8 | int(body[2])
		if lc == 0 { // extended Lc of zero is invalid (ISO 7816-4 5.1)
			return command{}, false
		}
		c.extended = true
		switch len(body) {
		case 3 + lc:
			c.data = body[3:]
			return c, true
		case 5 + lc:
			c.data = body[3 : 3+lc]
			c.hasLe = true
			c.ne = int(body[3+lc])<<8 | int(body[4+lc])
			if c.ne == 0 {
				c.ne = 65536
			}
			return c, true
		}
	}
	return command{}, false
}
