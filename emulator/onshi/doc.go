// Package onshi is the emulated qualification system (オンライン資格確認等システム) that the
// home-visit app (マイナ資格確認アプリ（居宅同意取得型）) talks to: the terminal's administrator
// functions (環境設定情報, アクティベーションコード, アカウント, devices), the app API (activation,
// login, challenges, consent in PIN and visual mode, 資格確認結果検索, medical information) and
// a durable SQLite store with an audit trail. Rules follow docs/onshi.md; values marked "model"
// there are Config fields. API.md documents the HTTP API v1 and every refusal code.
//
// A Server is a value: many can run side by side, each with its own data directory and Clock.
// People are identified by the SHA-256 of their JPKI auth certificate, never by My Number.
package onshi
