// Package formats_test holds the tree-wide rules of who may import whom: the card's formats
// have one home, and the tester never checks the emulator against the emulator's own reading
// of the card.
package formats_test

import (
	"bytes"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/mynaconform/mynaconform/"

// packageImports maps each package directory of the module (relative, slash-separated) to the
// project packages its non-test files import.
func packageImports(t *testing.T, root string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") && path != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, filepath.Dir(path))
		rel = filepath.ToSlash(rel)
		if _, ok := out[rel]; !ok {
			out[rel] = nil
		}
		for _, im := range f.Imports {
			p, _ := strconv.Unquote(im.Path.Value)
			if strings.HasPrefix(p, module) {
				out[rel] = append(out[rel], strings.TrimPrefix(p, module))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func under(pkg string, trees ...string) bool {
	for _, t := range trees {
		if pkg == t || strings.HasPrefix(pkg, t+"/") {
			return true
		}
	}
	return false
}

// TestLayering: formats/ imports nothing else of the project; the packages that speak to or
// judge a card or the service — the reference app and its HTTP client, the envelope measurement,
// replay, the transport tree and the reports — import no emulator package, so a verdict never
// rests on the emulator's own understanding of the card. The emulator does not import the tester.
// (The wiring — the runner, the emulator target, the PC/SC stack helper and the fixtures, which
// build the emulator's values — may import both; cmd/ puts everything together. Of the wiring,
// only the emulator target and the fixtures build virtual cards.)
func TestLayering(t *testing.T) {
	imports := packageImports(t, "..")
	if len(imports) < 20 {
		t.Fatalf("found %d packages: not the module's tree?", len(imports))
	}
	for pkg, deps := range imports {
		for _, dep := range deps {
			switch {
			case under(pkg, "formats") && !under(dep, "formats"):
				t.Errorf("%s imports %s: formats/ must stand alone", pkg, dep)
			case under(pkg, "conformance/app", "conformance/envelope", "conformance/replay", "readers", "reports") && under(dep, "emulator"):
				t.Errorf("%s imports %s: the tester must not use the emulator's reading of the card", pkg, dep)
			case under(pkg, "emulator") && under(dep, "conformance", "cmd"):
				t.Errorf("%s imports %s: the emulator must not know the tester", pkg, dep)
			case dep == "emulator/card" && !under(pkg, "emulator", "cmd", "fixtures", "conformance/target"):
				t.Errorf("%s imports %s: only the emulator target builds virtual cards (the card's formats are in formats/)", pkg, dep)
			}
		}
	}
}

// TestJPKIAIDDefinedOnce: the JPKI-AP's AID bytes appear in exactly one non-test Go file.
func TestJPKIAIDDefinedOnce(t *testing.T) {
	forms := [][]byte{
		[]byte(`\xD3\x92\xF0\x00\x26\x01\x00\x00\x00\x01`),
		[]byte(`0xD3, 0x92, 0xF0, 0x00, 0x26, 0x01, 0x00, 0x00, 0x00, 0x01`),
		[]byte(`D392F00026010000000`),
	}
	var found []string
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && strings.HasPrefix(d.Name(), ".") && path != ".." {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, f := range forms {
			if n := bytes.Count(bytes.ToUpper(b), bytes.ToUpper(f)); n > 0 {
				for range n {
					found = append(found, path)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != 1 || filepath.ToSlash(found[0]) != "../formats/mynumber/ids.go" {
		t.Errorf("the JPKI AID's bytes are written in %q; want once, in formats/mynumber/ids.go", found)
	}
}
