package api

import (
	"crypto"
	"crypto/rand"
	"crypto/sha256"
)

// Purposes of a device's proof of possession (ActivateRequest.Proof, LoginRequest.Proof).
const (
	ProofActivate = "activate"
	ProofLogin    = "login"
)

// ProofMessage is what the terminal key signs for a proof: a fixed context string, the purpose
// and the auth challenge, so a proof for one purpose is never valid for another.
func ProofMessage(purpose string, challenge []byte) []byte {
	m := []byte("mynaconform-onshi/v1 device-proof " + purpose + "\x00")
	return append(m, challenge...)
}

// SignProof signs ProofMessage(purpose, challenge) with the terminal key: RSASSA-PKCS1-v1_5 over
// its SHA-256.
func SignProof(key crypto.Signer, purpose string, challenge []byte) ([]byte, error) {
	h := sha256.Sum256(ProofMessage(purpose, challenge))
	return key.Sign(rand.Reader, h[:], crypto.SHA256)
}
