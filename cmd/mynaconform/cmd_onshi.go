package main

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/mynaconform/mynaconform/emulator/onshi"
	"github.com/mynaconform/mynaconform/emulator/onshi/onshifixtures"
)

func init() {
	register("onshi", "emulated qualification system (オンライン資格確認等システム): onshi serve --listen ADDR --data DIR", runOnshi)
}

// adminPasswordEnv carries the bootstrap admin password (never a flag: flags show in ps).
const adminPasswordEnv = "MYNACONFORM_ONSHI_ADMIN_PASSWORD"

func runOnshi(ctx context.Context, args []string) int {
	if len(args) == 0 || args[0] != "serve" {
		fmt.Fprintln(os.Stderr, "usage: mynaconform onshi serve --listen ADDR --data DIR [flags]  (-h for the flags)")
		return 2
	}
	fs := newFlags("onshi serve", "usage: mynaconform onshi serve --listen ADDR --data DIR [flags]\n\nServes the emulated qualification system (オンライン資格確認等システム), HTTP API v1, with its\nstate in DIR (docs/onshi.md). The admin password comes from --admin-password-file or $"+adminPasswordEnv+".")
	listen := fs.String("listen", "127.0.0.1:8870", "address to listen on (port 0 picks one; the address is printed)")
	data := fs.String("data", "", "data directory (SQLite database, created if missing) [required]")
	inst := fs.String("institution", "1310123458", "医療機関コード (10 digits with a valid check digit) of the bootstrapped institution")
	instName := fs.String("institution-name", "試験在宅クリニック", "name of the bootstrapped institution")
	adminUser := fs.String("admin-user", "admin", "管理アカウント user ID (2-8 alphanumerics)")
	var extra []string
	fs.Func("institution-extra", "another institution CODE=NAME with the same admin user and password (repeatable; e.g. for wrong-institution tests)",
		func(v string) error { extra = append(extra, v); return nil })
	adminPWFile := fs.String("admin-password-file", "", "file holding the admin password (else $"+adminPasswordEnv+")")
	fake := fs.Bool("fake-clock", false, "use a fake clock and expose POST /v1/test/clock {\"advance\":\"10m\"}")
	fakeStart := fs.String("fake-clock-start", "", "fake clock start, RFC 3339 (default: now)")
	delay := fs.Duration("activation-delay", 10*time.Minute, "activation code usable this long after issue")
	ttl := fs.Duration("activation-ttl", 7*24*time.Hour, "activation code expiry after issue")
	idle := fs.Duration("session-idle", 30*time.Minute, "session idle timeout")
	sessMax := fs.Duration("session-max", 8*time.Hour, "absolute session lifetime, however active")
	chTTL := fs.Duration("challenge-ttl", 5*time.Minute, "challenge lifetime")
	lockout := fs.Int("lockout", 5, "consecutive wrong passwords that lock an account")
	consent := fs.Duration("consent-validity", 0, "consent validity from the day given (0: until revoked, 居宅同意取得型)")
	sync := fs.String("synchronous", "FULL", "SQLite synchronous level: FULL (survives power loss) or NORMAL (survives SIGKILL)")
	iters := fs.Int("password-iterations", 100000, "PBKDF2 iterations for stored passwords")
	trust := fs.String("trust-auth-ca", "", "extra JPKI auth root certificates (PEM or DER file), e.g. J-LIS CAs in a lab")
	lab := fs.Bool("lab-enrollment", false, "turn on POST /v1/admin/enrollments: an institution's admin may link a lab card's auth certificate to a synthetic record, for that institution only")
	resetAdmin := fs.Bool("reset-admin", false, "set the admins' passwords to the configured one and clear their locks (recovery of a locked-out administrator; audited)")
	var crls []string
	fs.Func("crl", "JPKI revocation list to load at start: X.509 CRL file, DER or PEM, signed by a trusted auth CA (repeatable)",
		func(v string) error { crls = append(crls, v); return nil })
	if exit, done := parseNoArgs(fs, args[1:]); done {
		return exit
	}
	if *data == "" {
		return usageError(fs, "--data is required: the folder of the service's database")
	}
	pw, err := adminPassword(*adminPWFile)
	if err != nil {
		fmt.Fprintln(os.Stderr, "mynaconform onshi serve:", err)
		return 2
	}
	insts := []onshi.InstitutionConfig{{Code: *inst, Name: *instName, AdminUser: *adminUser, AdminPassword: pw}}
	for _, e := range extra {
		code, name, ok := strings.Cut(e, "=")
		if !ok || name == "" {
			fmt.Fprintf(os.Stderr, "mynaconform onshi serve: --institution-extra %q: want CODE=NAME\n", e)
			return 2
		}
		insts = append(insts, onshi.InstitutionConfig{Code: code, Name: name, AdminUser: *adminUser, AdminPassword: pw})
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	cfg := onshi.Config{
		Institutions:    insts,
		ActivationDelay: *delay, ActivationTTL: *ttl, SessionIdle: *idle, SessionMax: *sessMax, ChallengeTTL: *chTTL,
		LockoutThreshold: *lockout, ConsentValidity: *consent, Synchronous: strings.ToUpper(*sync),
		PasswordIterations: *iters, Logger: log, LabEnrollment: *lab, ResetAdmins: *resetAdmin,
	}
	for _, f := range crls {
		b, err := os.ReadFile(f)
		if err != nil {
			fmt.Fprintln(os.Stderr, "mynaconform onshi serve: --crl:", err)
			return 2
		}
		cfg.CRLs = append(cfg.CRLs, b)
	}
	if *fake {
		t0 := time.Now()
		if *fakeStart != "" {
			if t0, err = time.Parse(time.RFC3339, *fakeStart); err != nil {
				fmt.Fprintln(os.Stderr, "mynaconform onshi serve: --fake-clock-start:", err)
				return 2
			}
		}
		cfg.Clock, cfg.TestClock = onshi.NewFakeClock(t0), true
	}
	if *trust != "" {
		roots, err := readCerts(*trust)
		if err != nil {
			fmt.Fprintln(os.Stderr, "mynaconform onshi serve: --trust-auth-ca:", err)
			return 2
		}
		cfg.AuthRoots = roots
	}
	if cfg, err = onshifixtures.Config(cfg); err != nil {
		fmt.Fprintln(os.Stderr, "mynaconform onshi serve:", err)
		return 1
	}
	srv, err := onshi.Open(*data, cfg)
	if err != nil {
		// Configuration the service refuses (institution code, admin password policy, a CRL
		// that does not parse or is not signed by a trusted CA) is bad input; the rest is set-up.
		fmt.Fprintln(os.Stderr, "mynaconform onshi serve:", err)
		return 2
	}
	defer srv.Close()
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintln(os.Stderr, "mynaconform onshi serve:", err)
		return 1
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 30 * time.Second, MaxHeaderBytes: 16 << 10}
	// The one line tools wait for; the password is never printed.
	fmt.Printf("onshi: listening on http://%s (institution %s, data %s, fake clock %t, lab enrollment %t)\n", ln.Addr(), *inst, *data, *fake, *lab)
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		fmt.Fprintln(os.Stderr, "mynaconform onshi serve:", err)
		return 1
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintln(os.Stderr, "mynaconform onshi serve:", err)
		return 1
	}
	return 0
}

func adminPassword(file string) (string, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", err
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	}
	if pw := os.Getenv(adminPasswordEnv); pw != "" {
		return pw, nil
	}
	return "", errors.New("set the admin password with --admin-password-file or $" + adminPasswordEnv)
}

func readCerts(path string) ([]*x509.Certificate, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []*x509.Certificate
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			break
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		c, err := x509.ParseCertificate(b)
		if err != nil {
			return nil, fmt.Errorf("neither PEM nor DER certificates: %w", err)
		}
		out = append(out, c)
	}
	return out, nil
}
