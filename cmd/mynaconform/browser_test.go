package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

const chromiumPath = "/usr/bin/chromium"

// cdp is a Chrome DevTools Protocol client over --remote-debugging-pipe: JSON messages ending
// in NUL, written to the browser's fd 3 and read from its fd 4. No network, no extra module.
type cdp struct {
	w       *os.File
	mu      sync.Mutex
	next    int
	pending map[int]chan json.RawMessage
	events  chan cdpEvent
	errs    map[int]string
}

type cdpEvent struct {
	Method    string          `json:"method"`
	SessionID string          `json:"sessionId"`
	Params    json.RawMessage `json:"params"`
}

func startChromium(t *testing.T) (*cdp, func()) {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Skipf("no %s: install the Debian package chromium (.ci/run does) to run the browser test", chromiumPath)
	}
	toBrowser, browserIn, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	browserOut, fromBrowser, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	profile := t.TempDir()
	cmd := exec.Command(chromiumPath, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir="+profile, "--remote-debugging-pipe", "--window-size=1366,768", "about:blank")
	cmd.ExtraFiles = []*os.File{toBrowser, fromBrowser} // fd 3: commands in, fd 4: answers out
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	toBrowser.Close()
	fromBrowser.Close()
	c := &cdp{w: browserIn, pending: map[int]chan json.RawMessage{}, events: make(chan cdpEvent, 64), errs: map[int]string{}}
	go c.read(bufio.NewReader(browserOut))
	return c, func() {
		browserIn.Close()
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		browserOut.Close()
		if t.Failed() {
			t.Logf("chromium stderr:\n%s", stderr.String())
		}
	}
}

func (c *cdp) read(r *bufio.Reader) {
	for {
		msg, err := r.ReadBytes(0)
		if err != nil {
			close(c.events)
			return
		}
		var m struct {
			ID     int             `json:"id"`
			Result json.RawMessage `json:"result"`
			Error  *struct {
				Message string `json:"message"`
			} `json:"error"`
			cdpEvent
		}
		if json.Unmarshal(msg[:len(msg)-1], &m) != nil {
			continue
		}
		if m.ID == 0 {
			select {
			case c.events <- m.cdpEvent:
			default: // events nobody waits for
			}
			continue
		}
		c.mu.Lock()
		ch := c.pending[m.ID]
		if m.Error != nil {
			c.errs[m.ID] = m.Error.Message
		}
		c.mu.Unlock()
		if ch != nil {
			ch <- m.Result
		}
	}
}

// call sends one command (to a page session when session is set) and waits for its answer.
func (c *cdp) call(ctx context.Context, session, method string, params any, out any) error {
	c.mu.Lock()
	c.next++
	id := c.next
	ch := make(chan json.RawMessage, 1)
	c.pending[id] = ch
	c.mu.Unlock()
	msg := map[string]any{"id": id, "method": method, "params": params}
	if session != "" {
		msg["sessionId"] = session
	}
	b, _ := json.Marshal(msg)
	if _, err := c.w.Write(append(b, 0)); err != nil {
		return err
	}
	select {
	case res := <-ch:
		c.mu.Lock()
		e := c.errs[id]
		c.mu.Unlock()
		if e != "" {
			return fmt.Errorf("%s: %s", method, e)
		}
		if out != nil {
			return json.Unmarshal(res, out)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%s: %w", method, ctx.Err())
	}
}

// pageFacts is what the test reads from a loaded page.
type pageFacts struct {
	Lang        string   `json:"lang"`
	ScrollWidth int      `json:"scrollWidth"`
	ClientWidth int      `json:"clientWidth"`
	Widest      string   `json:"widest"` // the element reaching furthest right, if past the viewport
	Images      int      `json:"images"`
	Loaded      int      `json:"loaded"` // images decoded with a natural width
	Banner      string   `json:"banner"`
	Links       []string `json:"links"`
	Rows        int      `json:"rows"`
}

const factsJS = `(() => {
  const vw = document.documentElement.clientWidth;
  let widest = "";
  for (const el of document.querySelectorAll("body *")) {
    const r = el.getBoundingClientRect();
    if (r.right > vw + 0.5) { widest = el.tagName + (el.id ? "#" + el.id : "") + " right=" + r.right; break; }
  }
  const imgs = [...document.images];
  return {
    lang: document.documentElement.lang,
    scrollWidth: document.documentElement.scrollWidth,
    clientWidth: vw,
    widest,
    images: imgs.length,
    loaded: imgs.filter(i => i.complete && i.naturalWidth > 0).length,
    banner: (document.getElementById("what") || {}).textContent || "",
    links: [...document.querySelectorAll("a[href]")].map(a => a.href),
    rows: document.querySelectorAll("table.list > tbody > tr").length,
  };
})()`

// load opens file in a new page 1366 pixels wide and returns its facts.
func (c *cdp) load(ctx context.Context, file string) (*pageFacts, error) {
	var tgt struct {
		TargetID string `json:"targetId"`
	}
	if err := c.call(ctx, "", "Target.createTarget", map[string]any{"url": "about:blank"}, &tgt); err != nil {
		return nil, err
	}
	var att struct {
		SessionID string `json:"sessionId"`
	}
	if err := c.call(ctx, "", "Target.attachToTarget", map[string]any{"targetId": tgt.TargetID, "flatten": true}, &att); err != nil {
		return nil, err
	}
	s := att.SessionID
	if err := c.call(ctx, s, "Emulation.setDeviceMetricsOverride", map[string]any{"width": 1366, "height": 768, "deviceScaleFactor": 1, "mobile": false}, nil); err != nil {
		return nil, err
	}
	if err := c.call(ctx, s, "Page.enable", map[string]any{}, nil); err != nil {
		return nil, err
	}
	if err := c.call(ctx, s, "Page.navigate", map[string]any{"url": "file://" + file}, nil); err != nil {
		return nil, err
	}
	for loaded := false; !loaded; {
		select {
		case ev, ok := <-c.events:
			if !ok {
				return nil, fmt.Errorf("the browser closed the connection")
			}
			loaded = ev.SessionID == s && ev.Method == "Page.loadEventFired"
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for the page to load: %w", ctx.Err())
		}
	}
	var ev struct {
		Result struct {
			Value pageFacts `json:"value"`
		} `json:"result"`
	}
	if err := c.call(ctx, s, "Runtime.evaluate", map[string]any{"expression": factsJS, "returnByValue": true, "awaitPromise": true}, &ev); err != nil {
		return nil, err
	}
	return &ev.Result.Value, nil
}

// TestPageInBrowser loads the list of the whole catalogue in headless Chromium, in Japanese and
// in English, 1366 pixels wide: no sideways scrolling, every thumbnail decodes, the banner says
// what the verdicts are, and each profile's source is a link.
func TestPageInBrowser(t *testing.T) {
	c, stop := startChromium(t)
	defer stop()
	u := newUserRun(t)
	for _, tc := range []struct{ lang, banner string }{
		{"ja", "実機の測定ではなく予測"},
		{"en", "These verdicts are predictions, not measurements"},
	} {
		t.Run(tc.lang, func(t *testing.T) {
			out := "out-" + tc.lang
			if _, stderr, code := u.run(t, "run", "-out", out, "-lang", tc.lang); code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			var run struct {
				Devices []struct {
					ID        string `json:"id"`
					SourceURL string `json:"source_url"`
					Visual    struct {
						Supported bool `json:"supported"`
					} `json:"visual"`
				} `json:"devices"`
			}
			b, err := os.ReadFile(u.path(out, "supported-devices.json"))
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(b, &run); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			f, err := c.load(ctx, u.path(out, "supported-devices.html"))
			if err != nil {
				t.Fatal(err)
			}
			if f.Lang != tc.lang {
				t.Errorf("lang %q", f.Lang)
			}
			if f.ScrollWidth > f.ClientWidth || f.Widest != "" {
				t.Errorf("sideways scrolling at 1366 px: scroll width %d, viewport %d; %s", f.ScrollWidth, f.ClientWidth, f.Widest)
			}
			if f.Rows != len(run.Devices) {
				t.Errorf("%d rows, %d devices", f.Rows, len(run.Devices))
			}
			passing := 0
			for _, d := range run.Devices {
				if d.Visual.Supported {
					passing++
				}
			}
			if f.Images != passing || f.Loaded != f.Images || passing == 0 {
				t.Errorf("%d thumbnails, %d decoded; %d devices passed 目視確認", f.Images, f.Loaded, passing)
			}
			if !strings.Contains(f.Banner, tc.banner) {
				t.Errorf("banner %q lacks %q", f.Banner, tc.banner)
			}
			links := strings.Join(f.Links, " ")
			n := 0
			for _, d := range run.Devices {
				if d.SourceURL == "" {
					continue
				}
				n++
				if !strings.Contains(links, d.SourceURL) {
					t.Errorf("%s: no link to its source %s", d.ID, d.SourceURL)
				}
			}
			if n < 10 {
				t.Errorf("only %d devices with a source link", n)
			}
		})
	}
}
