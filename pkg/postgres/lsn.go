package postgres

import (
	"fmt"
	"strconv"
	"strings"
)

// LSN is a WAL position (pg_lsn). Positions compare as plain integers, and
// the difference of two is a distance in bytes.
type LSN uint64

// ParseLSN parses PostgreSQL's text form of a pg_lsn, "XXXXXXXX/XXXXXXXX":
// the high and low 32 bits in hexadecimal, e.g. "0/3000060".
func ParseLSN(s string) (LSN, error) {
	hi, lo, ok := strings.Cut(s, "/")
	if !ok {
		return 0, fmt.Errorf("invalid LSN %q: want HI/LO", s)
	}
	h, err := parseLSNHalf(hi)
	if err != nil {
		return 0, fmt.Errorf("invalid LSN %q: %w", s, err)
	}
	l, err := parseLSNHalf(lo)
	if err != nil {
		return 0, fmt.Errorf("invalid LSN %q: %w", s, err)
	}
	return LSN(h<<32 | l), nil
}

// parseLSNHalf parses 1 to 8 hex digits; ParseUint alone would also accept
// a sign, "0x" or underscores.
func parseLSNHalf(s string) (uint64, error) {
	if len(s) == 0 || len(s) > 8 || strings.TrimLeft(s, "0123456789abcdefABCDEF") != "" {
		return 0, fmt.Errorf("%q is not 1-8 hex digits", s)
	}
	return strconv.ParseUint(s, 16, 32)
}

// String formats the LSN the way PostgreSQL does, e.g. "0/3000060".
func (l LSN) String() string { return fmt.Sprintf("%X/%X", uint64(l)>>32, uint64(l)&0xFFFFFFFF) }

// MarshalText lets LSNs appear as text in JSON and YAML (e.g. in a status).
func (l LSN) MarshalText() ([]byte, error) { return []byte(l.String()), nil }

// UnmarshalText is the inverse of MarshalText.
func (l *LSN) UnmarshalText(b []byte) error {
	v, err := ParseLSN(string(b))
	if err != nil {
		return err
	}
	*l = v
	return nil
}
