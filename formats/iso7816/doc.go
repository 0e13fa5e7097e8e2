// Package iso7816 is the one home of the ISO/IEC 7816-4 wire format in mynaconform: command APDUs
// (Command, built on skythen/apdu's Capdu and keeping the short/extended form), response APDUs
// (Response, on skythen/apdu's Rapdu), the zero-allocation structural check every parse of
// outside bytes goes through (ParseLayout, which also guards skythen/apdu's known panic on
// 00 A4 04 00 00 01), status words as one error type with one table of meanings in English and
// Japanese (StatusWord), and the interindustry instruction bytes.
//
// The virtual card, the session layer, the phone, the PC/SC backend, the transcript printer, the
// reference app and the qualification system all import it; it imports nothing of the project.
package iso7816
