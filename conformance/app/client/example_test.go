package client_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"time"

	"github.com/mynaconform/mynaconform/conformance/app/client"
	"github.com/mynaconform/mynaconform/emulator/onshi"
	"github.com/mynaconform/mynaconform/emulator/onshi/onshifixtures"
	"github.com/mynaconform/mynaconform/formats/onshi/api"
)

// A refusal is an *api.Error: match it with errors.Is against the sentinels or with api.IsCode.
func Example() {
	dir, _ := os.MkdirTemp("", "onshi-example")
	defer os.RemoveAll(dir)
	clock := onshi.NewFakeClock(time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC))
	cfg, err := onshifixtures.Config(onshi.Config{Clock: clock, PasswordIterations: 1000,
		Institutions: []onshi.InstitutionConfig{{Code: "1310123458", Name: "試験在宅クリニック", AdminUser: "admin", AdminPassword: "Example123"}}})
	if err != nil {
		fmt.Println(err)
		return
	}
	srv, err := onshi.Open(dir, cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Close()
	hs := httptest.NewServer(srv)
	defer hs.Close()

	ctx := context.Background()
	c := client.New(hs.URL, nil)
	admin, _ := c.AdminLogin(ctx, "1310123458", "admin", "Example123")
	_, err = admin.IssueActivationCode(ctx, "Aのスマホ1")
	fmt.Println(err == nil)
	_, _, err = c.Activate(ctx, api.ActivateRequest{InstitutionCode: "1310123458", UserID: "doc01", Password: "x", ActivationCode: "x"}, nil)
	fmt.Println(errors.Is(err, api.ErrFeatureDisabled), api.IsCode(err, api.CodeFeatureDisabled))
	// Output:
	// true
	// true true
}
