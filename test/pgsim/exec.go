package pgsim

// prepared is a statement matched to its handler (queries.go).
type prepared struct {
	text    string
	entry   *entry
	args    any // what the entry's matcher parsed out of the statement
	nparams int
}

func (p *prepared) columns() []column { return p.entry.columns(p.args) }

// matched is what lookup found for a statement text, outside and inside
// a transaction block.
type matched struct {
	norm           string
	entry, inTx    *entry
	args, argsInTx any
}

// matchText matches a statement text (memoized in Server.matches: the
// entries' matchers are pure, and what they parse is never modified).
func matchText(text string) matched {
	m := matched{norm: normalize(stripComments(text))}
	m.entry, m.args = lookup(m.norm, false)
	m.inTx, m.argsInTx = lookup(m.norm, true)
	return m
}

// prepare finds the handler for one statement. A statement nobody
// answers is counted and refused with 0A000 and its beginning.
func (s *session) prepare(text string) (*prepared, error) {
	m := s.srv.matches.get(text, matchText)
	e, args, norm := m.entry, m.args, m.norm
	if s.tx != nil {
		e, args = m.inTx, m.argsInTx
	}
	if e == nil {
		s.srv.drift.unknownQuery(norm)
		return nil, sqlError(codeFeatureNotSupported, "pgsim does not simulate this query: %s", firstChars(norm, 60))
	}
	if e == &scriptStatement {
		s.srv.drift.scriptStatement()
	}
	return &prepared{text: text, entry: e, args: args, nparams: paramCount(text)}, nil
}

// run executes a prepared statement with its parameters (nil is NULL).
// inBlock: it is one of several statements of a simple query, which form
// one implicit transaction block.
func (s *session) run(p *prepared, params []*string, inBlock bool) (result, error) {
	e := p.entry
	switch {
	case s.tx != nil && s.tx.failed && !e.endsTransaction:
		return result{}, sqlError(codeInFailedTransaction, "current transaction is aborted, commands ignored until end of transaction block")
	case e.noTxBlock && (s.tx != nil || inBlock):
		return result{}, sqlError(codeActiveSQLTransaction, "%s cannot run inside a transaction block", e.what)
	case e.write && s.tx != nil && s.tx.readOnly:
		return result{}, sqlError(codeReadOnlyTransaction, "cannot execute %s in a read-only transaction", e.what)
	}
	s.srv.statements.Add(1)
	return s.runLocked(p, params)
}

// runLocked runs the handler under the member's lock. Outside a
// transaction block a write works on a copy of the catalog that replaces
// the member's only when it succeeds, so a failed statement changes
// nothing, as in PostgreSQL.
func (s *session) runLocked(p *prepared, params []*string) (result, error) {
	m := s.member
	m.mu.Lock()
	defer m.mu.Unlock()
	x := &call{s: s, m: m, args: p.args, params: params, cat: m.cat}
	switch {
	case s.tx != nil:
		x.cat = s.tx.cat
	case p.entry.write:
		x.cat = m.cat.clone()
	}
	res, err := p.entry.run(x)
	if err != nil {
		return result{}, err
	}
	if p.entry.write {
		m.wrote()
		if s.tx == nil {
			m.cat = x.cat
		}
	}
	if len(res.cols) == 0 {
		res.cols = p.columns()
	}
	return res, nil
}

// call is what a handler gets: the session, its member (locked), the
// catalog it reads and writes, and the statement's arguments.
type call struct {
	s      *session
	m      *member
	cat    *catalog
	args   any
	params []*string
}

// param is $n (1-based) as text; NULL reads as "".
func (x *call) param(n int) string {
	if n < 1 || n > len(x.params) || x.params[n-1] == nil {
		return ""
	}
	return *x.params[n-1]
}
