package onshi_test

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The service, its wire types and its client take the card's formats from formats/, never from
// the emulated card, and know nothing of the test data (the wiring of fixtures lives in
// onshifixtures, cmd/ and the tests).
func TestServiceImportsNeitherCardNorFixtures(t *testing.T) {
	const mod = "github.com/mynaconform/mynaconform/"
	for _, dir := range []string{".", "api", "client"} {
		files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			af, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
			if err != nil {
				t.Fatal(err)
			}
			for _, im := range af.Imports {
				path, _ := strconv.Unquote(im.Path.Value)
				rel, ours := strings.CutPrefix(path, mod)
				if !ours {
					continue
				}
				switch {
				case strings.HasPrefix(rel, "fixtures"), strings.HasPrefix(rel, "emulator/") && !strings.HasPrefix(rel, "emulator/onshi"),
					strings.HasPrefix(rel, "readers"), strings.HasPrefix(rel, "conformance"):
					t.Errorf("%s imports %s", f, path)
				case dir != "." && rel == "emulator/onshi":
					t.Errorf("%s (wire types and client) imports the service", f)
				}
			}
		}
	}
}
