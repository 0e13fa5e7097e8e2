package card

// Hooks for the external tests (package card_test imports fixtures, which imports card).

// ParsedCommand is what parseCommand keeps of a command APDU.
type ParsedCommand struct {
	Lc, Ne          int
	HasLe, Extended bool
}

// ParseCommand exposes parseCommand.
func ParseCommand(b []byte) (ParsedCommand, bool) {
	c, ok := parseCommand(b)
	return ParsedCommand{Lc: len(c.data), Ne: c.ne, HasLe: c.hasLe, Extended: c.extended}, ok
}

// MaxResponseData exposes the response cap.
const MaxResponseData = maxResponseData
