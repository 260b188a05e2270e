package pgtest

// SocketDir is the directory of the server's Unix-domain socket, for
// running what a member runs over its local socket (psql -h <dir>).
func (s *Server) SocketDir() string { return s.dir }
