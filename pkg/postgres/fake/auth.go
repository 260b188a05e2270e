package fake

import (
	"context"
	"fmt"

	"github.com/lib/pq"

	"postgres-operator.dev/postgres-operator/pkg/postgres"
)

// authenticate mimics the server's password check, for tests that give a
// role a password: a login as that role with another password fails the
// way a real server refuses one (SQLSTATE 28P01, postgres.IsAuthFailed).
// Roles without a password, and servers without the role, let anyone in,
// so tests that do not care about passwords need not set any.
func (s *Server) authenticate(method string, ep postgres.Endpoint) error {
	user := ep.User
	if user == "" {
		user = "postgres"
	}
	r, ok := s.Roles[user]
	if !ok || r.Password == "" || r.Password == ep.Password {
		return nil
	}
	return &postgres.Error{Op: method, Addr: ep.Address(), Err: &pq.Error{
		Severity: "FATAL", Code: "28P01",
		Message: fmt.Sprintf("password authentication failed for user %q", user),
	}}
}

// RoleHasPassword compares the fake role's plaintext password.
func (f *Fake) RoleHasPassword(ctx context.Context, ep postgres.Endpoint, role, password string) (bool, error) {
	var match bool
	err := f.do(ctx, "RoleHasPassword", ep, []string{role}, func(s *Server) error {
		r, ok := s.Roles[role]
		match = ok && r.Password == password
		return nil
	})
	return match, err
}
