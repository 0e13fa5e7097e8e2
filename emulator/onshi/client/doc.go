// Package client is the Go client of the emulated qualification system's HTTP API v1, used by
// the reference app and the tests. Every refusal is returned as *api.Error, so callers can
// assert it with errors.Is(err, api.ErrActivationNotYetValid) or api.IsCode(err, code).
package client
