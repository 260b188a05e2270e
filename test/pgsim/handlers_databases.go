package pgsim

import (
	"encoding/json"
	"slices"
)

// readCatalog answers ReadCatalog's two JSON arrays, shaped as the
// statement's json_build_object calls shape them.
func readCatalog(x *call) (result, error) {
	roleNames, err := arrayParam(x, 1)
	if err != nil {
		return result{}, err
	}
	dbNames, err := arrayParam(x, 2)
	if err != nil {
		return result{}, err
	}
	roles, dbs := catalogRoles(x.cat, roleNames), catalogDatabases(x.cat, dbNames)
	rolesJSON, _ := json.Marshal(roles)
	dbsJSON, _ := json.Marshal(dbs)
	return one(string(rolesJSON), string(dbsJSON)), nil
}

// arrayParam reads $n as a text[] literal; NULL is an empty array (which
// `= ANY(NULL)` matches nothing of, just the same).
func arrayParam(x *call, n int) ([]string, error) {
	if n > len(x.params) || x.params[n-1] == nil {
		return nil, nil
	}
	items, err := parseTextArray(*x.params[n-1])
	if err != nil {
		return nil, sqlError("22P02", "%v", err)
	}
	return items, nil
}

type catalogRoleJSON struct {
	Name        string   `json:"name"`
	Login       bool     `json:"login"`
	CreateDB    bool     `json:"createdb"`
	CreateRole  bool     `json:"createrole"`
	ConnLimit   int64    `json:"connlimit"`
	Superuser   bool     `json:"superuser"`
	Replication bool     `json:"replication"`
	BypassRLS   bool     `json:"bypassrls"`
	Verifier    string   `json:"verifier"`
	InRoles     []string `json:"inroles"`
}

func catalogRoles(cat *catalog, names []string) []catalogRoleJSON {
	out := []catalogRoleJSON{}
	for _, name := range sortedKeys(cat.roles) {
		if !slices.Contains(names, name) {
			continue
		}
		r := cat.roles[name]
		in := []string{}
		for _, g := range cat.groupsOf(name) {
			in = append(in, g.group)
		}
		slices.Sort(in)
		out = append(out, catalogRoleJSON{Name: r.name, Login: r.login, CreateDB: r.createDB, CreateRole: r.createRole,
			ConnLimit: r.connLimit, Superuser: r.superuser, Replication: r.replication, BypassRLS: r.bypassRLS,
			Verifier: deref(r.verifier), InRoles: slices.Compact(in)})
	}
	return out
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

type catalogDatabaseJSON struct {
	Name  string `json:"name"`
	Owner string `json:"owner"`
}

func catalogDatabases(cat *catalog, names []string) []catalogDatabaseJSON {
	out := []catalogDatabaseJSON{}
	for _, name := range sortedKeys(cat.databases) {
		if slices.Contains(names, name) {
			out = append(out, catalogDatabaseJSON{Name: name, Owner: cat.databases[name].owner})
		}
	}
	return out
}

func databaseOwner(x *call) (result, error) {
	d := x.cat.databases[x.param(1)]
	if d == nil {
		return result{}, nil
	}
	return one(d.owner), nil
}

func databaseExists(x *call) (result, error) { return one(x.cat.databases[x.param(1)] != nil), nil }

// databaseArgs is CREATE DATABASE name OWNER owner, ALTER DATABASE name
// OWNER TO owner, or DROP DATABASE IF EXISTS name [WITH (FORCE)].
type databaseArgs struct {
	name, owner string
	force       bool
}

func parseCreateDatabase(c *cursor) (databaseArgs, bool) {
	var a databaseArgs
	var ok bool
	if !c.word("create", "database") {
		return a, false
	}
	if a.name, ok = c.name(); !ok || !c.word("owner") {
		return a, false
	}
	a.owner, ok = c.name()
	return a, ok
}

func parseAlterDatabaseOwner(c *cursor) (databaseArgs, bool) {
	var a databaseArgs
	var ok bool
	if !c.word("alter", "database") {
		return a, false
	}
	if a.name, ok = c.name(); !ok || !c.word("owner", "to") {
		return a, false
	}
	a.owner, ok = c.name()
	return a, ok
}

func parseDropDatabase(c *cursor) (databaseArgs, bool) {
	var a databaseArgs
	var ok bool
	if !c.word("drop", "database", "if", "exists") {
		return a, false
	}
	if a.name, ok = c.name(); !ok {
		return a, false
	}
	if c.word("with") {
		a.force = c.symbol("(") && c.word("force") && c.symbol(")")
		return a, a.force
	}
	return a, true
}

func createDatabase(x *call) (result, error) {
	a := x.args.(databaseArgs)
	switch {
	case x.cat.databases[a.name] != nil:
		return result{}, sqlError(codeDuplicateDatabase, "database %q already exists", a.name)
	case x.cat.roles[a.owner] == nil:
		return result{}, sqlError(codeUndefinedObject, "role %q does not exist", a.owner)
	}
	x.cat.databases[a.name] = &database{name: a.name, owner: a.owner, allowConn: true, extensions: []string{"plpgsql"}}
	return command("CREATE DATABASE"), nil
}

func alterDatabaseOwner(x *call) (result, error) {
	a := x.args.(databaseArgs)
	d := x.cat.databases[a.name]
	switch {
	case d == nil:
		return result{}, sqlError(codeInvalidCatalogName, "database %q does not exist", a.name)
	case x.cat.roles[a.owner] == nil:
		return result{}, sqlError(codeUndefinedObject, "role %q does not exist", a.owner)
	}
	d.owner = a.owner
	return command("ALTER DATABASE"), nil
}

func dropDatabase(x *call) (result, error) {
	a := x.args.(databaseArgs)
	if a.name == x.s.database {
		return result{}, sqlError(codeObjectInUse, "cannot drop the currently open database")
	}
	delete(x.cat.databases, a.name)
	return command("DROP DATABASE"), nil
}

func parseCreateExtension(c *cursor) (nameArgs, bool) {
	if !c.word("create", "extension", "if", "not", "exists") {
		return nameArgs{}, false
	}
	n, ok := c.name()
	return nameArgs{n}, ok
}

// createExtension records the extension in the session's database; any
// name is available.
func createExtension(x *call) (result, error) {
	d := x.cat.databases[x.s.database]
	if d == nil {
		return result{}, sqlError(codeInvalidCatalogName, "database %q does not exist", x.s.database)
	}
	if name := x.args.(nameArgs).name; !slices.Contains(d.extensions, name) {
		d.extensions = append(d.extensions, name)
	}
	return command("CREATE EXTENSION"), nil
}
