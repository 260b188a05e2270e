package backup

// Unexported names that labels_test.go (package backup_test) checks
// against pkg/cluster.
var (
	MemberLabelForTest = memberLabel
	RoleLabelForTest   = roleLabel
	RolePrimaryForTest = rolePrimary
)
