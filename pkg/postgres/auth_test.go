package postgres

import (
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"github.com/lib/pq"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSCRAMMatches(t *testing.T) {
	mine, err := scramVerifier("s3cret")
	require.NoError(t, err)
	salt, _ := base64.StdEncoding.DecodeString("W22ZaJ0SNY7soEsUEjb6gQ==")
	fewer, err := scramVerifierWith("s3cret", salt, 10)
	require.NoError(t, err)
	tampered := mine[:len(mine)-4] + "AAA="

	tests := []struct {
		name, verifier, password string
		want                     bool
	}{
		{"same password", mine, "s3cret", true},
		{"its own iteration count", fewer, "s3cret", true},
		{"other password", mine, "s3cret2", false},
		{"tampered server key", tampered, "s3cret", false},
		{"md5 is never a match", "md5" + strings.Repeat("0", 32), "s3cret", false},
		{"plaintext is never a match", "s3cret", "s3cret", false},
		{"empty", "", "", false},
		{"bad salt", "SCRAM-SHA-256$4096:!!$a:b", "s3cret", false},
		{"absurd iteration count", "SCRAM-SHA-256$999999999:W22ZaJ0SNY7soEsUEjb6gQ==$a:b", "s3cret", false},
		{"no keys", "SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==", "s3cret", false},
		{"non-ASCII password", mine, "pässword", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, scramMatches(tt.verifier, tt.password))
		})
	}
}

func TestIsAuthFailed(t *testing.T) {
	refused := &Error{Op: "probe", Addr: "h:5432", Err: &pq.Error{Code: "28P01"}}
	assert.True(t, IsAuthFailed(refused))
	assert.True(t, IsAuthFailed(fmt.Errorf("wrapped: %w", refused)))
	assert.False(t, IsAuthFailed(&Error{Op: "probe", Err: &pq.Error{Code: "42501"}}))
	assert.False(t, IsAuthFailed(&Error{Op: "probe", Unreachable: true, Err: fmt.Errorf("refused")}))
	assert.False(t, IsAuthFailed(nil))
}
