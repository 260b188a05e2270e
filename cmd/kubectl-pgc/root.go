package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
	"postgres-operator.dev/postgres-operator/pkg/client/clientset/versioned"
)

// app is what every command shares: kubectl's connection flags, the
// streams, and the clients built from them. Tests fill kube, pg and ns
// with fakes and replace the hooks; the commands never notice.
type app struct {
	config  *genericclioptions.ConfigFlags
	streams genericiooptions.IOStreams

	kube kubernetes.Interface
	pg   versioned.Interface
	ns   string

	lookupEnv func(string) (string, bool)  // NO_COLOR
	now       func() time.Time             // ages, restart stamps
	lookPath  func(string) (string, error) // psql
	run       func(*exec.Cmd) error        // psql
	isTTY     func(io.Writer) bool         // colour
	poll      time.Duration                // switchover and restart --wait
}

func newApp() *app {
	return &app{
		config:    genericclioptions.NewConfigFlags(true),
		streams:   genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr},
		lookupEnv: os.LookupEnv,
		now:       time.Now,
		lookPath:  exec.LookPath,
		run:       runForeground,
		isTTY:     isTerminal,
		poll:      500 * time.Millisecond,
	}
}

func newRootCmd(a *app) *cobra.Command {
	root := &cobra.Command{
		Use:   "kubectl-pgc",
		Short: "See and operate PostgresClusters",
		Long: "kubectl pgc shows and operates the PostgresClusters of postgres-operator.\n" +
			"--namespace, --context and --kubeconfig work as in kubectl.",
		Version:           version,
		Annotations:       map[string]string{cobra.CommandDisplayNameAnnotation: "kubectl pgc"},
		SilenceUsage:      true,
		SilenceErrors:     true,
		CompletionOptions: cobra.CompletionOptions{DisableDefaultCmd: true},
	}
	a.config.AddFlags(root.PersistentFlags())
	root.SetIn(a.streams.In)
	root.SetOut(a.streams.Out)
	root.SetErr(a.streams.ErrOut)
	root.AddCommand(newStatusCmd(a), newSwitchoverCmd(a), newRestartCmd(a), newPsqlCmd(a),
		newLogsCmd(a), newPauseCmd(a, true), newPauseCmd(a, false))
	return root
}

// connect builds the clients from kubectl's flags, once. It runs inside
// each command rather than in a PersistentPreRun so that `help` works
// without a kubeconfig.
func (a *app) connect() error {
	if a.ns == "" {
		ns, _, err := a.config.ToRawKubeConfigLoader().Namespace()
		if err != nil {
			return fmt.Errorf("reading the namespace from the kubeconfig: %w", err)
		}
		a.ns = ns
	}
	if a.kube != nil && a.pg != nil {
		return nil
	}
	cfg, err := a.config.ToRESTConfig()
	if err != nil {
		return err
	}
	if a.kube, err = kubernetes.NewForConfig(cfg); err != nil {
		return err
	}
	a.pg, err = versioned.NewForConfig(cfg)
	return err
}

// cluster connects and fetches the named PostgresCluster.
func (a *app) cluster(ctx context.Context, name string) (*v1alpha1.PostgresCluster, error) {
	if err := a.connect(); err != nil {
		return nil, err
	}
	pgc, err := a.pg.PostgresV1alpha1().PostgresClusters(a.ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("PostgresCluster %s/%s: %w", a.ns, name, err)
	}
	return pgc, nil
}
