package pgsim

// autoConf: postgresql.auto.conf as ALTER SYSTEM left it.
func autoConf(x *call) (result, error) {
	var res result
	for _, name := range sortedKeys(x.m.autoConf) {
		res.rows = append(res.rows, []any{name, x.m.autoConf[name]})
	}
	return res, nil
}

// alterSystemArgs is ALTER SYSTEM SET name = 'value', or RESET name.
type alterSystemArgs struct {
	name, value string
	reset       bool
}

func parseAlterSystem(c *cursor) (alterSystemArgs, bool) {
	var a alterSystemArgs
	if !c.word("alter", "system") {
		return a, false
	}
	switch {
	case c.word("reset"):
		a.reset = true
		name, ok := settingName(c)
		a.name = name
		return a, ok
	case c.word("set"):
		name, ok := settingName(c)
		if !ok || !(c.symbol("=") || c.word("to")) {
			return a, false
		}
		a.name = name
		a.value, ok = settingValue(c)
		return a, ok
	}
	return a, false
}

// settingName reads a parameter name, custom ones ("a.b") included.
func settingName(c *cursor) (string, bool) {
	name, ok := c.name()
	for ok && c.symbol(".") {
		var part string
		part, ok = c.name()
		name += "." + part
	}
	return name, ok
}

// settingValue reads a literal, a number or a bare word; the operator
// always sends a quoted literal.
func settingValue(c *cursor) (string, bool) {
	t := c.peek()
	switch t.kind {
	case tokString, tokNumber, tokWord:
		c.i++
		return t.text, true
	}
	return "", false
}

// alterSystem writes postgresql.auto.conf. Every name and value is
// accepted: the simulator knows no GUCs, so nothing is ever rejected and
// nothing needs a restart.
func alterSystem(x *call) (result, error) {
	a := x.args.(alterSystemArgs)
	if a.reset {
		delete(x.m.autoConf, a.name)
	} else {
		x.m.autoConf[a.name] = a.value
	}
	x.m.wal += walPerWrite
	return command("ALTER SYSTEM"), nil
}
