package backup

import (
	"fmt"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
)

// maxMessage bounds a status message; a termination message can hold 4 KiB.
const maxMessage = 1024

// terminal reports a backup the controller has nothing more to do for.
func terminal(p v1alpha1.BackupPhase) bool {
	return p == v1alpha1.BackupCompleted || p == v1alpha1.BackupFailed || p == v1alpha1.BackupExpired
}

// completedStatus is a backup's status from the engine's record of it.
func completedStatus(st v1alpha1.PostgresBackupStatus, r *report) v1alpha1.PostgresBackupStatus {
	b, _ := r.backup()
	st.Phase = v1alpha1.BackupCompleted
	st.Message = oneLine(r.Warning)
	st.Label = b.Label
	st.StartTime = unixTime(b.Timestamp.Start)
	st.StopTime = unixTime(b.Timestamp.Stop)
	st.DatabaseBytes = b.Info.Size
	st.Size = humanBytes(b.Info.Size)
	// What the backup adds to the store; for a full backup, all of it.
	st.RepositoryBytes = b.Info.Repository.Delta
	st.BeginLSN, st.EndLSN = b.LSN.Start, b.LSN.Stop
	st.BeginWAL, st.EndWAL = b.Archive.Start, b.Archive.Stop
	return st
}

func unixTime(s int64) *metav1.Time {
	if s <= 0 {
		return nil
	}
	t := metav1.NewTime(time.Unix(s, 0).UTC())
	return &t
}

// humanBytes writes n in binary units, as `kubectl get` users read sizes:
// "512 B", "29.6 MiB", "1.2 GiB".
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 4; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTP"[exp])
}

// oneLine makes a message fit a status: one line, spaces collapsed, at most
// maxMessage bytes (cut on a character boundary).
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= maxMessage {
		return s
	}
	cut := maxMessage - len("...")
	for cut > 0 && !utf8Start(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}

// utf8Start reports a byte that begins a UTF-8 character.
func utf8Start(b byte) bool { return b&0xC0 != 0x80 }
