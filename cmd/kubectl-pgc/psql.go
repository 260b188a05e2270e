package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"postgres-operator.dev/postgres-operator/pkg/cluster"
)

// The members listen on 5432 under the port name "postgres" (pod.go,
// service.go); the port is read from the objects by that name.
const (
	postgresPortName = "postgres"
	defaultPort      = 5432
	superuser        = "postgres"
	superuserDB      = "postgres"
	// sslMode: the members accept TLS only, and psql checks the server's
	// certificate against the cluster's CA and the Service's name.
	sslMode = "verify-full"
)

func newPsqlCmd(a *app) *cobra.Command {
	var rw, ro bool
	cmd := &cobra.Command{
		Use:   "psql CLUSTER [MEMBER|-rw|-ro] [-- PSQL-ARGS...]",
		Short: "Run the local psql as postgres against a member, the primary (-rw, the default) or the replicas (-ro)",
		Long: "psql connects from this machine to the member pod's IP or the Service's cluster IP, so it needs a\n" +
			"route to them (as on a node of the cluster). The superuser password comes from the <cluster>-superuser\n" +
			"Secret through a temporary passfile (mode 0600, removed when psql exits): never on a command line\n" +
			"nor in an environment variable.",
		Example: "  kubectl pgc psql demo\n  kubectl pgc psql demo -ro -- -c 'select pg_is_in_recovery()'\n  kubectl pgc psql demo demo-2",
		Args: func(cmd *cobra.Command, args []string) error {
			if ours, _ := splitDash(cmd, args); len(ours) < 1 || len(ours) > 2 {
				return fmt.Errorf("want CLUSTER and at most one MEMBER before --, got %q", ours)
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			ours, theirs := splitDash(cmd, args)
			member := ""
			if len(ours) == 2 {
				member = ours[1]
			}
			return a.psql(cmd.Context(), ours[0], psqlChoice{member: member, rw: rw, ro: ro}, theirs)
		},
	}
	cmd.Flags().BoolVar(&rw, "rw", false, "connect through the <cluster>-rw Service (the primary; the default); -rw works too")
	cmd.Flags().BoolVar(&ro, "ro", false, "connect through the <cluster>-ro Service (the replicas); -ro works too")
	return cmd
}

// splitDash separates our arguments from psql's, which follow "--".
func splitDash(cmd *cobra.Command, args []string) (ours, theirs []string) {
	if i := cmd.ArgsLenAtDash(); i >= 0 {
		return args[:i], args[i:]
	}
	return args, nil
}

// psqlChoice is where psql should connect: one member, or a Service.
type psqlChoice struct {
	member string
	rw, ro bool
}

// endpoint is a resolved host and port, the name its certificate is
// checked against, and what it is, for messages.
type endpoint struct {
	host string
	port int32
	name string
	what string
}

func (a *app) psql(ctx context.Context, name string, choice psqlChoice, psqlArgs []string) error {
	path, err := a.lookPath("psql")
	if err != nil {
		return fmt.Errorf("psql is not on PATH: install the PostgreSQL client (for example apt-get install postgresql-client): %w", err)
	}
	if _, err := a.cluster(ctx, name); err != nil {
		return err
	}
	ep, err := a.resolve(ctx, name, choice)
	if err != nil {
		return err
	}
	password, err := a.superuserPassword(ctx, name)
	if err != nil {
		return err
	}
	passfile, cleanup, err := writePassfile(ep, password)
	if err != nil {
		return err
	}
	defer cleanup()
	certs, cleanupCerts, err := a.writeClientCerts(ctx, name)
	if err != nil {
		return err
	}
	defer cleanupCerts()
	fmt.Fprintf(a.streams.ErrOut, "connecting to %s (%s:%d) as %s over TLS\n", ep.what, ep.host, ep.port, superuser)
	cmd := psqlCommand(path, ep, passfile, certs, psqlArgs, os.Environ())
	cmd.Stdin, cmd.Stdout, cmd.Stderr = a.streams.In, a.streams.Out, a.streams.ErrOut
	return a.run(cmd)
}

// resolve finds the address of the member or Service asked for.
func (a *app) resolve(ctx context.Context, name string, c psqlChoice) (endpoint, error) {
	switch {
	case c.rw && c.ro, c.member != "" && (c.rw || c.ro):
		return endpoint{}, errors.New("give one of MEMBER, -rw and -ro")
	case c.member != "":
		return a.memberEndpoint(ctx, name, c.member)
	case c.ro:
		return a.serviceEndpoint(ctx, cluster.ROServiceName(name))
	}
	return a.serviceEndpoint(ctx, cluster.RWServiceName(name))
}

// serviceName is a Service's name in the members' certificate; a member
// is checked against the -rw Service's, which every member's carries.
func (a *app) serviceName(service string) string { return service + "." + a.ns + ".svc" }

func (a *app) memberEndpoint(ctx context.Context, name, member string) (endpoint, error) {
	pod, err := a.kube.CoreV1().Pods(a.ns).Get(ctx, member, metav1.GetOptions{})
	if err != nil {
		return endpoint{}, fmt.Errorf("member %s: %w", member, err)
	}
	if pod.Labels[cluster.ClusterLabel] != name {
		return endpoint{}, fmt.Errorf("pod %s is not a member of %s", member, name)
	}
	if pod.Status.PodIP == "" {
		return endpoint{}, fmt.Errorf("member %s has no IP yet (phase %s)", member, pod.Status.Phase)
	}
	port := int32(defaultPort)
	for _, c := range pod.Spec.Containers {
		for _, p := range c.Ports {
			if p.Name == postgresPortName {
				port = p.ContainerPort
			}
		}
	}
	return endpoint{host: pod.Status.PodIP, port: port, name: a.serviceName(cluster.RWServiceName(name)), what: "member " + member}, nil
}

func (a *app) serviceEndpoint(ctx context.Context, name string) (endpoint, error) {
	svc, err := a.kube.CoreV1().Services(a.ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return endpoint{}, fmt.Errorf("service %s: %w", name, err)
	}
	if ip := svc.Spec.ClusterIP; ip == "" || ip == corev1.ClusterIPNone {
		return endpoint{}, fmt.Errorf("service %s has no cluster IP", name)
	}
	port := int32(defaultPort)
	for _, p := range svc.Spec.Ports {
		if p.Name == postgresPortName {
			port = p.Port
		}
	}
	return endpoint{host: svc.Spec.ClusterIP, port: port, name: a.serviceName(name), what: "service " + name}, nil
}

// superuserPassword reads the postgres role's password from the Secret
// users manage (README: Passwords and rotation).
func (a *app) superuserPassword(ctx context.Context, name string) (string, error) {
	secret := cluster.SuperuserSecretName(name)
	s, err := a.kube.CoreV1().Secrets(a.ns).Get(ctx, secret, metav1.GetOptions{})
	if err != nil {
		return "", fmt.Errorf("reading the superuser password: %w", err)
	}
	pw := string(s.Data["password"])
	if pw == "" {
		return "", fmt.Errorf("secret %s has no password key", secret)
	}
	return pw, nil
}

// psqlCommand builds psql's command line and environment. The password is
// in neither: only the passfile's path is. Inherited PGPASSWORD and TLS
// settings are dropped since libpq would prefer them. -h is the name the
// certificate is checked against; PGHOSTADDR the address to reach.
func psqlCommand(path string, ep endpoint, passfile, certs string, psqlArgs, environ []string) *exec.Cmd {
	args := []string{"-h", ep.name, "-p", fmt.Sprint(ep.port), "-U", superuser, "-d", superuserDB}
	cmd := exec.Command(path, append(args, psqlArgs...)...)
	for _, kv := range environ {
		key, _, _ := strings.Cut(kv, "=")
		switch key {
		case "PGPASSWORD", "PGPASSFILE", "PGSSLMODE", "PGHOSTADDR", "PGSSLROOTCERT", "PGSSLCERT", "PGSSLKEY":
			continue
		}
		cmd.Env = append(cmd.Env, kv)
	}
	cmd.Env = append(cmd.Env, "PGPASSFILE="+passfile, "PGSSLMODE="+sslMode, "PGHOSTADDR="+ep.host,
		"PGSSLROOTCERT="+filepath.Join(certs, "ca.crt"), "PGSSLCERT="+filepath.Join(certs, "tls.crt"),
		"PGSSLKEY="+filepath.Join(certs, "tls.key"))
	return cmd
}
