package postgres

import (
	"errors"
	"strings"

	"github.com/lib/pq"
)

// Rejection is one setting the server refused, in the server's own words.
type Rejection struct {
	Name     string
	Value    string // what was asked for; "" for a reset
	Reset    bool   // ALTER SYSTEM RESET rather than SET
	SQLState string
	Message  string // PostgreSQL's message, with its hint when it gives one
	err      error
}

// String reads like "shared_buffers = 'banana': invalid value for parameter ...".
func (r Rejection) String() string {
	// Quoted as users write it in SQL; pq.QuoteLiteral would turn a
	// backslash into an E'' string.
	what := r.Name + " = '" + strings.ReplaceAll(r.Value, "'", "''") + "'"
	if r.Reset {
		what = "RESET " + r.Name
	}
	return what + ": " + r.Message
}

// RejectedError is what SetParameters returns when the server refused some
// settings: every other setting was written and loaded. Callers tell it
// apart with errors.As; repeating the call cannot succeed until the
// settings change, so it is not worth retrying.
type RejectedError struct {
	Rejected []Rejection
}

func (e *RejectedError) Error() string {
	parts := make([]string, len(e.Rejected))
	for i, r := range e.Rejected {
		parts[i] = r.String()
	}
	return "server refused " + strings.Join(parts, "; ")
}

// Unwrap exposes the server errors, so SQLState and pq.As still work.
func (e *RejectedError) Unwrap() []error {
	out := make([]error, 0, len(e.Rejected))
	for _, r := range e.Rejected {
		if r.err != nil {
			out = append(out, r.err)
		}
	}
	return out
}

// AsRejected returns the RejectedError inside err, or nil.
func AsRejected(err error) *RejectedError {
	var rej *RejectedError
	if errors.As(err, &rej) {
		return rej
	}
	return nil
}

// settingRefused reports whether the server refused one ALTER SYSTEM
// because of the setting itself, so the other settings can still be
// applied: a bad value or name (classes 22 and 42) or a setting that
// cannot be changed (55P02). Anything else (a lost connection, a full
// disk, a timeout) fails the whole call.
func settingRefused(err error) (*pq.Error, bool) {
	pqErr := pq.As(err)
	if pqErr == nil {
		return nil, false
	}
	code := string(pqErr.Code)
	return pqErr, strings.HasPrefix(code, "22") || strings.HasPrefix(code, "42") || code == "55P02"
}

// newRejection describes a refused statement with the server's message.
func newRejection(st alterStmt, pqErr *pq.Error) Rejection {
	msg := pqErr.Message
	if pqErr.Hint != "" {
		msg += " (" + pqErr.Hint + ")"
	}
	return Rejection{Name: st.name, Value: st.value, Reset: st.reset, SQLState: string(pqErr.Code), Message: msg, err: pqErr}
}
