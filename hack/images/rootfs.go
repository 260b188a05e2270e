package main

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// rootfs is an image filesystem assembled in memory and written as one tar
// layer. Building the tar ourselves (instead of staging a directory) lets us
// set owners such as uid 999 without chown on the host, and fixed times make
// the layer, hence the image digest, reproducible.
type rootfs struct {
	entries map[string]*entry
}

type entry struct {
	hdr  tar.Header
	data []byte
	src  string // host file read when writing, so large trees are not held twice
}

func newRootfs() *rootfs { return &rootfs{entries: map[string]*entry{}} }

// clean turns "/a/b/" into "a/b", the form tar entries use.
func clean(p string) string { return strings.TrimPrefix(path.Clean("/"+p), "/") }

func (r *rootfs) put(p string, e *entry) {
	p = clean(p)
	e.hdr.Name = p
	e.hdr.ModTime = time.Unix(0, 0)
	e.hdr.Format = tar.FormatPAX
	if e.hdr.Typeflag == tar.TypeDir {
		e.hdr.Name += "/"
	}
	r.entries[p] = e
	r.parents(p)
}

// parents adds missing parent directories as root-owned 0755.
func (r *rootfs) parents(p string) {
	for d := path.Dir(p); d != "." && d != "/"; d = path.Dir(d) {
		if _, ok := r.entries[d]; ok {
			return
		}
		r.entries[d] = &entry{hdr: tar.Header{Name: d + "/", Typeflag: tar.TypeDir, Mode: 0o755, ModTime: time.Unix(0, 0), Format: tar.FormatPAX}}
	}
}

func (r *rootfs) dir(p string, mode int64, uid, gid int) {
	r.put(p, &entry{hdr: tar.Header{Typeflag: tar.TypeDir, Mode: mode, Uid: uid, Gid: gid}})
}

func (r *rootfs) bytes(p string, data []byte, mode int64) {
	r.put(p, &entry{hdr: tar.Header{Typeflag: tar.TypeReg, Mode: mode, Size: int64(len(data))}, data: data})
}

func (r *rootfs) symlink(p, target string) {
	r.put(p, &entry{hdr: tar.Header{Typeflag: tar.TypeSymlink, Linkname: target, Mode: 0o777}})
}

// file copies host file src (following symlinks) to p, keeping its permissions.
func (r *rootfs) file(p, src string) error {
	st, err := os.Stat(src)
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("%s: not a regular file", src)
	}
	r.put(p, &entry{hdr: tar.Header{Typeflag: tar.TypeReg, Mode: int64(st.Mode().Perm()), Size: st.Size()}, src: src})
	return nil
}

// tree copies host directory src to p. Symlinks are kept as they are; skip
// reports host paths to leave out.
func (r *rootfs) tree(p, src string, skip func(string) bool) error {
	return filepath.WalkDir(src, func(h string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if skip != nil && skip(h) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		rel, _ := filepath.Rel(src, h)
		dst := path.Join(p, filepath.ToSlash(rel))
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			t, err := os.Readlink(h)
			if err != nil {
				return err
			}
			r.symlink(dst, t)
		case d.IsDir():
			st, err := d.Info()
			if err != nil {
				return err
			}
			r.dir(dst, int64(st.Mode().Perm()), 0, 0)
		default:
			return r.file(dst, h)
		}
		return nil
	})
}

// tar writes the layer; parents sort before their children.
func (r *rootfs) tar() ([]byte, error) {
	names := make([]string, 0, len(r.entries))
	for n := range r.entries {
		names = append(names, n)
	}
	sort.Strings(names)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, n := range names {
		e := r.entries[n]
		data := e.data
		if e.src != "" {
			b, err := os.ReadFile(e.src)
			if err != nil {
				return nil, err
			}
			data = b
			e.hdr.Size = int64(len(b))
		}
		if err := tw.WriteHeader(&e.hdr); err != nil {
			return nil, fmt.Errorf("%s: %w", n, err)
		}
		if _, err := tw.Write(data); err != nil {
			return nil, fmt.Errorf("%s: %w", n, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
