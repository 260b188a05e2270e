package postgres

import (
	"crypto/hmac"
	"encoding/base64"
	"strconv"
	"strings"
)

// invalidPassword is SQLSTATE 28P01, what the server answers to a login
// whose password it refuses.
const invalidPassword = "28P01"

// IsAuthFailed reports whether err is the server refusing a login's
// password. The server answered, so it is never unreachable; the caller may
// try another password it knows.
func IsAuthFailed(err error) bool { return SQLState(err) == invalidPassword }

// maxVerifierIterations bounds the work one check may cost: a verifier with
// an absurd iteration count (set by hand) is treated as not matching rather
// than burning the operator's CPU.
const maxVerifierIterations = 1 << 20

// scramMatches reports whether verifier, as stored in pg_authid, was made
// from password. It recomputes the keys with the verifier's own salt and
// iteration count and compares them in constant time. Other formats (md5,
// plaintext, empty) never match.
func scramMatches(verifier, password string) bool {
	rest, ok := strings.CutPrefix(verifier, "SCRAM-SHA-256$")
	if !ok {
		return false
	}
	params, keys, ok := strings.Cut(rest, "$")
	if !ok {
		return false
	}
	iterText, saltText, ok := strings.Cut(params, ":")
	if !ok {
		return false
	}
	iterations, err := strconv.Atoi(iterText)
	if err != nil || iterations < 1 || iterations > maxVerifierIterations {
		return false
	}
	salt, err := base64.StdEncoding.DecodeString(saltText)
	if err != nil {
		return false
	}
	want, err := scramVerifierWith(password, salt, iterations)
	if err != nil {
		return false
	}
	_, wantKeys, _ := strings.Cut(strings.TrimPrefix(want, "SCRAM-SHA-256$"), "$")
	return hmac.Equal([]byte(keys), []byte(wantKeys))
}
