package reports

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// File names WriteAll writes.
const (
	MarkdownFile = "supported-devices.md"
	HTMLFile     = "supported-devices.html"
	JSONFile     = "supported-devices.json"
	CSVFile      = "supported-devices.csv"
)

// WriteAll writes the Markdown, HTML, JSON and CSV lists into dir (created if needed). Each file
// is written to a temporary file in dir and renamed into place, so a reader never sees half a
// list. Every format is rendered before the first rename.
func WriteAll(dir string, r *Run) error {
	if r == nil {
		return errors.New("reports: nil run")
	}
	outs := []struct {
		name  string
		write func(io.Writer, *Run) error
	}{
		{MarkdownFile, WriteMarkdown},
		{HTMLFile, WriteHTML},
		{JSONFile, WriteJSON},
		{CSVFile, WriteCSV},
	}
	bufs := make([]bytes.Buffer, len(outs))
	for i, o := range outs {
		if err := o.write(&bufs[i], r); err != nil {
			return fmt.Errorf("reports: render %s: %w", o.name, err)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("reports: %w", err)
	}
	for i, o := range outs {
		if err := writeFileAtomic(filepath.Join(dir, o.name), bufs[i].Bytes()); err != nil {
			return err
		}
	}
	return nil
}

// writeFileAtomic writes data to a temporary file next to path, syncs it and renames it over
// path.
func writeFileAtomic(path string, data []byte) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("reports: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err = f.Write(data); err != nil {
		return fmt.Errorf("reports: write %s: %w", path, err)
	}
	if err = f.Chmod(0o644); err != nil {
		return fmt.Errorf("reports: %w", err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("reports: sync %s: %w", path, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("reports: close %s: %w", path, err)
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("reports: %w", err)
	}
	return nil
}
