package v1alpha1

import "github.com/robfig/cron/v3"

// scheduleParser reads spec.backup.schedule: five fields (minute hour
// day-of-month month day-of-week) or a descriptor such as @daily.
var scheduleParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// ParseBackupSchedule parses spec.backup.schedule; times are UTC.
func ParseBackupSchedule(s string) (cron.Schedule, error) {
	return scheduleParser.Parse(s)
}
