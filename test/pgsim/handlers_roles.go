package pgsim

import (
	"encoding/json"
	"strings"

	"postgres-operator.dev/postgres-operator/pkg/postgres"
)

func roleFlags(x *call) (result, error) {
	r := x.cat.roles[x.param(1)]
	if r == nil {
		return result{}, nil
	}
	return one(r.login, r.replication), nil
}

func rolePassword(x *call) (result, error) {
	r := x.cat.roles[x.param(1)]
	if r == nil {
		return result{}, nil
	}
	if r.verifier == nil {
		return one(nil), nil
	}
	return one(*r.verifier), nil
}

// roleStatement is CREATE ROLE or ALTER ROLE with its options.
type roleStatement struct {
	name    string
	options []roleOption
}

// roleOption is one option: a flag (LOGIN, NOSUPERUSER...), CONNECTION
// LIMIT n, or PASSWORD 'x' / NULL.
type roleOption struct {
	word     string
	limit    int64
	password *string
}

// parseRoleStatement reads "CREATE ROLE name [WITH] options" (verb
// "create") or "ALTER ROLE name [WITH] options" ("alter").
func parseRoleStatement(verb string) func(c *cursor) (roleStatement, bool) {
	return func(c *cursor) (roleStatement, bool) {
		var st roleStatement
		if !c.word(verb, "role") {
			return st, false
		}
		name, ok := c.name()
		if !ok {
			return st, false
		}
		st.name = name
		c.word("with")
		for !c.done() {
			o, ok := parseRoleOption(c)
			if !ok {
				return st, false
			}
			st.options = append(st.options, o)
		}
		return st, true
	}
}

var roleFlagWords = map[string]bool{
	"superuser": true, "login": true, "replication": true, "bypassrls": true,
	"createdb": true, "createrole": true, "inherit": true,
}

func parseRoleOption(c *cursor) (roleOption, bool) {
	switch {
	case c.word("connection", "limit"):
		n, ok := c.int()
		return roleOption{word: "connection limit", limit: n}, ok
	case c.word("password"), c.word("encrypted", "password"):
		if c.word("null") {
			return roleOption{word: "password"}, true
		}
		p, ok := c.str()
		return roleOption{word: "password", password: &p}, ok
	}
	t := c.peek()
	w := strings.TrimPrefix(t.text, "no")
	if t.kind != tokWord || !roleFlagWords[w] {
		return roleOption{}, false
	}
	c.i++
	return roleOption{word: t.text}, true
}

// apply sets the options on r. A password that is not already a verifier
// is stored as the server would, as a SCRAM verifier of it.
func (o roleOption) apply(r *role) error {
	switch o.word {
	case "connection limit":
		r.connLimit = o.limit
	case "password":
		if o.password == nil || isVerifier(*o.password) {
			r.verifier = o.password
			return nil
		}
		v, err := postgres.SCRAMVerifier(*o.password)
		if err != nil {
			return sqlError(codeInvalidParameterValue, "password: %v", err)
		}
		r.verifier = &v
	default:
		on := !strings.HasPrefix(o.word, "no")
		*roleFlag(r, strings.TrimPrefix(o.word, "no")) = on
	}
	return nil
}

func isVerifier(p string) bool {
	return strings.HasPrefix(p, "SCRAM-SHA-256$") || (strings.HasPrefix(p, "md5") && len(p) == 35)
}

func roleFlag(r *role, word string) *bool {
	switch word {
	case "superuser":
		return &r.superuser
	case "login":
		return &r.login
	case "replication":
		return &r.replication
	case "bypassrls":
		return &r.bypassRLS
	case "createdb":
		return &r.createDB
	case "createrole":
		return &r.createRole
	}
	return &r.inherit
}

func createRole(x *call) (result, error) {
	st := x.args.(roleStatement)
	if x.cat.roles[st.name] != nil {
		return result{}, sqlError(codeDuplicateObject, "role %q already exists", st.name)
	}
	r := &role{name: st.name, inherit: true, connLimit: -1}
	if err := applyOptions(r, st.options); err != nil {
		return result{}, err
	}
	x.cat.roles[st.name] = r
	return command("CREATE ROLE"), nil
}

func alterRole(x *call) (result, error) {
	st := x.args.(roleStatement)
	r := x.cat.roles[st.name]
	if r == nil {
		return result{}, sqlError(codeUndefinedObject, "role %q does not exist", st.name)
	}
	if err := applyOptions(r, st.options); err != nil {
		return result{}, err
	}
	return command("ALTER ROLE"), nil
}

func applyOptions(r *role, options []roleOption) error {
	for _, o := range options {
		if err := o.apply(r); err != nil {
			return err
		}
	}
	return nil
}

var roleColumns = []column{
	col("rolcanlogin", oidBool), col("rolcreatedb", oidBool), col("rolcreaterole", oidBool),
	col("rolconnlimit", oidInt4), col("rolsuper", oidBool), col("rolreplication", oidBool),
	col("rolbypassrls", oidBool), col("coalesce", oidJSON), col("current_setting", oidInt4),
}

// roleRow: the role's attributes and memberships (with their grantors).
func roleRow(x *call) (result, error) {
	r := x.cat.roles[x.param(1)]
	if r == nil {
		return result{}, nil
	}
	type membership struct {
		Role    string `json:"role"`
		Grantor string `json:"grantor"`
	}
	members := []membership{}
	for _, g := range x.cat.groupsOf(r.name) {
		members = append(members, membership{Role: g.group, Grantor: g.grantor})
	}
	js, _ := json.Marshal(members)
	return one(r.login, r.createDB, r.createRole, r.connLimit, r.superuser, r.replication, r.bypassRLS,
		string(js), x.s.srv.versionNum), nil
}

// membershipArgs is GRANT group TO member, or REVOKE group FROM member
// [GRANTED BY grantor].
type membershipArgs struct {
	group, member, grantor string
}

func parseGrant(c *cursor) (membershipArgs, bool) {
	var a membershipArgs
	var ok bool
	if !c.word("grant") {
		return a, false
	}
	if a.group, ok = c.name(); !ok || !c.word("to") {
		return a, false
	}
	a.member, ok = c.name()
	return a, ok
}

func parseRevoke(c *cursor) (membershipArgs, bool) {
	var a membershipArgs
	var ok bool
	if !c.word("revoke") {
		return a, false
	}
	if a.group, ok = c.name(); !ok || !c.word("from") {
		return a, false
	}
	if a.member, ok = c.name(); !ok {
		return a, false
	}
	if c.word("granted", "by") {
		a.grantor, ok = c.name()
	}
	return a, ok
}

func grantRole(x *call) (result, error) {
	a := x.args.(membershipArgs)
	for _, n := range []string{a.group, a.member} {
		if x.cat.roles[n] == nil {
			return result{}, sqlError(codeUndefinedObject, "role %q does not exist", n)
		}
	}
	for _, g := range x.cat.groupsOf(a.member) {
		if g.group == a.group {
			return command("GRANT ROLE"), nil // NOTICE: already a member
		}
	}
	x.cat.grants = append(x.cat.grants, grant{group: a.group, member: a.member, grantor: x.s.user})
	return command("GRANT ROLE"), nil
}

func revokeRole(x *call) (result, error) {
	a := x.args.(membershipArgs)
	kept := x.cat.grants[:0]
	for _, g := range x.cat.grants {
		if g.group == a.group && g.member == a.member && (a.grantor == "" || g.grantor == a.grantor) {
			continue
		}
		kept = append(kept, g)
	}
	x.cat.grants = kept
	return command("REVOKE ROLE"), nil
}

func roleExists(x *call) (result, error) { return one(x.cat.roles[x.param(1)] != nil), nil }

var dependencyColumns = []column{col("count", oidInt8), col("owned_in", oidTextArray), col("privileges_in", oidTextArray)}

// roleDependencies: the databases the role owns are its only owned
// objects (shared, so their database is ""); privileges are not simulated.
func roleDependencies(x *call) (result, error) {
	owned := x.cat.ownedDatabases(x.param(1))
	in := []string{}
	if owned > 0 {
		in = []string{""}
	}
	return one(int64(owned), in, []string{}), nil
}

// nameArgs is a statement's one name.
type nameArgs struct{ name string }

func parseDropOwned(c *cursor) (nameArgs, bool) {
	if !c.word("drop", "owned", "by") {
		return nameArgs{}, false
	}
	n, ok := c.name()
	return nameArgs{n}, ok
}

func parseDropRole(c *cursor) (nameArgs, bool) {
	if !c.word("drop", "role", "if", "exists") {
		return nameArgs{}, false
	}
	n, ok := c.name()
	return nameArgs{n}, ok
}

func dropRole(x *call) (result, error) {
	name := x.args.(nameArgs).name
	if x.cat.roles[name] == nil {
		return command("DROP ROLE"), nil // NOTICE: does not exist, skipping
	}
	if x.cat.ownedDatabases(name) > 0 {
		return result{}, sqlError(codeDependentObjects, "role %q cannot be dropped because some objects depend on it", name)
	}
	x.cat.dropRole(name)
	return command("DROP ROLE"), nil
}
