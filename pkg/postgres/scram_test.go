package postgres

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSCRAMVerifierMatchesRFC7677 checks our verifier the way a server uses
// it: the example exchange of RFC 7677 section 3 (user "user", password
// "pencil") must verify against the verifier computed from the same salt.
func TestSCRAMVerifierMatchesRFC7677(t *testing.T) {
	salt, _ := base64.StdEncoding.DecodeString("W22ZaJ0SNY7soEsUEjb6gQ==")
	v, err := scramVerifierWith("pencil", salt, 4096)
	require.NoError(t, err)

	m := strings.Split(strings.NewReplacer("$", " ", ":", " ").Replace(v), " ")
	require.Len(t, m, 5, v)
	assert.Equal(t, []string{"SCRAM-SHA-256", "4096", "W22ZaJ0SNY7soEsUEjb6gQ=="}, m[:3])
	storedKey, _ := base64.StdEncoding.DecodeString(m[3])
	serverKey, _ := base64.StdEncoding.DecodeString(m[4])

	const nonce = "rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
	authMessage := "n=user,r=rOprNGfwEbeRWgbNEkqO," +
		"r=" + nonce + ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096," +
		"c=biws,r=" + nonce
	proof, _ := base64.StdEncoding.DecodeString("dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")

	// Server side: ClientKey = proof XOR HMAC(StoredKey, AuthMessage), and
	// SHA256(ClientKey) must equal StoredKey.
	sig := hmacSHA256(storedKey, authMessage)
	clientKey := make([]byte, len(proof))
	for i := range proof {
		clientKey[i] = proof[i] ^ sig[i]
	}
	got := sha256.Sum256(clientKey)
	assert.True(t, hmac.Equal(storedKey, got[:]), "client proof does not verify against StoredKey")

	// And the server's signature must be the one the RFC shows.
	assert.Equal(t, "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
		base64.StdEncoding.EncodeToString(hmacSHA256(serverKey, authMessage)))
}

func TestSCRAMVerifierIsSaltedAndHidesPassword(t *testing.T) {
	a, err := scramVerifier("s3cret")
	require.NoError(t, err)
	b, err := scramVerifier("s3cret")
	require.NoError(t, err)
	assert.NotEqual(t, a, b, "fresh salt each time")
	assert.True(t, strings.HasPrefix(a, "SCRAM-SHA-256$4096:"))
	assert.NotContains(t, a, "s3cret")
}

func TestSCRAMVerifierRefusesWhatItCannotPrepare(t *testing.T) {
	for _, pw := range []string{"", "pässword"} {
		_, err := scramVerifier(pw)
		assert.ErrorIs(t, err, errPasswordNotASCII)
		if pw != "" {
			assert.NotContains(t, err.Error(), pw)
		}
	}
}
