package pgsim

// simpleQuery runs a Query message: each statement of the string in turn,
// stopping at the first error, then one ReadyForQuery.
func (s *session) simpleQuery(q string) {
	defer s.ready()
	stmts := s.srv.splits.get(q, splitStatements)
	if len(stmts) == 0 {
		s.w.empty('I') // EmptyQueryResponse
		return
	}
	for _, text := range stmts {
		if err := s.simpleStatement(text, len(stmts) > 1); err != nil {
			s.reportError(err)
			return
		}
	}
}

func (s *session) simpleStatement(text string, inBlock bool) error {
	p, err := s.prepare(text)
	if err != nil {
		return err
	}
	res, err := s.run(p, nil, inBlock)
	if err != nil {
		return err
	}
	return s.writeResult(res, nil, true)
}

// writeResult sends a statement's rows (with their description when
// describe) and its CommandComplete.
func (s *session) writeResult(res result, formats []int, describe bool) error {
	if describe && len(res.cols) > 0 {
		s.w.writeRowDescription(res.cols, formats)
	}
	mark := len(s.w.buf)
	for _, row := range res.rows {
		if err := s.w.writeDataRow(res.cols, row, formats); err != nil {
			s.w.buf = s.w.buf[:mark]
			return err
		}
	}
	s.w.begin('C')
	s.w.cstring(res.commandTag())
	s.w.end()
	return nil
}
