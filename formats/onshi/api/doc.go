// Package api holds the wire types and refusal codes of the qualification system's
// (オンライン資格確認等システム) HTTP API v1: a neutral home shared by the emulated service
// (emulator/onshi) and its clients (conformance/app/client), as formats/mynumber is for the card,
// so that neither side imports the other. Every refusal is an *Error with a stable Code, an HTTP
// status and messages in English and Japanese; errors.Is matches by code. emulator/onshi/API.md
// documents every endpoint and code.
package api
