// Package api holds the wire types and refusal codes of the emulated qualification system
// (オンライン資格確認等システム) HTTP API v1, shared by the server (package onshi) and the Go client
// (package client). Every refusal is an *Error with a stable Code, an HTTP status and messages in
// English and Japanese; errors.Is matches by code. API.md in the parent directory documents every
// endpoint and code.
package api
