package reports

import (
	"fmt"
	"strings"
)

// Languages of the list and the terminal output.
const (
	LangJA = "ja"
	LangEN = "en"
)

// Causes: why a mode failed, as a stable code (the JSON "cause"). The suite classifies each
// failure; Remedy turns the code into what it means and what a vendor can do about it.
const (
	CauseTransceiveLength = "transceive-length" // a command longer than the handset carries
	CauseResponseCap      = "response-cap"      // the link dropped on a long response (iOS 1693)
	CauseTimeout          = "timeout"           // a command took longer than the handset's timeout
	CauseNoNFC            = "no-nfc"
	CauseNoISODep         = "no-iso-dep"
	CauseCardRemoved      = "card-removed" // the card left (or was reset) mid-step
	CauseLink             = "link"         // a corrupted or short response, another transport failure
	CauseReader           = "reader"       // PC/SC set-up: no pcscd, no reader
	CauseCard             = "card"         // the card refused a command (status word)
	CauseService          = "service"      // the qualification system refused a request
	CauseCheck            = "check"        // the app found the card's or the service's data wrong
	CausePrecondition     = "precondition" // an earlier spec of the device failed
	CauseNotRun           = "not-run"      // no spec of the mode ran (filtered out)
)

// Causes lists every cause code (docs/output.md).
var Causes = []string{
	CauseTransceiveLength, CauseResponseCap, CauseTimeout, CauseNoNFC, CauseNoISODep, CauseCardRemoved,
	CauseLink, CauseReader, CauseCard, CauseService, CauseCheck, CausePrecondition, CauseNotRun,
}

// remedies holds, per cause, what it means and what to do, in each language. %[1]d is the
// device's max transceive, %[2]d its response cap.
var remedies = map[string][2]string{
	CauseTransceiveLength: {
		"The handset carries at most %[1]d bytes per command, and this step needs a longer one: 目視確認 sends the terminal certificate (80 A2) as one extended-length command of several hundred bytes. Vendor: raise the NFC stack's ISO-DEP maximum transceive length to cover the longest command the app sends (Android: ISO_DEP_MAX_TRANSCEIVE in the NFC HAL configuration; the fixed ROMs use 0xFEFF = 65279, and any value above 261 also makes isExtendedLengthApduSupported() true).",
		"この端末は 1 回のコマンドで最大 %[1]d バイトしか送れませんが、この手順にはそれより長いコマンドが必要です（目視確認では端末証明書 80 A2 を数百バイトの拡張長コマンド 1 回で送ります）。メーカーの対処：NFC スタックの ISO-DEP 最大送受信長を、アプリが送る最長のコマンドが収まる値まで上げてください（Android では NFC HAL 設定の ISO_DEP_MAX_TRANSCEIVE。修正済み ROM は 0xFEFF = 65279。261 バイトを超える値にすると isExtendedLengthApduSupported() も true になります）。",
	},
	CauseResponseCap: {
		"The NFC link was lost on a response longer than the handset delivers (%[2]d bytes). Vendor: raise the response limit of the NFC stack; an app must read in pieces below it (iOS: 1693 bytes).",
		"端末が受け取れる長さ（%[2]d バイト）を超える応答で NFC 接続が切れました。メーカーの対処：NFC スタックの応答長の上限を上げてください。アプリ側は上限未満に分けて読み出す必要があります（iOS は 1693 バイト）。",
	},
	CauseTimeout: {
		"A command took longer than the handset's ISO-DEP timeout; the card's RSA signature alone takes about 0.5 s. Vendor: raise the default ISO-DEP timeout (Android: IsoDep.setTimeout; 5000 ms is common for signing).",
		"コマンドの処理が端末の ISO-DEP タイムアウトより長くかかりました（カードの RSA 署名だけで約 0.5 秒）。メーカーの対処：ISO-DEP の既定タイムアウトを延ばしてください（Android では IsoDep.setTimeout。署名には 5000 ms が一般的）。",
	},
	CauseNoNFC: {
		"The handset has no NFC and cannot read the card. Use a handset with NFC (ISO 14443 Type B).",
		"この端末には NFC がなく、カードを読めません。NFC（ISO 14443 Type B）を備えた端末を使ってください。",
	},
	CauseNoISODep: {
		"The NFC stack cannot talk ISO-DEP (ISO 14443-4) to the card. Vendor: support ISO-DEP (Android IsoDep) for Type B cards.",
		"NFC スタックが ISO-DEP（ISO 14443-4）でカードと通信できません。メーカーの対処：Type B カードに対する ISO-DEP（Android の IsoDep）に対応してください。",
	},
	CauseCardRemoved: {
		"The card left the handset (or was reset) in the middle of the step. Keep the card on the antenna for the whole tap time; check the antenna position.",
		"手順の途中でカードが端末から離れました（またはリセットされました）。かざす時間のあいだカードをアンテナに当て続けてください。アンテナの位置も確認してください。",
	},
	CauseLink: {
		"The NFC link corrupted or cut a response. Check the antenna and the link speed; the transcript shows the exchange.",
		"NFC の通信で応答が壊れたか途切れました。アンテナと通信速度を確認してください。やり取りはトランスクリプトにあります。",
	},
	CauseReader: {
		"PC/SC set-up: pcscd is not running or the reader is missing (docs/pcsc.md).",
		"PC/SC の準備ができていません：pcscd が動いていないか、リーダーが見つかりません（docs/pcsc.md）。",
	},
	CauseCard: {
		"The card refused a command (the status word is in the reason); the transcript shows the APDU.",
		"カードがコマンドを拒否しました（ステータスワードは理由欄にあります）。APDU はトランスクリプトで確認できます。",
	},
	CauseService: {
		"The qualification system refused a request (the code in the reason is documented in emulator/onshi/API.md).",
		"資格確認システムが要求を拒否しました（理由欄のコードは emulator/onshi/API.md に説明があります）。",
	},
	CauseCheck: {
		"The app found the data read from the card or the service wrong; the reason says which, the transcript shows the exchange.",
		"カードまたはシステムから読んだデータが正しくありませんでした。内容は理由欄に、やり取りはトランスクリプトにあります。",
	},
	CausePrecondition: {
		"An earlier spec of this device failed (activation or login); fix that one first.",
		"この端末の前の手順（アクティベーションまたはログイン）が失敗しています。先にそちらを解決してください。",
	},
	CauseNotRun: {
		"No spec of this mode ran (filtered out).",
		"このモードのテストは実行されていません（絞り込みで除外）。",
	},
}

// Remedy is what cause means on device d and what to do about it, in lang.
func Remedy(lang, cause string, d DeviceResult) string {
	t, ok := remedies[cause]
	if !ok {
		return ""
	}
	s := t[0]
	if lang == LangJA {
		s = t[1]
	}
	if strings.Contains(s, "%[") {
		s = fmt.Sprintf(s, d.MaxTransceive, d.MaxResponse)
	}
	return s
}

// Localize sets the run's language and fills every failed mode's remedy in it.
func Localize(r *Run, lang string) *Run {
	out := *r
	out.Lang = lang
	out.Devices = make([]DeviceResult, len(r.Devices))
	for i, d := range r.Devices {
		for _, m := range []*ModeResult{&d.PIN, &d.Visual} {
			m.Remedy = ""
			if !m.Supported {
				m.Remedy = Remedy(lang, m.Cause, d)
			}
		}
		out.Devices[i] = d
	}
	return &out
}

// text is one phrase of the list and the terminal output in both languages.
type text struct{ en, ja string }

func (t text) in(lang string) string {
	if lang == LangJA {
		return t.ja
	}
	return t.en
}

var (
	txtTitle       = text{"Supported devices", "対応端末一覧"}
	txtPIN         = text{"PIN (暗証番号)", "暗証番号"}
	txtVisual      = text{"Visual check (目視確認)", "目視確認"}
	txtPINShort    = text{"PIN", "暗証番号"}
	txtVisualShort = text{"目視確認", "目視確認"}
	txtMaker       = text{"Maker", "メーカー"}
	txtModel       = text{"Model", "機種"}
	txtOS          = text{"OS", "OS"}
	txtMaxTx       = text{"Max transceive (bytes)", "最大送受信長（バイト）"}
	txtExtended    = text{"Extended APDU", "拡張長 APDU"}
	txtTapPIN      = text{"Tap time PIN (ms)", "かざす時間 暗証番号（ms）"}
	txtTapVisual   = text{"Tap time 目視確認 (ms)", "かざす時間 目視確認（ms）"}
	txtReason      = text{"Failing step, reason and remedy (×)", "失敗した手順・理由・対処（×）"}
	txtSource      = text{"Source", "出典"}
	txtPhoto       = text{"Photo", "顔写真"}
	txtYes         = text{"yes", "あり"}
	txtNo          = text{"no", "なし"}
	txtUnknown     = text{"unknown", "不明"}
	txtRemedy      = text{"Remedy", "対処"}
	txtNoReason    = text{"failed (no reason recorded)", "失敗（理由の記録なし）"}
	txtCatalogue   = text{"Device catalogue", "端末カタログ"}
	txtStarted     = text{"Run started", "実行開始"}
	txtDevices     = text{"Devices", "端末数"}
	txtBoth        = text{"Both", "両方"}
	txtNeither     = text{"Neither", "どちらも不可"}
	txtSynthetic   = text{"synthetic (edge case)", "合成（境界条件）"}
	txtLegend      = text{
		"◯ supported (every spec of the mode passed) · × not supported, with the failing step, the reason and a remedy · max transceive: the longest command APDU in bytes the device states · extended: extended-length APDUs (Lc/Le of 2-3 bytes) · measured: the envelope the TRN specs measured with the card — the longest command and response (status word included) that went through, whether a 262-byte command and an Le of 257 did, and the first length that did not, with the spec that found it and the cause · pass rate: of the runs of a -repeat run, those in which the mode passed · tap time: the predicted time in milliseconds the card must stay on the handset for the mode's card steps, given for supported modes only.",
		"◯ 対応（そのモードのテストがすべて合格）・× 非対応（失敗した手順・理由・対処を記載）・最大送受信長：端末が示すコマンド APDU の最大バイト数・拡張長：Lc/Le が 2〜3 バイトの拡張長 APDU・実測：TRN テストがカードで測定した送受信範囲（通った最長のコマンドと応答（ステータスワードを含む）、262 バイトのコマンドと Le 257 が通ったか、最初に通らなかった長さとそれを見つけたテスト・原因）・合格率：-repeat で繰り返した実行のうち、そのモードが合格した回数・かざす時間：そのモードのカード操作のあいだカードを端末に当てておく必要がある予測時間（ミリ秒、対応モードのみ）。",
	}
	txtEmulatorBanner = text{
		"These verdicts are predictions, not measurements: each row runs the suite on a virtual handset with the capabilities its profile states (max transceive, extended APDUs, response cap, timeout, link speed) and a virtual My Number card. A real handset conforms as predicted only if it has those capabilities; the source of each profile is linked.",
		"この一覧の判定は実機の測定ではなく予測です。各行は、プロファイルに記載された能力（最大送受信長、拡張長 APDU、応答長の上限、タイムアウト、通信速度）を持つ仮想端末と仮想マイナンバーカードでテストを実行した結果です。実機がその能力を持つ場合にのみ、予測どおりに動作します。各プロファイルの出典にリンクしています。",
	}
	txtPCSCBanner = text{
		"These verdicts are measured through PC/SC (pcscd): the reader, the card's ATR and the card are named in each row.",
		"この一覧の判定は PC/SC（pcscd）経由で測定した結果です。各行にリーダー名、カードの ATR、使用したカードを記載しています。",
	}
	txtResponses   = text{"responses", "応答"}
	txtSummary     = text{"Summary", "集計"}
	txtReaderLabel = text{"reader", "リーダー"}
	txtCardLabel   = text{"card", "カード"}

	txtEnvCommandCol  = text{"Longest command, measured (bytes)", "実測 最長コマンド（バイト）"}
	txtEnvResponseCol = text{"Longest response, measured (bytes)", "実測 最長応答（バイト）"}
	txtEnvExtendedCol = text{"Extended, measured", "実測 拡張長"}
	txtEnvFailureCol  = text{"First length that failed (spec, cause)", "最初に失敗した長さ（仕様、原因）"}
	txtEnvelope       = text{"Envelope, measured", "実測の送受信範囲"}
	txtEnvShortCol    = text{"Envelope cmd/resp (bytes)", "実測 コマンド/応答（バイト）"}
	txtEnvCommand     = text{"command", "コマンド"}
	txtEnvResponse    = text{"response", "応答"}
	txtNotReached     = text{"card not reached", "カードに届かず"}
	txtNone           = text{"none", "なし"}
	txtExt            = text{"ext", "拡張長"}
	txtShortOnly      = text{"short", "短長のみ"}
	txtRuns           = text{"Runs of each device's path (-repeat)", "端末ごとの実行回数（-repeat）"}
	txtPassRatePIN    = text{"Pass rate PIN", "合格率 暗証番号"}
	txtPassRateVisual = text{"Pass rate 目視確認", "合格率 目視確認"}
)

// stepsJA names the app's steps in Japanese (conformance checks that every step has one).
var stepsJA = map[string]string{
	"read auth certificate":           "利用者証明用電子証明書の読み出し",
	"VERIFY auth PIN":                 "暗証番号の照合（VERIFY）",
	"sign challenge (auth key)":       "チャレンジへの署名（利用者証明用鍵）",
	"terminal certificate (80 A2)":    "端末証明書の送信（80 A2）",
	"VERIFY 照合番号B":                    "照合番号B の照合（VERIFY）",
	"read card face (EF 0002)":        "券面事項の読み出し（EF 0002）",
	"read face certificate (EF 0004)": "券面事項の証明書の読み出し（EF 0004）",
	"check face-record signature":     "券面事項の署名検証",
	"card-presence signature":         "カード実在確認の署名",
	"staff face confirmation":         "職員による顔写真の確認",
	"register consent":                "同意の登録",
	"activation (first login)":        "アクティベーション（初回ログイン）",
	"login":                           "ログイン",
	"get challenge":                   "チャレンジの取得",
	"資格確認結果検索":                        "資格確認結果検索",
	"connect to card":                 "カードへの接続",
	"check auth certificate":          "利用者証明用電子証明書の検証",
	"terminal set-up":                 "資格確認端末での設定",
}

// StepJA reports whether step has a Japanese name.
func StepJA(step string) bool { _, ok := stepsJA[step]; return ok }

// failedStep renders "VIS-001 terminal certificate (80 A2)" in lang: the spec ID stays, the
// step is translated where it has a Japanese name.
func failedStep(lang, s string) string {
	if lang != LangJA {
		return s
	}
	id, step, ok := strings.Cut(s, " ")
	if !ok {
		return s
	}
	if ja, ok := stepsJA[step]; ok {
		return id + " " + ja
	}
	return s
}
