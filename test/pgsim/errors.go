package pgsim

import "fmt"

// pgError is an error as PostgreSQL reports it: a SQLSTATE the operator's
// client may act on (pkg/postgres/errors.go) and a message.
type pgError struct {
	severity string // "ERROR" or "FATAL"
	code     string
	msg      string
}

func (e *pgError) Error() string { return e.code + ": " + e.msg }

func sqlError(code, format string, args ...any) *pgError {
	return &pgError{severity: "ERROR", code: code, msg: fmt.Sprintf(format, args...)}
}

// SQLSTATEs the simulator raises, named as in PostgreSQL's errcodes.txt.
const (
	codeFeatureNotSupported   = "0A000" // an unknown query: see queries.go
	codeSyntaxError           = "42601"
	codeUndefinedObject       = "42704"
	codeDuplicateObject       = "42710"
	codeDuplicateDatabase     = "42P04"
	codeInvalidCatalogName    = "3D000"
	codeDependentObjects      = "2BP01"
	codeObjectInUse           = "55006"
	codeNotInPrereqState      = "55000"
	codeActiveSQLTransaction  = "25001"
	codeReadOnlyTransaction   = "25006"
	codeInFailedTransaction   = "25P02"
	codeProtocolViolation     = "08P01"
	codeInvalidParameterValue = "22023"
)

// writeError writes an ErrorResponse.
func (w *writer) writeError(e *pgError) {
	w.begin('E')
	for _, f := range []struct {
		k byte
		v string
	}{{'S', e.severity}, {'V', e.severity}, {'C', e.code}, {'M', e.msg}} {
		w.buf = append(w.buf, f.k)
		w.cstring(f.v)
	}
	w.buf = append(w.buf, 0)
	w.end()
}

// asPgError turns any handler error into what the client is told.
func asPgError(err error) *pgError {
	if e, ok := err.(*pgError); ok {
		return e
	}
	return sqlError("XX000", "pgsim: %v", err)
}
