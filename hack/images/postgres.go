package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

const pgBackRest = "/usr/bin/pgbackrest"

// postgresImage lays out the host's Debian PostgreSQL in the shape of the
// official postgres image: server binaries on PATH, user postgres 999:999,
// PGDATA=/var/lib/postgresql/data, a POSIX shell, C.UTF-8 and time zones,
// plus pgBackRest.
// There is deliberately no entrypoint script: the operator must not rely on one.
func postgresImage(out, tag, major string) error {
	pgLib := "/usr/lib/postgresql/" + major
	pgShare := "/usr/share/postgresql/" + major
	for _, d := range []string{pgLib + "/bin", pgShare} {
		if _, err := os.Stat(d); err != nil {
			return fmt.Errorf("PostgreSQL %s is not installed here (%w): apt-get install postgresql-%s", major, err, major)
		}
	}
	busybox, err := exec.LookPath("busybox")
	if err != nil {
		return fmt.Errorf("busybox-static is needed for the image's shell: %w", err)
	}
	version, err := pgVersion(pgLib + "/bin/postgres")
	if err != nil {
		return err
	}

	rfs := newRootfs()
	usrMerged(rfs)
	// JIT would drag in libLLVM (~100 MB); postgres runs fine without its provider.
	noJIT := func(p string) bool {
		b := filepath.Base(p)
		return strings.HasPrefix(b, "llvmjit") || b == "bitcode"
	}
	if err := rfs.tree(pgLib, pgLib, noJIT); err != nil {
		return err
	}
	if err := rfs.tree(pgShare, pgShare, nil); err != nil {
		return err
	}
	// Debian builds PostgreSQL against the system time zone database.
	if err := rfs.tree("/usr/share/zoneinfo", "/usr/share/zoneinfo", nil); err != nil {
		return err
	}
	rfs.symlink("/etc/localtime", "/usr/share/zoneinfo/Etc/UTC")
	// glibc's C.UTF-8 lives in files, not in libc; initdb --locale=C.UTF-8 needs them.
	if err := rfs.tree("/usr/lib/locale/C.utf8", "/usr/lib/locale/C.utf8", nil); err != nil {
		return err
	}
	// initdb runs `locale -a` to import the system collations (C.utf8 here).
	if err := rfs.file("/usr/bin/locale", "/usr/bin/locale"); err != nil {
		return err
	}
	// pgBackRest for backups to S3. It is configured per run (PGBACKREST_*
	// variables), so the image has no /etc/pgbackrest. A store with a
	// public certificate (AWS S3) is checked against Debian's CA bundle,
	// where OpenSSL looks by default; a private CA comes from the spec.
	if err := rfs.file(pgBackRest, pgBackRest); err != nil {
		return fmt.Errorf("pgBackRest is not installed here (%w): apt-get install pgbackrest", err)
	}
	if err := rfs.file("/etc/ssl/certs/ca-certificates.crt", "/etc/ssl/certs/ca-certificates.crt"); err != nil {
		return fmt.Errorf("the CA bundle is missing (%w): apt-get install ca-certificates", err)
	}
	rfs.symlink("/usr/lib/ssl/cert.pem", "/etc/ssl/certs/ca-certificates.crt")
	if err := sharedLibs(rfs, pgLib, "/usr/bin/locale", pgBackRest); err != nil {
		return err
	}
	if err := busyboxApplets(rfs, busybox); err != nil {
		return err
	}

	rfs.bytes("/etc/passwd", []byte("root:x:0:0:root:/root:/bin/sh\n"+
		"postgres:x:999:999:PostgreSQL administrator:/var/lib/postgresql:/bin/sh\n"+
		"nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"), 0o644)
	rfs.bytes("/etc/group", []byte("root:x:0:\npostgres:x:999:\nnogroup:x:65534:\n"), 0o644)
	rfs.bytes("/etc/nsswitch.conf", []byte("passwd: files\ngroup: files\nhosts: files dns\n"), 0o644)
	rfs.dir("/root", 0o700, 0, 0)
	rfs.dir("/tmp", 0o1777, 0, 0)
	// Same owners and modes as the official image.
	rfs.dir("/var/lib/postgresql", 0o755, 999, 999)
	rfs.dir("/var/lib/postgresql/data", 0o1777, 999, 999)
	rfs.dir("/var/run/postgresql", 0o3777, 999, 999)

	path := "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:" + pgLib + "/bin"
	return writeArchive(out, tag, rfs, v1.Config{
		Env: []string{
			"PATH=" + path,
			"PG_MAJOR=" + major,
			"PG_VERSION=" + version,
			"PGDATA=/var/lib/postgresql/data",
			"LANG=C.UTF-8",
		},
		Cmd:          []string{"postgres"},
		User:         "999:999",
		WorkingDir:   "/",
		StopSignal:   "SIGINT", // fast shutdown; SIGTERM would wait for clients to leave
		ExposedPorts: map[string]struct{}{"5432/tcp": {}},
	})
}

// usrMerged mirrors Debian's merged /usr: /bin, /sbin, /lib, /lib64 are links.
func usrMerged(rfs *rootfs) {
	for _, d := range []string{"bin", "sbin", "lib", "lib64"} {
		rfs.dir("/usr/"+d, 0o755, 0, 0)
		rfs.symlink("/"+d, "usr/"+d)
	}
}

// usrPath maps a host path to where it lives in the merged-/usr image.
func usrPath(p string) string {
	for _, d := range []string{"/bin/", "/sbin/", "/lib/", "/lib64/"} {
		if strings.HasPrefix(p, d) {
			return "/usr" + p
		}
	}
	return p
}

// sharedLibs adds every shared library the ELF files under roots load (per
// ldd), under the name the loader asks for, plus the loader itself.
func sharedLibs(rfs *rootfs, roots ...string) error {
	libs := map[string]bool{}
	for _, root := range roots {
		if err := filepath.WalkDir(root, lddInto(libs)); err != nil {
			return err
		}
	}
	names := make([]string, 0, len(libs))
	for l := range libs {
		names = append(names, l)
	}
	sort.Strings(names)
	for _, l := range names {
		if err := rfs.file(usrPath(l), l); err != nil {
			return err
		}
	}
	return nil
}

func lddInto(libs map[string]bool) fs.WalkDirFunc {
	return func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Type()&fs.ModeSymlink != 0 || !isELF(p) {
			return err
		}
		if strings.HasPrefix(filepath.Base(p), "llvmjit") {
			return nil
		}
		o, err := exec.Command("ldd", p).Output()
		if err != nil {
			return fmt.Errorf("ldd %s: %w", p, err)
		}
		sc := bufio.NewScanner(bytes.NewReader(o))
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			switch {
			case len(f) >= 3 && f[1] == "=>" && strings.HasPrefix(f[2], "/"):
				libs[f[2]] = true
			case len(f) >= 1 && strings.HasPrefix(f[0], "/"): // the loader
				libs[f[0]] = true
			case len(f) >= 3 && f[2] == "not":
				return fmt.Errorf("%s: %s not found", p, f[0])
			}
		}
		return nil
	}
}

func isELF(p string) bool {
	f, err := os.Open(p)
	if err != nil {
		return false
	}
	defer f.Close()
	b := make([]byte, 4)
	n, _ := f.Read(b)
	return n == 4 && string(b) == "\x7fELF"
}

// busyboxApplets installs busybox as /usr/bin/busybox and links all its
// applets (sh, ls, cat, ...) next to it.
func busyboxApplets(rfs *rootfs, busybox string) error {
	if err := rfs.file("/usr/bin/busybox", busybox); err != nil {
		return err
	}
	o, err := exec.Command(busybox, "--list-full").Output()
	if err != nil {
		return fmt.Errorf("busybox --list-full: %w", err)
	}
	for _, a := range strings.Fields(string(o)) {
		if !strings.Contains(a, "/") {
			continue // linuxrc: init glue, not a tool
		}
		p := usrPath("/" + a)
		if _, taken := rfs.entries[clean(p)]; !taken {
			rfs.symlink(p, "/usr/bin/busybox")
		}
	}
	return nil
}

// pgVersion reads "15.18" from `postgres --version`.
func pgVersion(postgres string) (string, error) {
	o, err := exec.Command(postgres, "--version").Output()
	if err != nil {
		return "", fmt.Errorf("%s --version: %w", postgres, err)
	}
	f := strings.Fields(string(o))
	if len(f) < 3 {
		return "", fmt.Errorf("unexpected %q", o)
	}
	return f[2], nil
}
