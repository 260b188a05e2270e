package pgsim

import "strings"

// txMode is what BEGIN asked for.
type txMode struct{ readOnly bool }

// parseBegin reads BEGIN or START TRANSACTION with any modes, as lib/pq's
// BeginTx writes them ("BEGIN READ ONLY", "BEGIN ISOLATION LEVEL ... READ
// WRITE").
func parseBegin(c *cursor) (txMode, bool) {
	var m txMode
	if !c.word("begin") && !c.word("start", "transaction") {
		return m, false
	}
	c.word("transaction")
	for !c.done() {
		switch {
		case c.word("read", "only"):
			m.readOnly = true
		case c.word("read", "write"), c.word("isolation", "level"), c.word("read", "committed"),
			c.word("read", "uncommitted"), c.word("repeatable", "read"), c.word("serializable"),
			c.word("deferrable"), c.word("not", "deferrable"), c.symbol(","):
		default:
			return m, false
		}
	}
	return m, true
}

func parseCommit(c *cursor) (struct{}, bool) {
	ok := c.word("commit") || c.word("end")
	c.word("transaction")
	return struct{}{}, ok
}

func parseRollback(c *cursor) (struct{}, bool) {
	ok := c.word("rollback") || c.word("abort")
	c.word("transaction")
	return struct{}{}, ok
}

// begin opens a block on a copy of the member's catalog.
func begin(x *call) (result, error) {
	if x.s.tx == nil {
		x.s.tx = &transaction{cat: x.m.cat.clone(), readOnly: x.args.(txMode).readOnly}
	}
	return command("BEGIN"), nil
}

// commit puts the block's catalog in place, or, if the block failed,
// rolls back (and says so in the tag, as PostgreSQL does).
func commit(x *call) (result, error) {
	tx := x.s.tx
	x.s.tx = nil
	if tx != nil && tx.failed {
		return command("ROLLBACK"), nil
	}
	if tx != nil && !tx.readOnly {
		x.m.cat = tx.cat
		x.m.commits++
	}
	return command("COMMIT"), nil
}

func rollback(x *call) (result, error) {
	x.s.tx = nil
	return command("ROLLBACK"), nil
}

// scriptStatement answers a statement of a user's script (RunScript, in
// its transaction block) that no entry of queries knows: CREATE TABLE,
// INSERT and the like succeed without effect. The simulator keeps no
// tables, and the operator reads nothing back from a script but its
// success. Statements of scripts that an entry knows (CREATE ROLE,
// GRANT, CREATE EXTENSION) take effect. Outside a transaction block, and
// for SELECT, nothing of this applies: those stay unknown.
var scriptStatement = entry{match: parsed(parseScriptStatement), write: true, run: scriptCommand}

// scriptVerbs are the statements a script may hold, with their tags.
var scriptVerbs = map[string]string{
	"create": "", "alter": "", "drop": "", "comment": "COMMENT", "grant": "GRANT", "revoke": "REVOKE",
	"insert": "INSERT 0 0", "update": "UPDATE 0", "delete": "DELETE 0", "truncate": "TRUNCATE TABLE",
	"do": "DO", "set": "SET",
}

func parseScriptStatement(c *cursor) (string, bool) {
	verb := c.peek()
	tag, ok := scriptVerbs[verb.text]
	if verb.kind != tokWord || !ok {
		return "", false
	}
	if tag == "" {
		tag = ddlTag(c)
	}
	c.i = len(c.toks)
	return tag, true
}

// ddlTag is CREATE/ALTER/DROP and the object type: "CREATE TABLE",
// "CREATE INDEX" (for CREATE UNIQUE INDEX), "CREATE FUNCTION" (for
// CREATE OR REPLACE FUNCTION).
func ddlTag(c *cursor) string {
	words := []string{}
	for _, t := range c.toks {
		if t.kind != tokWord {
			break
		}
		words = append(words, t.text)
	}
	tag := []string{strings.ToUpper(words[0])}
	for _, w := range words[1:] {
		switch w {
		case "or", "replace", "unique", "temporary", "temp", "unlogged", "if", "not", "exists":
			continue
		}
		tag = append(tag, strings.ToUpper(w))
		break
	}
	return strings.Join(tag, " ")
}

func scriptCommand(x *call) (result, error) { return command(x.args.(string)), nil }
