# Sourced by the scripts that run pgBackRest (member.sh, the backup Job):
# pgbr_keys DIR exports a store's access keys from the mounted Secret files
# in DIR, just before the engine runs, so that they are on no command line
# and a rotated key is read by the next run. A CA bundle in DIR is used
# instead of the system's CAs.
pgbr_keys() {
	PGBACKREST_REPO1_S3_KEY=$(cat "$1/ACCESS_KEY_ID") &&
		PGBACKREST_REPO1_S3_KEY_SECRET=$(cat "$1/ACCESS_SECRET_KEY") || return 1
	export PGBACKREST_REPO1_S3_KEY PGBACKREST_REPO1_S3_KEY_SECRET
	if [ -s "$1/ca.crt" ]; then
		export PGBACKREST_REPO1_STORAGE_CA_FILE="$1/ca.crt"
	fi
}
