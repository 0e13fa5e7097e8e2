// Package client is the Go client of the qualification system's HTTP API v1 (wire types in
// formats/onshi/api), used by the reference app, the suite and the service's own tests; it knows
// nothing of the emulated service but its HTTP API. Every refusal is returned as *api.Error, so callers can
// assert it with errors.Is(err, api.ErrActivationNotYetValid) or api.IsCode(err, code).
package client
