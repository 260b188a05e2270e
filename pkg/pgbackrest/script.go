package pgbackrest

import _ "embed"

// KeysScript defines pgbr_keys for the shell scripts that run the engine;
// they include it in their text (see keys.sh).
//
//go:embed keys.sh
var KeysScript string
