package onshi_test

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/mynaconform/mynaconform/formats/onshi/api"
)

var updateDoc = flag.Bool("update-api-doc", false, "rewrite the error table of API.md from the catalogue")

const (
	tableBegin = "<!-- error table: generated from api.Codes(), go test -run TestAPIDoc -update-api-doc -->"
	tableEnd   = "<!-- end of error table -->"
)

func errorTable() string {
	var sb strings.Builder
	sb.WriteString("| code | HTTP | message | message_ja |\n|---|---|---|---|\n")
	for _, c := range api.Codes() {
		en, _ := api.Lookup(c)
		fmt.Fprintf(&sb, "| `%s` | %d | %s | %s |\n", c, en.Status, en.Message, en.MessageJA)
	}
	return sb.String()
}

// API.md documents every refusal code with its status and both messages; it fails on drift.
func TestAPIDoc(t *testing.T) {
	b, err := os.ReadFile("API.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	i, j := strings.Index(doc, tableBegin), strings.Index(doc, tableEnd)
	if i < 0 || j < i {
		t.Fatal("API.md lacks the error table markers")
	}
	want := doc[:i+len(tableBegin)] + "\n" + errorTable() + doc[j:]
	if *updateDoc {
		if err := os.WriteFile("API.md", []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if want != doc {
		t.Fatal("API.md error table differs from the catalogue: go test ./emulator/onshi -run TestAPIDoc -update-api-doc")
	}
	for _, ep := range []string{"POST /v1/admin/login", "PUT /v1/admin/settings", "POST /v1/admin/activation-codes",
		"GET /v1/admin/activation-codes", "POST /v1/admin/activation-codes/{id}/revoke", "POST /v1/admin/accounts",
		"GET /v1/admin/accounts", "POST /v1/admin/accounts/{user}/unlock", "GET /v1/admin/devices",
		"POST /v1/admin/devices/{id}/revoke", "POST /v1/admin/enrollments", "GET /v1/admin/audit", "GET /v1/admin/settings",
		"POST /v1/admin/logout", "POST /v1/terminal/login", "POST /v1/app/activate", "POST /v1/app/login",
		"POST /v1/app/logout", "POST /v1/app/challenges", "POST /v1/app/consents", "POST /v1/app/consents/{id}/revoke",
		"POST /v1/app/qualifications/search", "GET /v1/app/consents/{id}/medication", "GET /v1/app/consents/{id}/clinical",
		"GET /v1/app/consents/{id}/checkups", "POST /v1/test/clock", "POST /v1/admin/password", "PUT /v1/admin/accounts/{user}",
		"DELETE /v1/admin/accounts/{user}", "POST /v1/admin/accounts/{user}/suspend", "POST /v1/admin/accounts/{user}/resume",
		"PUT /v1/admin/crl", "GET /v1/admin/crl", "POST /v1/terminal/password", "POST /v1/app/auth-challenges"} {
		if !strings.Contains(doc, "`"+ep+"`") && !strings.Contains(doc, "`"+ep+"` `?") {
			t.Errorf("API.md does not document %s", ep)
		}
	}
	// Every route the server registers is in the list above (a new endpoint needs its row).
	src, err := os.ReadFile("server.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(src), "\n") {
		if _, rest, ok := strings.Cut(line, `h("`); ok {
			ep, _, _ := strings.Cut(rest, `"`)
			if !strings.Contains(doc, "`"+ep+"`") && !strings.Contains(doc, "`"+ep+"` `?") {
				t.Errorf("API.md does not document the route %s", ep)
			}
		}
	}
}
