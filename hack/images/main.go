// Command images builds the local cluster's container images as docker
// archives, without a registry or a Docker engine:
//
//	images postgres    --out FILE [--tag localhost/postgres:15] [--major 15]
//	images pack-binary --binary FILE --tag NAME:TAG --out FILE [--uid 65532] [--entrypoint /name]
//
// Relative paths are relative to the working directory, which `go -C hack/images
// run .` sets to hack/images: pass absolute paths there. Import the archives
// with `hack/local-cluster.sh load-image FILE...`.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	fl := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	out := fl.String("out", "", "docker archive to write")
	var err error
	switch os.Args[1] {
	case "postgres":
		tag := fl.String("tag", "localhost/postgres:15", "image name:tag")
		major := fl.String("major", "15", "PostgreSQL major version installed on this host")
		parse(fl, out)
		if err = mustBeStatic(busyboxPath()); err == nil {
			err = postgresImage(*out, *tag, *major)
		}
	case "pack-binary":
		bin := fl.String("binary", "", "static executable to pack")
		tag := fl.String("tag", "", "image name:tag, e.g. localhost/postgres-operator:dev")
		uid := fl.Int("uid", 65532, "user and group id the image runs as")
		ep := fl.String("entrypoint", "", "path of the binary in the image (default /<basename>)")
		parse(fl, out)
		if *bin == "" || *tag == "" {
			fl.Usage()
			os.Exit(2)
		}
		err = binaryImage(*out, *tag, *bin, *uid, *ep)
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "images:", err)
		os.Exit(1)
	}
	abs, _ := filepath.Abs(*out)
	fmt.Println("wrote", abs)
}

func parse(fl *flag.FlagSet, out *string) {
	_ = fl.Parse(os.Args[2:])
	if *out == "" {
		fmt.Fprintln(os.Stderr, "images: --out is required")
		os.Exit(2)
	}
}

func busyboxPath() string {
	for _, p := range []string{"/bin/busybox", "/usr/bin/busybox"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return "busybox"
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: images postgres --out FILE [--tag T] [--major N]\n"+
		"       images pack-binary --binary FILE --tag T --out FILE [--uid N] [--entrypoint P]")
	os.Exit(2)
}
