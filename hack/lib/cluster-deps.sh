# shellcheck shell=bash
# Host packages the cluster needs, from Debian's own archive.
# etcd is not among them: we build it (hack/cluster), and Debian's etcd-server
# would start a system etcd on :2379 wherever systemd runs.

DEB_PACKAGES=(
	containerd runc containernetworking-plugins # container runtime + CNI bridge/host-local
	iptables conntrack                          # kube-proxy and the network guard
	iproute2 kmod                               # ip, ss, modprobe
	openssl curl ca-certificates                # PKI and health probes
	busybox-static                              # /bin/sh of the postgres image
	postgresql-15 postgresql-client-15          # the postgres image is made of these files; psql on the host
	pgbackrest                                  # backups to S3: copied into the postgres image, and the host's client
)

deps_missing() {
	local installed
	# dpkg-query exits 1 when any package is unknown, which is exactly the
	# case this function is for: its status must not end the script.
	installed=$(dpkg-query -W -f='${Package} ${Status}\n' "${DEB_PACKAGES[@]}" 2>/dev/null || true)
	installed=$(awk '/install ok installed/ {print $1}' <<<"$installed")
	local p
	for p in "${DEB_PACKAGES[@]}"; do
		grep -qx "$p" <<<"$installed" || echo "$p"
	done
}

deps_ensure() {
	local missing
	mapfile -t missing < <(deps_missing)
	[ ${#missing[@]} -eq 0 ] && return 0
	command -v apt-get >/dev/null || die "missing packages (${missing[*]}) and no apt-get: install them by hand"
	say "installing ${missing[*]}"
	# Keep the packaged services (a system containerd, a postgres cluster) from
	# starting, where an init system would start them; ours run on their own sockets.
	local policy=/usr/sbin/policy-rc.d added=
	if [ ! -e $policy ]; then
		printf '#!/bin/sh\nexit 101\n' >$policy && chmod 755 $policy && added=1
	fi
	local rc=0
	{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"; } \
		>"$LC_LOG/apt.log" 2>&1 || rc=$?
	[ -n "$added" ] && rm -f $policy
	[ $rc -eq 0 ] || die "apt-get failed, see $LC_LOG/apt.log"
	say "packages installed"
}

deps_check_go() {
	command -v go >/dev/null || die "Go is needed to build the cluster binaries (see go.mod of hack/cluster)"
}
