package conformance

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/mynaconform/mynaconform/reports"
)

// A result folder (-out) holds exactly one run's result set. The run writes everything into a
// hidden staging folder beside it and, once the set is complete, puts the staging folder in
// place of the old one: a reader never sees a half-written set, and no file of an earlier run
// survives beside the new list. The folder is the tool's: a file in it that is not part of a
// result set is refused before the run starts, so a mistyped -out (a home folder) loses nothing;
// a folder in it that is not part of a result set (make hil's reports/out/hil, another run's
// result set) is carried over into the new folder as it is.

// Names of a result set.
const (
	JUnitFile      = "junit.xml"
	GinkgoFile     = "ginkgo-report.json"
	TranscriptsDir = "transcripts"
)

var resultEntries = []string{reports.MarkdownFile, reports.HTMLFile, reports.JSONFile, reports.CSVFile, JUnitFile, GinkgoFile, TranscriptsDir, CertificatesDir, ShardFile}

// checkOut refuses an -out that is a file, or a folder holding anything but a result set.
func checkOut(out string) error {
	st, err := os.Stat(out)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return usagef("-out: %v", err)
	}
	if !st.IsDir() {
		return usagej("-out: %s is a file, not a folder", "-out: %s はファイルです。フォルダを指定してください", out)
	}
	ents, err := os.ReadDir(out)
	if err != nil {
		return usagej("-out: %s cannot be read: %v", "-out: %s を読めません: %v", out, err)
	}
	var foreign []string
	for _, e := range ents {
		if slices.Contains(resultEntries, e.Name()) || e.IsDir() {
			continue
		}
		foreign = append(foreign, e.Name())
	}
	if len(foreign) > 0 {
		if len(foreign) > 3 {
			foreign = append(foreign[:3], "...")
		}
		return usagej("-out: %s holds %s, which no result set has; a run replaces the folder's files, so give an empty or new folder",
			"-out: %s には結果セットにないもの（%s）があります。実行するとフォルダの中身が置き換わるので、空のフォルダか新しいフォルダを指定してください", out, strings.Join(foreign, ", "))
	}
	return nil
}

// stagingName is the hidden folder beside out that a run writes into. Under the ginkgo CLI's
// -p every process computes the same name from the run's seed and the CLI's address; a
// process-local run takes a random one.
func stagingName(out string, seed int64, parallelHost string) (string, error) {
	abs, err := filepath.Abs(out)
	if err != nil {
		return "", usagef("-out: %v", err)
	}
	token := ""
	if parallelHost != "" {
		token = fmt.Sprintf("%d-%08x", seed, crc32.ChecksumIEEE([]byte(parallelHost)))
	} else {
		b := make([]byte, 6)
		_, _ = rand.Read(b)
		token = hex.EncodeToString(b)
	}
	return filepath.Join(filepath.Dir(abs), "."+filepath.Base(abs)+".run-"+token), nil
}

// makeStaging creates the staging folder (and out's parent), or says why it cannot.
func makeStaging(staging string) error {
	if err := os.MkdirAll(staging, 0o755); err != nil {
		return usagej("-out: cannot create a folder beside it: %v", "-out: 隣にフォルダを作れません: %v", err)
	}
	return nil
}

// install puts the complete result set in staging in place of out.
func install(staging, out string) error {
	if _, err := os.Stat(out); errors.Is(err, fs.ErrNotExist) {
		return os.Rename(staging, out)
	}
	ents, err := os.ReadDir(out)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if e.IsDir() && !slices.Contains(resultEntries, e.Name()) {
			if err := os.Rename(filepath.Join(out, e.Name()), filepath.Join(staging, e.Name())); err != nil {
				return err
			}
		}
	}
	old := strings.Replace(staging, ".run-", ".old-", 1)
	if err := os.Rename(out, old); err != nil {
		return err
	}
	if err := os.Rename(staging, out); err != nil {
		_ = os.Rename(old, out)
		return err
	}
	return os.RemoveAll(old)
}
