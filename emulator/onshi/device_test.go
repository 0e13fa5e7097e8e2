package onshi_test

import (
	"testing"
	"time"

	"github.com/mynaconform/mynaconform/formats/onshi/api"
)

// The attack: a device ID and credential copied off a handset log in from anywhere. Now
// each login proves possession of the terminal key registered at activation: the copy alone,
// a proof by another key, a replayed proof, a proof for another purpose, a forged or expired
// auth challenge are all refused.
func TestLoginProvesPossessionOfTheTerminalKey(t *testing.T) {
	e := newEnv(t, nil)
	_, act, _ := e.device(doctorID)
	req := api.LoginRequest{DeviceID: act.DeviceID, DeviceCredential: act.DeviceCredential, UserID: doctorID, Password: userPW}
	key := e.devKey(act.DeviceID)

	_, err := e.c.Login(e.ctx, req, nil) // the copied ID and credential alone
	wantCode(t, err, api.CodeDeviceProofInvalid)

	_, err = e.c.Login(e.ctx, req, e.nextKey()) // the attacker's own key
	wantCode(t, err, api.CodeDeviceProofInvalid)

	ac := must(e.c.AuthChallenge(e.ctx))
	if !ac.ExpiresAt.Equal(e.clock.Now().Add(5 * time.Minute)) {
		t.Fatalf("auth challenge expiry %v", ac.ExpiresAt)
	}
	proof := must(api.SignProof(key, api.ProofLogin, ac.Challenge))
	ok := req
	ok.AuthChallenge, ok.Proof = ac.Challenge, proof
	must(e.c.Login(e.ctx, ok, nil))
	_, err = e.c.Login(e.ctx, ok, nil) // a recorded login replayed
	wantCode(t, err, api.CodeChallengeReplayed)

	ac = must(e.c.AuthChallenge(e.ctx))
	wrongPurpose := req
	wrongPurpose.AuthChallenge, wrongPurpose.Proof = ac.Challenge, must(api.SignProof(key, api.ProofActivate, ac.Challenge))
	_, err = e.c.Login(e.ctx, wrongPurpose, nil)
	wantCode(t, err, api.CodeDeviceProofInvalid)

	forged := append([]byte(nil), ac.Challenge...)
	forged[20] ^= 1 // another expiry under the same MAC
	f := req
	f.AuthChallenge, f.Proof = forged, must(api.SignProof(key, api.ProofLogin, forged))
	_, err = e.c.Login(e.ctx, f, nil)
	wantCode(t, err, api.CodeChallengeUnknown)

	e.clock.Advance(5*time.Minute + time.Second)
	late := req
	late.AuthChallenge, late.Proof = ac.Challenge, must(api.SignProof(key, api.ProofLogin, ac.Challenge))
	_, err = e.c.Login(e.ctx, late, nil)
	wantCode(t, err, api.CodeChallengeExpired)

	// The proof does not replace the credential: the right key with a wrong credential fails.
	bad := req
	bad.DeviceCredential = otherCredential(req.DeviceCredential)
	_, err = e.c.Login(e.ctx, bad, key)
	wantCode(t, err, api.CodeDeviceCredentialInvalid)
}

// Activation proves possession of the key it registers, and one key registers one device.
func TestActivationProvesPossessionAndOneKeyOneDevice(t *testing.T) {
	e := newEnv(t, nil)
	a := e.ready()
	k := e.nextKey()
	code := e.code(a, "1台目")
	req := api.ActivateRequest{InstitutionCode: instA, UserID: doctorID, Password: userPW, ActivationCode: code, TerminalPublicKey: pubDER(k)}

	_, _, err := e.c.Activate(e.ctx, req, nil)
	wantCode(t, err, api.CodeDeviceProofInvalid)
	_, _, err = e.c.Activate(e.ctx, req, e.nextKey()) // signed by a key other than the one registered
	wantCode(t, err, api.CodeDeviceProofInvalid)
	res, _ := must2(e.c.Activate(e.ctx, req, k))

	req.ActivationCode = e.code(a, "2台目")
	_, _, err = e.c.Activate(e.ctx, req, k)
	wantCode(t, err, api.CodeTerminalKeyInUse)
	// The refused activation did not use up the code.
	k2 := e.nextKey()
	req.TerminalPublicKey = pubDER(k2)
	must2(e.c.Activate(e.ctx, req, k2))
	if devs := must(a.Devices(e.ctx)); len(devs) != 2 || devs[0].ID != res.DeviceID {
		t.Fatalf("devices: %+v", devs)
	}
}

func must2[A, B any](a A, b B, err error) (A, B) {
	if err != nil {
		panic(err)
	}
	return a, b
}

// otherCredential is c with its first character changed (always changed: a random credential
// may start with any character, so writing "x" in its place failed one run in 64).
func otherCredential(c string) string {
	if c[0] == 'x' {
		return "y" + c[1:]
	}
	return "x" + c[1:]
}
