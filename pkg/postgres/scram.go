package postgres

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strconv"
)

// scramIterations is PostgreSQL's default (scram_iterations in 16+).
const scramIterations = 4096

// errPasswordNotASCII: see scramVerifier.
var errPasswordNotASCII = errors.New("password must be non-empty ASCII")

// scramVerifier computes the SCRAM-SHA-256 verifier PostgreSQL stores in
// pg_authid, in its format:
//
//	SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>
//
// PostgreSQL and libpq run the password through SASLprep first, which is the
// identity for ASCII but needs Unicode normalization otherwise. Rather than
// risk a verifier that clients cannot match, non-ASCII passwords are refused;
// the operator generates its own passwords from ASCII.
func scramVerifier(password string) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	return scramVerifierWith(password, salt, scramIterations)
}

func scramVerifierWith(password string, salt []byte, iterations int) (string, error) {
	if !isASCII(password) || password == "" {
		return "", errPasswordNotASCII
	}
	salted, err := pbkdf2.Key(sha256.New, password, salt, iterations, sha256.Size)
	if err != nil {
		return "", err
	}
	clientKey := hmacSHA256(salted, "Client Key")
	storedKey := sha256.Sum256(clientKey)
	serverKey := hmacSHA256(salted, "Server Key")
	b64 := base64.StdEncoding.EncodeToString
	return "SCRAM-SHA-256$" + strconv.Itoa(iterations) + ":" + b64(salt) +
		"$" + b64(storedKey[:]) + ":" + b64(serverKey), nil
}

func hmacSHA256(key []byte, msg string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(msg))
	return h.Sum(nil)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
