package main

import (
	"debug/elf"
	"fmt"
	"path"
	"path/filepath"
	"strconv"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// binaryImage packs one static binary as /<name>, its entrypoint, running as
// uid:uid (non-root by default). Nothing else is in the image but /etc/passwd,
// /etc/group and /tmp, like a distroless static base.
func binaryImage(out, tag, binary string, uid int, entrypoint string) error {
	if err := mustBeStatic(binary); err != nil {
		return err
	}
	if entrypoint == "" {
		entrypoint = "/" + filepath.Base(binary)
	}
	rfs := newRootfs()
	if err := rfs.file(entrypoint, binary); err != nil {
		return err
	}
	rfs.entries[clean(entrypoint)].hdr.Mode = 0o755
	u := strconv.Itoa(uid)
	rfs.bytes("/etc/passwd", []byte("root:x:0:0:root:/root:/sbin/nologin\n"+
		"nonroot:x:"+u+":"+u+":nonroot:/home/nonroot:/sbin/nologin\n"), 0o644)
	rfs.bytes("/etc/group", []byte("root:x:0:\nnonroot:x:"+u+":\n"), 0o644)
	rfs.dir("/home/nonroot", 0o700, uid, uid)
	rfs.dir("/tmp", 0o1777, 0, 0)
	return writeArchive(out, tag, rfs, v1.Config{
		Entrypoint: []string{entrypoint},
		Env:        []string{"PATH=/"},
		User:       u + ":" + u,
		WorkingDir: path.Dir(entrypoint),
	})
}

// mustBeStatic rejects dynamically linked executables: the image has no libc.
func mustBeStatic(p string) error {
	f, err := elf.Open(p)
	if err != nil {
		return fmt.Errorf("%s: not an ELF executable: %w", p, err)
	}
	defer f.Close()
	for _, prog := range f.Progs {
		if prog.Type == elf.PT_INTERP {
			return fmt.Errorf("%s is dynamically linked; build it with CGO_ENABLED=0", p)
		}
	}
	return nil
}
