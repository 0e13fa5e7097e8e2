package iso7816

import "fmt"

// StatusWord is SW1 SW2 of a response APDU (ISO/IEC 7816-4 5.6). It is an error, so a status
// word travels up a call chain as itself and errors.Is(err, iso7816.SWSecurityStatus) matches it;
// its meaning comes from the one table below, in English and Japanese.
type StatusWord uint16

// Status words of ISO/IEC 7816-4 and the ones the My Number card answers (its card-specific words
// 66F1 and 69FC included; see docs/card.md).
const (
	SWOK                   StatusWord = 0x9000
	SWEndOfFile            StatusWord = 0x6282 // end of file before Ne bytes; a reader of real cards accepts it as success
	SWVerifyFailed         StatusWord = 0x6300 // verification failed, no counter given
	SWWrongSecret          StatusWord = 0x63C0 // 63Cx: wrong reference data, x tries left (WrongSecret); a target matching every 63Cx
	SWMemoryFailure        StatusWord = 0x6581
	SWNoSecurityEnv        StatusWord = 0x66F1 // card-specific: the security environment has nothing for this command
	SWWrongLength          StatusWord = 0x6700
	SWChannelNotSupported  StatusWord = 0x6881
	SWSMNotSupported       StatusWord = 0x6882
	SWLastCommandExpected  StatusWord = 0x6883
	SWChainingNotSupported StatusWord = 0x6884
	SWFileStructure        StatusWord = 0x6981 // command incompatible with the file structure (an internal key or PIN EF)
	SWSecurityStatus       StatusWord = 0x6982
	SWAuthMethodBlocked    StatusWord = 0x6983
	SWBlocked              StatusWord = 0x6984 // reference data not usable: the key is blocked (or was never set)
	SWConditions           StatusWord = 0x6985
	SWNoCurrentEF          StatusWord = 0x6986
	SWSMObjectsMissing     StatusWord = 0x6987
	SWSMObjectsIncorrect   StatusWord = 0x6988
	SWSMNoSession          StatusWord = 0x69FC // card-specific: secure messaging without a session key
	SWWrongData            StatusWord = 0x6A80
	SWFuncNotSupported     StatusWord = 0x6A81
	SWFileNotFound         StatusWord = 0x6A82
	SWRecordNotFound       StatusWord = 0x6A83
	SWWrongP1P2            StatusWord = 0x6A86
	SWDataNotFound         StatusWord = 0x6A88
	SWWrongOffset          StatusWord = 0x6B00
	SWINSNotSupported      StatusWord = 0x6D00
	SWCLANotSupported      StatusWord = 0x6E00
	SWNoPreciseDiagnosis   StatusWord = 0x6F00 // also: RSA input not below the modulus, on this card
	// SWMoreData (61xx) and SWWrongLe (6Cxx) are families: the low byte is a length.
	SWMoreData StatusWord = 0x6100
	SWWrongLe  StatusWord = 0x6C00
)

// WrongSecret is 63Cx: a failed VERIFY with tries (0..15) left.
func WrongSecret(tries int) StatusWord { return SWWrongSecret | StatusWord(min(max(tries, 0), 15)) }

// SW1 and SW2 are the two bytes.
func (s StatusWord) SW1() byte { return byte(s >> 8) }
func (s StatusWord) SW2() byte { return byte(s) }

// OK reports 9000.
func (s StatusWord) OK() bool { return s == SWOK }

// Retries is x of 63Cx (tries left after a failed VERIFY, or the counter a query reports).
func (s StatusWord) Retries() (int, bool) {
	if s&0xFFF0 == SWWrongSecret {
		return int(s & 0x0F), true
	}
	return 0, false
}

// String is the four hex digits.
func (s StatusWord) String() string { return fmt.Sprintf("%04X", uint16(s)) }

// Error is the status word and its meaning: "6982 security status not satisfied".
func (s StatusWord) Error() string { return s.String() + " " + s.Meaning() }

// Is matches the same status word, and two groupings callers rely on: the target SWWrongSecret
// (63C0) matches every 63Cx, and the target SWBlocked (6984) also matches 63C0 (the try that
// exhausts the counter) and 6983.
func (s StatusWord) Is(target error) bool {
	t, ok := target.(StatusWord)
	switch {
	case !ok:
		return false
	case t == s:
		return true
	case t == SWWrongSecret:
		return s&0xFFF0 == SWWrongSecret
	case t == SWBlocked:
		return s == SWWrongSecret || s == SWAuthMethodBlocked
	}
	return false
}

type meaning struct{ en, ja string }

// meanings is the one table of status-word meanings (ISO/IEC 7816-4 5.6 tables 5 and 6; the
// card-specific 66F1 and 69FC as the card uses them).
var meanings = map[StatusWord]meaning{
	SWOK:                   {"normal processing", "正常終了"},
	SWEndOfFile:            {"end of file reached before Ne bytes", "指定長の前にファイルの終わりに達した"},
	0x6281:                 {"part of the returned data may be corrupted", "応答データの一部が壊れている可能性"},
	0x6283:                 {"selected file deactivated", "選択したファイルは無効化されている"},
	SWVerifyFailed:         {"verification failed", "照合に失敗した"},
	SWMemoryFailure:        {"memory failure", "メモリ障害"},
	SWNoSecurityEnv:        {"no security environment for this command", "このコマンドのセキュリティ環境がない"},
	SWWrongLength:          {"wrong length (Lc or Le)", "長さ（Lc/Le）が不正"},
	SWChannelNotSupported:  {"logical channel not supported", "論理チャネルは使えない"},
	SWSMNotSupported:       {"secure messaging not supported", "セキュアメッセージングは使えない"},
	SWLastCommandExpected:  {"last command of the chain expected", "チェインの最後のコマンドが必要"},
	SWChainingNotSupported: {"command chaining not supported", "コマンドチェイニングは使えない"},
	SWFileStructure:        {"command incompatible with the file structure", "ファイル構造と合わないコマンド"},
	SWSecurityStatus:       {"security status not satisfied", "セキュリティステータスが満たされていない"},
	SWAuthMethodBlocked:    {"authentication method blocked", "認証方法が閉塞している"},
	SWBlocked:              {"reference data not usable (blocked)", "参照データが使えない（閉塞）"},
	SWConditions:           {"conditions of use not satisfied", "使用条件が満たされていない"},
	SWNoCurrentEF:          {"command not allowed (no current EF)", "コマンドは許可されない（カレントEFなし）"},
	SWSMObjectsMissing:     {"expected secure-messaging data objects missing", "セキュアメッセージングのデータオブジェクトがない"},
	SWSMObjectsIncorrect:   {"incorrect secure-messaging data objects", "セキュアメッセージングのデータオブジェクトが不正"},
	SWSMNoSession:          {"secure messaging without a session key", "セッション鍵のないセキュアメッセージング"},
	SWWrongData:            {"incorrect data field", "データフィールドが不正"},
	SWFuncNotSupported:     {"function not supported", "機能はサポートされていない"},
	SWFileNotFound:         {"file or application not found", "ファイルまたはアプリケーションが見つからない"},
	SWRecordNotFound:       {"record not found", "レコードが見つからない"},
	SWWrongP1P2:            {"incorrect parameters P1-P2", "P1-P2が不正"},
	SWDataNotFound:         {"referenced data not found", "参照データが見つからない"},
	SWWrongOffset:          {"wrong parameters P1-P2 (offset outside the file)", "P1-P2が不正（ファイル範囲外のオフセット）"},
	SWINSNotSupported:      {"instruction not supported", "命令（INS）はサポートされていない"},
	SWCLANotSupported:      {"class not supported", "クラス（CLA）はサポートされていない"},
	SWNoPreciseDiagnosis:   {"no precise diagnosis", "詳細不明のエラー"},
}

func (s StatusWord) lookup() meaning {
	if m, ok := meanings[s]; ok {
		return m
	}
	n := int(s.SW2())
	switch {
	case s == SWWrongSecret:
		return meaning{"wrong reference data, no tries left: blocked", "照合不一致（残り0回）：閉塞"}
	case s&0xFFF0 == SWWrongSecret:
		x := int(s & 0x0F)
		return meaning{fmt.Sprintf("wrong reference data, %d tries left", x), fmt.Sprintf("照合不一致（残り%d回）", x)}
	case s.SW1() == 0x61:
		if n == 0 {
			n = 256
		}
		return meaning{fmt.Sprintf("%d more bytes available (GET RESPONSE)", n), fmt.Sprintf("残り%dバイト（GET RESPONSEで取得）", n)}
	case s.SW1() == 0x6C:
		if n == 0 {
			n = 256
		}
		return meaning{fmt.Sprintf("wrong Le: %d bytes available", n), fmt.Sprintf("Leが不正（%dバイトなら応答可）", n)}
	case s.SW1() == 0x62 || s.SW1() == 0x63:
		return meaning{"warning", "警告"}
	case s.SW1() >= 0x64 && s.SW1() <= 0x6F:
		return meaning{"error", "エラー"}
	}
	return meaning{"unknown status", "不明なステータス"}
}

// Meaning is the English meaning of the status word.
func (s StatusWord) Meaning() string { return s.lookup().en }

// MeaningJA is the Japanese meaning of the status word.
func (s StatusWord) MeaningJA() string { return s.lookup().ja }
