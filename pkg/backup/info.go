package backup

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
)

// stanzaInfo is one stanza of `pgbackrest info --output=json` (an array of
// stanzas), the parts the operator reads. The engine documents this format
// as stable.
type stanzaInfo struct {
	Name    string        `json:"name"`
	Backup  []backupInfo  `json:"backup"`
	Archive []archiveInfo `json:"archive"`
}

// backupInfo is one backup set in the repository.
type backupInfo struct {
	Label     string `json:"label"`
	Type      string `json:"type"`
	Timestamp struct {
		Start int64 `json:"start"` // unix seconds
		Stop  int64 `json:"stop"`
	} `json:"timestamp"`
	LSN struct {
		Start string `json:"start"`
		Stop  string `json:"stop"`
	} `json:"lsn"`
	Archive struct {
		Start string `json:"start"` // WAL file names
		Stop  string `json:"stop"`
	} `json:"archive"`
	Info struct {
		Size       int64 `json:"size"` // the database's size
		Repository struct {
			Size  int64 `json:"size"`  // the set, with what it references
			Delta int64 `json:"delta"` // what this backup added to the store
		} `json:"repository"`
	} `json:"info"`
}

// archiveInfo is the WAL range the repository holds for one database.
type archiveInfo struct {
	ID  string `json:"id"`
	Min string `json:"min"`
	Max string `json:"max"`
}

// report is what a successful Job printed last (backup.sh).
type report struct {
	Label   string
	Warning string
	Stanza  stanzaInfo
}

// backup returns the set the report is about.
func (r *report) backup() (backupInfo, bool) {
	for _, b := range r.Stanza.Backup {
		if b.Label == r.Label {
			return b, true
		}
	}
	return backupInfo{}, false
}

// has reports whether the repository still holds the backup labelled label.
func (r *report) has(label string) bool {
	for _, b := range r.Stanza.Backup {
		if b.Label == label {
			return true
		}
	}
	return false
}

// expired reports a completed backup this report shows the store no longer
// holds: one that ended before the report's backup began and that the
// engine no longer lists.
func (r *report) expired(st v1alpha1.PostgresBackupStatus) bool {
	own, _ := r.backup()
	return st.Phase == v1alpha1.BackupCompleted && st.Label != "" && !r.has(st.Label) &&
		st.StopTime != nil && st.StopTime.Unix() <= own.Timestamp.Start
}

var errNoResult = errors.New("no BACKUP-RESULT line in the Job's log")

// parseReport reads the last BACKUP-RESULT line of a Job's log and the
// warning before it, if any.
func parseReport(log string) (*report, error) {
	r := &report{}
	var result string
	for line := range strings.Lines(log) {
		line = strings.TrimRight(line, "\r\n")
		switch {
		case strings.HasPrefix(line, resultPrefix):
			result = strings.TrimPrefix(line, resultPrefix)
		case strings.HasPrefix(line, warningPrefix):
			r.Warning = strings.TrimPrefix(line, warningPrefix)
		}
	}
	if result == "" {
		return nil, errNoResult
	}
	label, body, _ := strings.Cut(result, " ")
	var stanzas []stanzaInfo
	if err := json.Unmarshal([]byte(body), &stanzas); err != nil {
		return nil, fmt.Errorf("reading the engine's info: %w", err)
	}
	if len(stanzas) != 1 {
		return nil, fmt.Errorf("the engine's info lists %d stanzas, want 1", len(stanzas))
	}
	r.Label, r.Stanza = label, stanzas[0]
	if _, ok := r.backup(); !ok {
		return nil, fmt.Errorf("the engine's info does not list backup %q", label)
	}
	return r, nil
}
