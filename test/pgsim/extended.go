package pgsim

// The extended protocol, as lib/pq uses it for every statement with
// arguments: Parse + Describe(statement) + Sync, then Bind + Execute +
// Sync. Statements are matched at Parse, since Describe must already
// tell the parameters and the columns.

// portal is a bound statement.
type portal struct {
	stmt    *prepared
	params  []*string
	formats []int // result format codes
}

// failExtended reports err and discards messages until Sync.
func (s *session) failExtended(err error) {
	s.reportError(err)
	s.skipToSync = true
}

func (s *session) parse(body []byte) {
	r := &reader{b: body}
	name, text := r.cstring(), r.cstring()
	declared := r.int16()
	if r.err != nil {
		s.failExtended(sqlError(codeProtocolViolation, "malformed Parse message"))
		return
	}
	p, err := s.prepare(text)
	if err != nil {
		s.failExtended(err)
		return
	}
	p.nparams = max(p.nparams, declared)
	s.statements[name] = p
	s.w.empty('1') // ParseComplete
}

func (s *session) bind(body []byte) {
	r := &reader{b: body}
	portalName, stmtName := r.cstring(), r.cstring()
	paramFormats := readInt16s(r)
	params := readParams(r)
	formats := readInt16s(r)
	p := s.statements[stmtName]
	switch {
	case r.err != nil:
		s.failExtended(sqlError(codeProtocolViolation, "malformed Bind message"))
		return
	case p == nil:
		s.failExtended(sqlError("26000", "prepared statement %q does not exist", stmtName))
		return
	case len(params) != p.nparams:
		s.failExtended(sqlError(codeProtocolViolation, "bind message supplies %d parameters, but prepared statement requires %d", len(params), p.nparams))
		return
	case anyBinary(paramFormats):
		s.failExtended(sqlError(codeFeatureNotSupported, "pgsim takes parameters in text format only"))
		return
	}
	s.portals[portalName] = &portal{stmt: p, params: params, formats: formats}
	s.w.empty('2') // BindComplete
}

func readInt16s(r *reader) []int {
	n := r.int16()
	out := make([]int, 0, max(n, 0))
	for range n {
		out = append(out, r.int16())
	}
	return out
}

func readParams(r *reader) []*string {
	n := r.int16()
	out := make([]*string, 0, max(n, 0))
	for range n {
		size := r.int32()
		if size < 0 {
			out = append(out, nil)
			continue
		}
		v := string(r.take(size))
		out = append(out, &v)
	}
	return out
}

func anyBinary(formats []int) bool {
	for _, f := range formats {
		if f != 0 {
			return true
		}
	}
	return false
}

func (s *session) describe(body []byte) {
	r := &reader{b: body}
	kind, name := r.byte1(), r.cstring()
	switch kind {
	case 'S':
		p := s.statements[name]
		if p == nil {
			s.failExtended(sqlError("26000", "prepared statement %q does not exist", name))
			return
		}
		s.w.begin('t') // ParameterDescription: every parameter is text
		s.w.int16(p.nparams)
		for range p.nparams {
			s.w.int32(oidText)
		}
		s.w.end()
		s.describeColumns(p.columns(), nil)
	case 'P':
		pt := s.portals[name]
		if pt == nil {
			s.failExtended(sqlError("34000", "portal %q does not exist", name))
			return
		}
		s.describeColumns(pt.stmt.columns(), pt.formats)
	default:
		s.failExtended(sqlError(codeProtocolViolation, "invalid Describe message"))
	}
}

func (s *session) describeColumns(cols []column, formats []int) {
	if len(cols) == 0 {
		s.w.empty('n') // NoData
		return
	}
	s.w.writeRowDescription(cols, formats)
}

func (s *session) execute(body []byte) {
	r := &reader{b: body}
	name := r.cstring()
	pt := s.portals[name]
	if pt == nil {
		s.failExtended(sqlError("34000", "portal %q does not exist", name))
		return
	}
	res, err := s.run(pt.stmt, pt.params, false)
	if err == nil {
		err = s.writeResult(res, pt.formats, false)
	}
	if err != nil {
		s.failExtended(err)
	}
}

func (s *session) closeStatement(body []byte) {
	r := &reader{b: body}
	kind, name := r.byte1(), r.cstring()
	if kind == 'S' {
		delete(s.statements, name)
	} else {
		delete(s.portals, name)
	}
	s.w.empty('3') // CloseComplete
}
